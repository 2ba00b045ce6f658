//! `vkv bench --out DIR`: the benchmark as a report: markdown table (tokens/s, attention ms per
//! step, KV memory per tier, peak RSS), JSON with every sample, PNG line plots vs depth.

use std::path::Path;

use serde_json::json;
use vkv_engine::KvMode;
use vkv_eval::bench::{BenchSpec, Sample};
use vkv_eval::plot;
use vkv_eval::stats::median;
use vkv_eval::timed::peak_rss_bytes;
use vkv_kv::MemoryUsage;

fn med(
    samples: &[Sample],
    kv: &str,
    depth: usize,
    test: &str,
    f: fn(&Sample) -> f64,
) -> Option<f64> {
    let v: Vec<f64> = samples
        .iter()
        .filter(|s| s.kv == kv && s.depth == depth && s.test == test)
        .map(f)
        .filter(|x| x.is_finite())
        .collect();
    (!v.is_empty()).then(|| median(&v))
}

fn cell(v: Option<f64>, prec: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.prec$}"))
}

pub fn write(
    dir: &Path,
    cfg: &serde_json::Value,
    samples: &[Sample],
    modes: &[KvMode],
    spec: &BenchSpec,
    memory: &[(String, usize, MemoryUsage, Option<f64>)],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut names: Vec<String> = modes.iter().map(ToString::to_string).collect();
    let mut llama: Vec<String> = samples
        .iter()
        .filter(|s| s.kv.starts_with("llama.cpp"))
        .map(|s| s.kv.clone())
        .collect();
    llama.sort();
    llama.dedup();
    names.extend(llama);
    let rss = peak_rss_bytes();
    let mut md = format!(
        "## vkv bench — {}\n\n`{}`\n\n{}Medians over {} repetitions. pp = prefill {} new tokens at the depth; tg = decode {} tokens at the depth; attention = time inside the KV backend's `attend` (all layers) per decode step. Peak RSS of the vkv process: {}.\n\n| depth | KV | pp tok/s | tg tok/s | attention ms / decode step | KV fast MiB | KV slow MiB | index MiB | fast-tier hit rate |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
        cfg["model"].as_str().unwrap_or(""),
        cfg,
        cfg["machine"]["summary"]
            .as_str()
            .map_or(String::new(), |m| format!("Machine: {m}.\n\n")),
        cfg["reps"],
        spec.n_prompt,
        spec.n_gen,
        rss.map_or("n/a".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
    );
    let mib = |b: usize| format!("{:.1}", b as f64 / 1048576.0);
    for &d in &spec.depths {
        for n in &names {
            let attn = med(samples, n, d, "tg", |s| {
                s.attn_secs / s.tokens.max(1) as f64 * 1e3
            });
            let entry = memory.iter().find(|(m, dd, _, _)| m == n && *dd == d);
            let mem = entry.map(|x| x.2);
            md.push_str(&format!(
                "| {d} | {n} | {} | {} | {} | {} | {} | {} | {} |\n",
                cell(med(samples, n, d, "pp", Sample::tps), 1),
                cell(med(samples, n, d, "tg", Sample::tps), 2),
                cell(attn, 2),
                mem.map_or("–".into(), |m| mib(m.fast_bytes)),
                mem.map_or("–".into(), |m| mib(m.slow_bytes)),
                mem.map_or("–".into(), |m| mib(m.index_bytes)),
                cell(entry.and_then(|x| x.3), 2),
            ));
        }
    }
    let legend: Vec<String> = names
        .iter()
        .zip(plot::SERIES_COLORS)
        .map(|(n, (c, _))| format!("{c} = {n}"))
        .collect();
    for (file, test, f) in [
        ("bench-pp.png", "pp", Sample::tps as fn(&Sample) -> f64),
        ("bench-tg.png", "tg", Sample::tps),
        ("bench-attn.png", "tg", |s: &Sample| {
            s.attn_secs / s.tokens.max(1) as f64 * 1e3
        }),
    ] {
        let series: Vec<Vec<(f64, f64)>> = names
            .iter()
            .map(|n| {
                spec.depths
                    .iter()
                    .filter_map(|&d| med(samples, n, d, test, f).map(|v| (d as f64, v)))
                    .collect()
            })
            .collect();
        plot::lines(&dir.join(file), &series)?;
    }
    md.push_str(&format!(
        "\nPlots (x: depth in tokens; {}): `bench-pp.png` prefill tok/s, `bench-tg.png` decode tok/s, `bench-attn.png` attention ms per decode step.\n",
        legend.join(", ")
    ));
    let mem: Vec<serde_json::Value> = memory.iter().map(|(m, d, u, h)| json!({"kv": m, "depth": d, "fast_bytes": u.fast_bytes, "slow_bytes": u.slow_bytes, "index_bytes": u.index_bytes, "fast_tier_hit_rate": h})).collect();
    let j = json!({"config": cfg, "peak_rss_bytes": rss, "memory": mem, "samples": samples});
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&j)?)?;
    std::fs::write(dir.join("report.md"), &md)?;
    eprintln!("report: {}", dir.display());
    Ok(())
}
