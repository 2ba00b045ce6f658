//! `vkv bench`: speed at depth, ours and llama.cpp's side by side, medians of alternating runs.

use std::path::Path;

use vkv_engine::KvMode;
use vkv_eval::bench::{prepare_modes, BenchSpec, Sample};
use vkv_eval::llama_cpp::LlamaCpp;
use vkv_eval::prefill_store::PrefillStore;
use vkv_eval::stats::median;
use vkv_model::loader;

use crate::args::BenchArgs;
use crate::progress::{new_bar, Bar};

pub fn run(home: &Path, a: BenchArgs) -> anyhow::Result<()> {
    let modes = KvMode::parse_list(&a.kv)?;
    let src = loader::resolve(&a.model, home, &Bar::bytes())?;
    let (model, _, name) = loader::load_transformer(&src)?;
    let model = &model;
    let mut llama = a.llama_cpp.as_deref().map(LlamaCpp::find).transpose()?;
    if let Some(l) = &mut llama {
        if a.llama_fa.is_empty() || a.llama_fa.iter().any(|&f| f > 1) {
            anyhow::bail!("--llama-fa takes 0 and/or 1");
        }
        l.fa = a.llama_fa.clone();
    }
    if llama.is_some() && !matches!(src, loader::ModelSource::Gguf(_)) {
        anyhow::bail!("--llama-cpp needs a GGUF model");
    }
    // Depth fills are saved per model file (the store checks shapes, not weights).
    let store = if a.context.iter().any(|&d| d > 0) {
        let sha = crate::cmd::eval::model_sha256(src.path())?;
        let dir = format!("bench-{}", &sha[..sha.len().min(12)]);
        Some(PrefillStore::new(
            &home.join("contexts").join(dir),
            a.save_depths,
        ))
    } else {
        None
    };
    let threads = rayon::current_num_threads();
    let spec = BenchSpec {
        depths: a.context.clone(),
        modes: modes.clone(),
        n_prompt: a.n_prompt,
        n_gen: a.n_gen,
        chunk: vkv_engine::PREFILL_CHUNK,
        seed: 1234,
    };
    let (do_pp, do_tg) = match a.only.as_deref() {
        None => (true, true),
        Some("pp") => (true, false),
        Some("tg") => (false, true),
        Some(o) => anyhow::bail!("--only takes pp or tg, not {o:?}"),
    };
    let extra = match (do_pp, do_tg) {
        (true, true) => a.n_prompt.max(a.n_gen),
        (true, false) => a.n_prompt,
        _ => a.n_gen,
    };
    for &d in &spec.depths {
        if d + extra > model.config.context_length {
            anyhow::bail!(
                "depth {d} + {extra} tokens exceeds the model's context {} (use a depth ≤ {})",
                model.config.context_length,
                model.config.context_length.saturating_sub(extra)
            );
        }
    }
    eprintln!(
        "model {} ({}), {threads} threads, pp{} / tg{}, {} reps",
        name,
        src.path().display(),
        a.n_prompt,
        a.n_gen,
        a.reps
    );
    let machine = (!a.no_probe).then(|| {
        let p = vkv_kernels::probe::probe(512);
        eprintln!("machine: {}", p.summary());
        probe_json(&p)
    });
    let mut samples: Vec<Sample> = Vec::new();
    let mut memory = Vec::new();
    for &depth in &spec.depths {
        let bar = new_bar(
            depth as u64,
            &format!("fill to depth {depth}, then fork into {}", a.kv),
            false,
        );
        let mut prepared = prepare_modes(model, &modes, depth, &spec, store.as_ref(), &mut |n| {
            bar.set_position(n as u64)
        })?;
        bar.finish_and_clear();
        let first = memory.len();
        for p in &prepared {
            memory.push((p.mode().to_string(), depth, p.memory(), None));
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
                let (p, g) = (
                    if do_pp { a.n_prompt } else { 0 },
                    if do_tg { a.n_gen } else { 0 },
                );
                samples.extend(l.run_block(src.path(), threads, depth, p, g, n)?);
            }
        }
        bar.finish_and_clear();
        for (m, p) in memory[first..].iter_mut().zip(&prepared) {
            m.3 = p.fast_tier_hit_rate();
        }
    }
    print_table(
        &samples,
        &modes,
        llama.as_ref().map(|l| l.fa.as_slice()),
        &spec,
    );
    if let Some(dir) = &a.out {
        let cfg = serde_json::json!({"model": name, "model_path": src.path(), "model_sha256": super::eval::model_sha256(src.path())?, "threads": threads,
            "n_prompt": a.n_prompt, "n_gen": a.n_gen, "reps": a.reps, "depths": a.context, "kv": a.kv, "llama_cpp": a.llama_cpp, "machine": machine});
        super::bench_report::write(dir, &cfg, &samples, &modes, &spec, &memory)?;
    }
    if let Some(path) = &a.json {
        let rows = summary(&samples);
        let j = serde_json::json!({
            "model": name, "model_path": src.path(), "threads": threads, "n_prompt": a.n_prompt, "n_gen": a.n_gen,
            "reps": a.reps, "machine": machine, "medians": rows, "samples": samples,
        });
        std::fs::write(path, serde_json::to_string_pretty(&j)?)?;
    }
    Ok(())
}

/// The probe as the reports record it: the summary line and every figure.
fn probe_json(p: &vkv_kernels::probe::MachineProbe) -> serde_json::Value {
    let both = |x: vkv_kernels::probe::PerThreads| serde_json::json!({"one_thread": x.one, "all_threads": x.all});
    serde_json::json!({
        "summary": p.summary(), "threads": p.threads, "simd": p.simd, "vnni": p.vnni,
        "fma_gflops": both(p.fma_gflops), "stream_read_gbs": both(p.stream_gbs),
        "random_read_ns": both(p.latency_ns), "mib_per_thread": p.mib_per_thread,
    })
}

fn med(samples: &[Sample], kv: &str, depth: usize, test: &str) -> Option<f64> {
    let v: Vec<f64> = samples
        .iter()
        .filter(|s| s.kv == kv && s.depth == depth && s.test == test)
        .map(Sample::tps)
        .collect();
    (!v.is_empty()).then(|| median(&v))
}

fn summary(samples: &[Sample]) -> Vec<serde_json::Value> {
    let mut keys: Vec<(String, usize, &str)> = samples
        .iter()
        .map(|s| (s.kv.clone(), s.depth, s.test))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(kv, depth, test)| serde_json::json!({"kv": kv, "depth": depth, "test": test, "median_tps": med(samples, &kv, depth, test)}))
        .collect()
}

fn print_table(samples: &[Sample], modes: &[KvMode], llama_fa: Option<&[u8]>, spec: &BenchSpec) {
    let names: Vec<String> = modes.iter().map(ToString::to_string).collect();
    let fa = llama_fa.unwrap_or(&[]);
    let mut header = String::from("| test | depth |");
    for m in &names {
        header.push_str(&format!(" vectorkv {m} tok/s |"));
    }
    for f in fa {
        header.push_str(&format!(" {} |", vkv_eval::llama_cpp::label(i64::from(*f))));
    }
    for m in names.iter().skip(1) {
        header.push_str(&format!(" {m} / {} |", names[0]));
    }
    if !fa.is_empty() {
        for m in &names {
            header.push_str(&format!(" {m} / llama.cpp's best |"));
        }
    }
    let cols = header.matches('|').count() - 1;
    println!("{header}\n|---|{}", "---:|".repeat(cols - 1));
    for test in ["pp", "tg"] {
        for &depth in &spec.depths {
            let ours: Vec<Option<f64>> =
                names.iter().map(|m| med(samples, m, depth, test)).collect();
            if ours.iter().all(Option::is_none) {
                continue;
            }
            let n = if test == "pp" {
                spec.n_prompt
            } else {
                spec.n_gen
            };
            let cell = |v: Option<f64>| v.map_or(" – |".into(), |v| format!(" {v:.1} |"));
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => format!(" {:.2}× |", a / b),
                _ => " – |".into(),
            };
            let mut line = format!("| {test}{n} | {depth} |");
            for o in &ours {
                line.push_str(&cell(*o));
            }
            let l: Vec<Option<f64>> = fa
                .iter()
                .map(|f| {
                    med(
                        samples,
                        &vkv_eval::llama_cpp::label(i64::from(*f)),
                        depth,
                        test,
                    )
                })
                .collect();
            for v in &l {
                line.push_str(&cell(*v));
            }
            for o in ours.iter().skip(1) {
                line.push_str(&ratio(*o, ours[0]));
            }
            if !fa.is_empty() {
                let best = l.iter().flatten().copied().reduce(f64::max);
                for o in &ours {
                    line.push_str(&ratio(*o, best));
                }
            }
            println!("{line}");
        }
    }
}
