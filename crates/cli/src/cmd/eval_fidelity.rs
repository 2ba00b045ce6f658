//! `vkv eval fidelity`: record real activations once, replay them into each KV mode, compare
//! with exact attention per layer and head (report.md + report.json + a PNG per-layer error).

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use vkv_engine::KvMode;
use vkv_eval::fidelity::{compare, record, HeadStat};
use vkv_eval::{data, plot};
use vkv_model::EncodeOptions;

use super::eval::load;
use crate::args::EvalFidelityArgs;
use crate::progress::Bar;

pub fn run(home: &Path, a: EvalFidelityArgs) -> anyhow::Result<()> {
    let modes = KvMode::parse_list(&a.kv)?;
    let text = data::resolve_text(&a.text, home, &Bar::counts())?;
    let (lm, sha) = load(home, &a.model)?;
    let cfg = &lm.transformer.config;
    let layers = if a.layers.is_empty() {
        vec![0, cfg.n_layers / 2, cfg.n_layers - 1]
    } else {
        a.layers.clone()
    };
    let tokens = lm.tokenizer.encode(
        &text.text,
        EncodeOptions {
            add_special: true,
            parse_special: false,
        },
    )?;
    if tokens.len() < a.context {
        anyhow::bail!(
            "{} has {} tokens, fewer than --context {}",
            text.id,
            tokens.len(),
            a.context
        );
    }
    let t0 = Instant::now();
    eprintln!(
        "recording layers {layers:?}: {} prompt tokens + {} decode steps",
        a.context, a.steps
    );
    let rec = record(&lm.transformer, &tokens[..a.context], &layers, a.steps)?;
    eprintln!("recorded in {:.1}s", t0.elapsed().as_secs_f64());
    let mut stats: Vec<HeadStat> = Vec::new();
    for m in &modes {
        let t = Instant::now();
        stats.extend(compare(cfg, &rec, m, a.k)?);
        eprintln!(
            "{m}: replayed and compared in {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }
    let dir = a.out.clone().unwrap_or_else(|| {
        home.join("eval").join(format!(
            "fidelity-{}",
            &vkv_eval::data::sha256_hex(
                format!(
                    "{sha}{}{}{}{layers:?}{}",
                    text.sha256, a.context, a.steps, a.k
                )
                .as_bytes()
            )[..10]
        ))
    });
    std::fs::create_dir_all(&dir)?;
    let mut md = format!(
        "## KV fidelity — {} on `{}` ({} prompt tokens, {} decode steps, k = {})\n\nModel sha256 `{sha}`; text sha256 `{}`. Reference: exact f32 attention over the recorded post-RoPE K/V.\n\n| KV mode | layer | rel. L2 error (mean over heads & steps) | max | \\|ΔLSE\\| | recall@{} | exact top-{} softmax mass |\n|---|---:|---:|---:|---:|---:|---:|\n",
        lm.name, text.id, a.context, a.steps, a.k, text.sha256, a.k, a.k
    );
    let mut series = Vec::new();
    for m in &modes {
        let name = m.to_string();
        let mut pts = Vec::new();
        for &l in &layers {
            let s: Vec<&HeadStat> = stats
                .iter()
                .filter(|s| s.kv == name && s.layer == l)
                .collect();
            let n = s.len().max(1) as f64;
            let mean = s.iter().map(|x| x.rel_l2_mean).sum::<f64>() / n;
            let max = s.iter().map(|x| x.rel_l2_max).fold(0.0, f64::max);
            let mass = s.iter().map(|x| x.topk_mass).sum::<f64>() / n;
            let opt = |v: Vec<f64>| {
                if v.is_empty() {
                    "–".to_string()
                } else {
                    format!("{:.2e}", v.iter().sum::<f64>() / v.len() as f64)
                }
            };
            md.push_str(&format!(
                "| {name} | {l} | {mean:.2e} | {max:.2e} | {} | {} | {mass:.3} |\n",
                opt(s.iter().filter_map(|x| x.lse_abs_err).collect()),
                opt(s.iter().filter_map(|x| x.recall_at_k).collect())
            ));
            pts.push((l as f64, mean));
        }
        series.push(pts);
    }
    let legend: Vec<String> = modes
        .iter()
        .zip(plot::SERIES_COLORS)
        .map(|(m, (c, _))| format!("{c} = {m}"))
        .collect();
    plot::lines(&dir.join("fidelity-layers.png"), &series)?;
    md.push_str(&format!("\n`fidelity-layers.png`: mean relative L2 error per recorded layer (x: layer, y: error; {}). Per-head numbers in report.json. Empty ΔLSE / recall columns: the mode does not expose its LSE or the ids it read.\n", legend.join(", ")));
    let j = json!({"model": lm.name, "model_sha256": sha, "text": text.id, "text_sha256": text.sha256, "context": a.context, "steps": a.steps, "k": a.k, "layers": layers, "kv": a.kv, "heads": stats});
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&j)?)?;
    std::fs::write(dir.join("report.md"), &md)?;
    println!("{md}");
    eprintln!("report: {}", dir.display());
    Ok(())
}
