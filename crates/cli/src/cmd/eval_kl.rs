//! `vkv eval kl`: next-token KL divergence of KV modes from dense on real text, one shared
//! prefill per context (report.md + report.json).

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use vkv_engine::KvMode;
use vkv_eval::data;
use vkv_eval::kl::{divergence, KlRow, SavedPrefill};
use vkv_model::EncodeOptions;

use super::eval::{load, parse_length};
use crate::args::EvalKlArgs;
use crate::progress::{new_bar, Bar};

pub fn run(home: &Path, a: EvalKlArgs) -> anyhow::Result<()> {
    let modes = KvMode::parse_list(&a.kv)?;
    let contexts = a
        .context
        .iter()
        .map(|s| parse_length(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let text = data::resolve_text(&a.text, home, &Bar::counts())?;
    let (lm, sha) = load(home, &a.model)?;
    let tokens = lm.tokenizer.encode(
        &text.text,
        EncodeOptions {
            add_special: true,
            parse_special: false,
        },
    )?;
    let t0 = Instant::now();
    let mut rows: Vec<KlRow> = Vec::new();
    for &c in &contexts {
        let bar = new_bar(c as u64, &format!("prefill {c}"), false);
        // Saved prefills: <home>/contexts/kl-<model>-<text>-<context>-<capacity>.vkvctx.
        let saved = home.join("contexts").join(format!(
            "kl-{}-{}-{c}-{}.vkvctx",
            &sha[..sha.len().min(12)],
            &text.sha256[..text.sha256.len().min(12)],
            c + a.steps
        ));
        if saved.is_file() && !a.no_save {
            bar.suspend(|| eprintln!("loading the prefilled context {}", saved.display()));
        }
        let sp = SavedPrefill {
            path: (!a.no_save).then_some(saved.as_path()),
        };
        let r = divergence(
            &lm.transformer,
            &tokens,
            c,
            a.steps,
            &modes,
            sp,
            &mut |n| bar.inc(n as u64),
            &mut |r| {
                bar.suspend(|| eprintln!("{:>6} tok  {:<28} KL mean {:.4}  p95 {:.4}  top-1 {:.3}  NLL {:.3}  index {:.1}s  decode {:.1}s", r.context, r.kv, r.kl_mean, r.kl_p95, r.top1_agree, r.nll, r.index_secs, r.decode_secs))
            },
        );
        bar.finish_and_clear();
        rows.extend(r?);
    }
    let id = &data::sha256_hex(
        format!("{sha}{}{contexts:?}{}{}", text.sha256, a.steps, a.kv).as_bytes(),
    )[..10];
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| home.join("eval").join(format!("kl-{id}")));
    std::fs::create_dir_all(&dir)?;
    let mut md = format!(
        "## Next-token divergence from dense — {} on `{}` ({} teacher-forced steps after each context)\n\nModel sha256 `{sha}`; text sha256 `{}`. KL(dense ‖ mode) in nats per predicted token; top-1: argmax agreement with dense; NLL: mean −log p of the true next token. Run time {:.0}s.\n\n| context | KV mode | KL mean | KL p95 | KL max | top-1 agree | NLL | index build s | decode s |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
        lm.name, text.id, a.steps, text.sha256, t0.elapsed().as_secs_f64()
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.3} | {:.3} | {:.1} | {:.1} |\n",
            r.context,
            r.kv,
            r.kl_mean,
            r.kl_p95,
            r.kl_max,
            r.top1_agree,
            r.nll,
            r.index_secs,
            r.decode_secs
        ));
    }
    let j = json!({"model": lm.name, "model_sha256": sha, "text": text.id, "text_sha256": text.sha256, "steps": a.steps, "kv": a.kv, "rows": rows});
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&j)?)?;
    std::fs::write(dir.join("report.md"), &md)?;
    println!("{md}");
    eprintln!("report: {}", dir.display());
    Ok(())
}
