//! `vkv bench`: speed at depth, ours and llama.cpp's side by side, medians of alternating runs.

use std::path::Path;

use vkv_engine::KvMode;
use vkv_eval::bench::{prepare, BenchSpec, Sample};
use vkv_eval::llama_cpp::LlamaCpp;
use vkv_eval::stats::median;
use vkv_model::loader;

use crate::args::BenchArgs;
use crate::progress::{new_bar, Bar};

pub fn run(home: &Path, a: BenchArgs) -> anyhow::Result<()> {
    let modes = KvMode::parse_list(&a.kv)?;
    let src = loader::resolve(&a.model, home, &Bar::bytes())?;
    let (model, _, name) = loader::load_transformer(&src)?;
    let model = &model;
    let llama = a.llama_cpp.as_deref().map(LlamaCpp::find).transpose()?;
    if llama.is_some() && !matches!(src, loader::ModelSource::Gguf(_)) {
        anyhow::bail!("--llama-cpp needs a GGUF model");
    }
    let threads = rayon::current_num_threads();
    let spec = BenchSpec { depths: a.context.clone(), modes: modes.clone(), n_prompt: a.n_prompt, n_gen: a.n_gen, chunk: vkv_engine::PREFILL_CHUNK, seed: 1234 };
    let (do_pp, do_tg) = match a.only.as_deref() {
        None => (true, true),
        Some("pp") => (true, false),
        Some("tg") => (false, true),
        Some(o) => anyhow::bail!("--only takes pp or tg, not {o:?}"),
    };
    for &d in &spec.depths {
        if d + a.n_prompt.max(a.n_gen) > model.config.context_length {
            anyhow::bail!("depth {d} + {} tokens exceeds the model's context {}", a.n_prompt.max(a.n_gen), model.config.context_length);
        }
    }
    eprintln!("model {} ({}), {threads} threads, pp{} / tg{}, {} reps", name, src.path().display(), a.n_prompt, a.n_gen, a.reps);
    let mut samples: Vec<Sample> = Vec::new();
    let mut memory = Vec::new();
    for &depth in &spec.depths {
        let mut prepared = Vec::new();
        for mode in &modes {
            let bar = new_bar(depth as u64, &format!("fill {mode} to depth {depth}"), false);
            prepared.push(prepare(model, mode, depth, &spec, &mut |n| bar.set_position(n as u64))?);
            bar.finish_and_clear();
            memory.push((mode.to_string(), depth, prepared.last().map(|p| p.memory()).unwrap_or_default()));
        }
        // Blocks alternate: `rounds` × (our reps, then one llama-bench process for as many).
        let rounds = a.rounds.clamp(1, a.reps.max(1));
        let bar = new_bar(a.reps as u64, &format!("depth {depth}"), false);
        let mut rep = 0u64;
        for round in 0..rounds {
            let n = a.reps / rounds + usize::from(round < a.reps % rounds);
            for _ in 0..n {
                for p in prepared.iter_mut() {
                    if do_pp {
                        samples.push(p.run_pp(model, &spec, rep)?);
                    }
                    if do_tg {
                        samples.push(p.run_tg(model, &spec, rep)?);
                    }
                }
                rep += 1;
                bar.inc(1);
            }
            if let Some(l) = &llama {
                let (p, g) = (if do_pp { a.n_prompt } else { 0 }, if do_tg { a.n_gen } else { 0 });
                samples.extend(l.run_block(src.path(), threads, depth, p, g, n)?);
            }
        }
        bar.finish_and_clear();
    }
    print_table(&samples, &modes, llama.is_some(), &spec);
    if let Some(dir) = &a.out {
        let cfg = serde_json::json!({"model": name, "model_path": src.path(), "model_sha256": super::eval::model_sha256(src.path())?, "threads": threads,
            "n_prompt": a.n_prompt, "n_gen": a.n_gen, "reps": a.reps, "depths": a.context, "kv": a.kv, "llama_cpp": a.llama_cpp});
        super::bench_report::write(dir, &cfg, &samples, &modes, &spec, &memory)?;
    }
    if let Some(path) = &a.json {
        let rows = summary(&samples);
        let j = serde_json::json!({
            "model": name, "model_path": src.path(), "threads": threads, "n_prompt": a.n_prompt, "n_gen": a.n_gen,
            "reps": a.reps, "medians": rows, "samples": samples,
        });
        std::fs::write(path, serde_json::to_string_pretty(&j)?)?;
    }
    Ok(())
}

fn med(samples: &[Sample], kv: &str, depth: usize, test: &str) -> Option<f64> {
    let v: Vec<f64> = samples.iter().filter(|s| s.kv == kv && s.depth == depth && s.test == test).map(Sample::tps).collect();
    (!v.is_empty()).then(|| median(&v))
}

fn summary(samples: &[Sample]) -> Vec<serde_json::Value> {
    let mut keys: Vec<(String, usize, &str)> = samples.iter().map(|s| (s.kv.clone(), s.depth, s.test)).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(kv, depth, test)| serde_json::json!({"kv": kv, "depth": depth, "test": test, "median_tps": med(samples, &kv, depth, test)}))
        .collect()
}

fn print_table(samples: &[Sample], modes: &[KvMode], llama: bool, spec: &BenchSpec) {
    let mut header = String::from("| test | depth |");
    let mut sep = String::from("|---|---:|");
    for m in modes {
        header.push_str(&format!(" vectorkv {m} tok/s |"));
        sep.push_str("---:|");
    }
    if llama {
        header.push_str(" llama.cpp fa=0 | llama.cpp fa=1 | ratio to llama.cpp's best |");
        sep.push_str("---:|---:|---:|");
    }
    println!("{header}\n{sep}");
    for test in ["pp", "tg"] {
        for &depth in &spec.depths {
            let ours: Vec<Option<f64>> = modes.iter().map(|m| med(samples, &m.to_string(), depth, test)).collect();
            if ours.iter().all(Option::is_none) {
                continue;
            }
            let n = if test == "pp" { spec.n_prompt } else { spec.n_gen };
            let mut line = format!("| {test}{n} | {depth} |");
            for o in &ours {
                line.push_str(&o.map_or(" – |".into(), |v| format!(" {v:.1} |")));
            }
            if llama {
                let l: Vec<Option<f64>> = [0, 1].iter().map(|fa| med(samples, &vkv_eval::llama_cpp::label(*fa), depth, test)).collect();
                let best = l.iter().flatten().copied().fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
                let ratio = match (ours.first().copied().flatten(), best) {
                    (Some(a), Some(b)) => format!("{:.2}×", a / b),
                    _ => "–".into(),
                };
                for v in &l {
                    line.push_str(&v.map_or(" – |".into(), |v| format!(" {v:.1} |")));
                }
                line.push_str(&format!(" {ratio} |"));
            }
            println!("{line}");
        }
    }
}
