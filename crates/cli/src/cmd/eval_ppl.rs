//! `vkv eval ppl`: perplexity as llama-perplexity computes it (or sliding-window), one row per
//! KV mode, written as report.md + report.json + a PNG of the running PPL per chunk.

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use vkv_engine::KvMode;
use vkv_eval::ppl::{perplexity, PplSpec};
use vkv_eval::{data, plot, ppl_window};
use vkv_model::EncodeOptions;

use super::eval::load;
use crate::args::EvalPplArgs;
use crate::progress::{new_bar, Bar};

pub fn run(home: &Path, a: EvalPplArgs) -> anyhow::Result<()> {
    let modes = KvMode::parse_list(&a.kv)?;
    let text = data::resolve_text(&a.text, home, &Bar::counts())?;
    let (lm, sha) = load(home, &a.model)?;
    let model = &lm.transformer;
    // llama-perplexity's -f drops one trailing newline; tokenized once with add_special.
    let body = text.text.strip_suffix('\n').unwrap_or(&text.text);
    let t0 = Instant::now();
    let tokens = lm.tokenizer.encode(
        body,
        EncodeOptions {
            add_special: true,
            parse_special: false,
        },
    )?;
    eprintln!(
        "{}: {} tokens (tokenized in {:.1}s)",
        text.id,
        tokens.len(),
        t0.elapsed().as_secs_f64()
    );
    let bos = if lm.tokenizer.add_bos() {
        lm.tokenizer.bos()
    } else {
        None
    };
    let method = match a.stride {
        Some(s) => format!("sliding window: windows of {} tokens every {s} tokens, each scoring its last {s} predictions", a.context),
        None => format!("llama-perplexity: non-overlapping chunks of {} tokens, second half scored", a.context),
    };
    let mut rows = Vec::new();
    for m in &modes {
        let bar = new_bar(0, &format!("ppl {m}"), false);
        let t = Instant::now();
        let mut cb = |i: usize, n: usize, p: f64| {
            bar.set_length(n as u64);
            bar.set_position(i as u64);
            bar.set_message(format!("ppl {m}: {p:.4}"));
        };
        let r = match a.stride {
            Some(s) => ppl_window::perplexity_sliding(
                model,
                &tokens,
                m,
                ppl_window::SlidingSpec {
                    n_ctx: a.context,
                    stride: s,
                    n_windows: a.chunks,
                    batch: vkv_engine::PREFILL_CHUNK,
                },
                &mut cb,
            )?,
            None => perplexity(
                model,
                &tokens,
                bos,
                m,
                &PplSpec {
                    n_ctx: a.context,
                    n_chunks: a.chunks,
                    batch: vkv_engine::PREFILL_CHUNK,
                },
                &mut cb,
            )?,
        };
        bar.finish_and_clear();
        rows.push((r, t.elapsed().as_secs_f64()));
    }
    let prov = json!({"model": lm.name, "model_path": lm.source.path(), "model_sha256": sha, "text": text.id, "text_path": text.path, "text_sha256": text.sha256, "tokens": tokens.len()});
    let cfg = json!({"context": a.context, "chunks": a.chunks, "stride": a.stride, "kv": a.kv, "batch": vkv_engine::PREFILL_CHUNK, "threads": rayon::current_num_threads(), "method": method});
    let id = vkv_eval::data::sha256_hex(format!("{prov}{cfg}").as_bytes());
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| home.join("eval").join(format!("ppl-{}", &id[..10])));
    std::fs::create_dir_all(&dir)?;
    let mut md = format!(
        "## Perplexity — {} on `{}`\n\n{method}. Model sha256 `{sha}`, text sha256 `{}` ({} tokens).\n\n| KV mode | PPL | ± | chunks | tokens scored | seconds |{}\n|---|---:|---:|---:|---:|---:|{}\n",
        lm.name,
        text.id,
        text.sha256,
        tokens.len(),
        if a.reference.is_some() { " reference | Δ % |" } else { "" },
        if a.reference.is_some() { "---:|---:|" } else { "" }
    );
    for (r, secs) in &rows {
        md.push_str(&format!(
            "| {} | {:.4} | {:.4} | {} | {} | {secs:.0} |",
            r.kv, r.ppl, r.ppl_err, r.chunks, r.count
        ));
        if let Some(reference) = a.reference {
            md.push_str(&format!(
                " {reference:.4} | {:+.2} |",
                (r.ppl / reference - 1.0) * 100.0
            ));
        }
        md.push('\n');
    }
    let png = "ppl-running.png";
    let series: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .map(|(r, _)| {
            r.running
                .iter()
                .enumerate()
                .map(|(i, p)| ((i + 1) as f64, *p))
                .collect()
        })
        .collect();
    plot::lines(&dir.join(png), &series)?;
    let legend: Vec<String> = rows
        .iter()
        .zip(plot::SERIES_COLORS)
        .map(|((r, _), (c, _))| format!("{c} = {}", r.kv))
        .collect();
    md.push_str(&format!(
        "\nRunning PPL after each chunk: `{png}` (x: chunk, y: PPL; {}).\n",
        legend.join(", ")
    ));
    let j = json!({"provenance": prov, "config": cfg, "reference": a.reference, "results": rows.iter().map(|(r, s)| json!({"result": r, "seconds": s})).collect::<Vec<_>>()});
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&j)?)?;
    std::fs::write(dir.join("report.md"), &md)?;
    println!("{md}");
    eprintln!("report: {}", dir.display());
    Ok(())
}
