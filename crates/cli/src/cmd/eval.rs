//! `vkv eval`: perplexity, NIAH, RULER, fidelity. Thin: parse, load, draw progress, print the
//! report; the work is in `vkv_eval`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::FormattedDuration;
use vkv_engine::KvMode;
use vkv_eval::data;
use vkv_eval::runner::{CellResult, RunProgress};
use vkv_eval::suite::{Provenance, Run, Suite, SuiteSpec};
use vkv_eval::tasks::Haystack;
use vkv_model::fetch;
use vkv_model::loader::{self, LoadedModel};

use crate::args::{EvalArgs, EvalCommand, EvalTaskArgs};
use crate::progress::{new_bar, Bar};

pub fn run(home: &Path, a: EvalArgs) -> anyhow::Result<()> {
    match a.command {
        EvalCommand::Niah(t) => run_suite(home, Suite::Niah, t),
        EvalCommand::Ruler(t) => run_suite(home, Suite::Ruler, t),
        EvalCommand::Ppl(p) => super::eval_ppl::run(home, p),
        EvalCommand::Fidelity(f) => super::eval_fidelity::run(home, f),
        EvalCommand::Kl(k) => super::eval_kl::run(home, k),
    }
}

/// Resolve and load a model; returns it with its sha256 (from the pull stamp, else hashed).
pub fn load(home: &Path, model: &str) -> anyhow::Result<(LoadedModel, String)> {
    let src = loader::resolve(model, home, &Bar::bytes())?;
    let t0 = Instant::now();
    let lm = loader::load(&src)?;
    eprintln!(
        "loaded {} from {} in {:.2}s",
        lm.name,
        src.path().display(),
        t0.elapsed().as_secs_f64()
    );
    let sha = model_sha256(src.path())?;
    Ok((lm, sha))
}

/// The sha256 of a model file (the stamp a verified pull left, else computed) or directory
/// (`-` for HF directories, which are several files).
pub fn model_sha256(path: &Path) -> anyhow::Result<String> {
    if path.is_dir() {
        return Ok("-".into());
    }
    let mut stamp = path.as_os_str().to_owned();
    stamp.push(".sha256");
    if let Ok(s) = std::fs::read_to_string(PathBuf::from(stamp)) {
        if s.trim().len() == 64 {
            return Ok(s.trim().to_string());
        }
    }
    Ok(fetch::sha256_file(path, &Bar::bytes())?)
}

/// `4096`, `4k` (= 4096), `32000`.
pub fn parse_length(s: &str) -> anyhow::Result<usize> {
    let t = s.trim().to_lowercase();
    let v = match t.strip_suffix('k') {
        Some(n) => n.parse::<usize>().map(|n| n * 1024),
        None => t.parse::<usize>(),
    };
    v.with_context(|| format!("bad length {s:?} (a token count such as 4096, 4k or 32000)"))
}

struct Bars {
    bar: indicatif::ProgressBar,
    cells: usize,
    total: usize,
    score: f64,
    start: Instant,
}

impl RunProgress for Bars {
    fn tokens(&mut self, n: usize) {
        self.bar.inc(n as u64);
    }
    fn cell(&mut self, r: &CellResult) {
        self.cells += 1;
        self.score += r.score;
        self.bar.set_message(format!(
            "{}/{} cells, mean score {:.2}",
            self.cells,
            self.total,
            self.score / self.cells as f64
        ));
        // Each cell's line carries the count, the time so far and an estimate of the rest (by
        // prompt tokens), so a log of a run without a terminal shows where it stands.
        let el = self.start.elapsed();
        let (pos, len) = (self.bar.position(), self.bar.length().unwrap_or(0));
        let eta = if pos > 0 {
            let rest = el.as_secs_f64() * len.saturating_sub(pos) as f64 / pos as f64;
            FormattedDuration(Duration::from_secs(rest as u64)).to_string()
        } else {
            "?".into()
        };
        let head = format!(
            "[{}/{} {} eta {eta}]",
            self.cells,
            self.total,
            FormattedDuration(Duration::from_secs(el.as_secs()))
        );
        self.bar.suspend(|| {
            eprintln!(
                "{head} {:<22} {:>6} tok  depth {:<5} kv {:<9} score {:.2}  {:?}",
                r.task,
                r.prompt_tokens,
                r.depth.map_or("-".into(), |d| format!("{d:.2}")),
                r.kv,
                r.score,
                r.output.trim()
            )
        });
    }
}

fn run_suite(home: &Path, suite: Suite, a: EvalTaskArgs) -> anyhow::Result<()> {
    let modes = KvMode::parse_list(&a.kv)?;
    let mut spec = if a.quick {
        SuiteSpec::quick(suite, a.seed)
    } else {
        let lengths = a
            .context
            .iter()
            .map(|s| parse_length(s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        SuiteSpec::new(suite, lengths, a.seed)
    };
    if !a.depths.is_empty() {
        spec.depths = a.depths.clone();
    }
    if let Some(s) = a.samples {
        spec.samples = s;
    }
    if !a.tasks.is_empty() {
        spec.tasks = a.tasks.clone();
    }
    let hay_text = data::resolve_text(&a.haystack, home, &Bar::counts())?;
    let (lm, sha) = load(home, &a.model)?;
    spec.validate(lm.transformer.config.context_length)?;
    let t0 = Instant::now();
    let hay = Haystack::new(&hay_text.id, &hay_text.text, &lm.tokenizer)?;
    let mut cells = spec.cells(&lm.tokenizer, &hay)?;
    if let Some(s) = &a.shard {
        let shard = vkv_eval::shard::Shard::parse(s)?;
        let all = cells.len();
        cells = shard.select(cells);
        eprintln!("shard {s}: {} of {all} cells", cells.len());
    }
    eprintln!(
        "{} cells generated in {:.1}s (haystack {}: {} tokens)",
        cells.len(),
        t0.elapsed().as_secs_f64(),
        hay.name,
        hay.total_tokens()
    );
    if a.show_prompt {
        if let Some(c) = cells.first() {
            println!(
                "{}\n--- {} tokens; expected {:?}",
                c.text,
                c.tokens.len(),
                c.expected
            );
        }
        return Ok(());
    }
    let prov = Provenance {
        model: lm.name.clone(),
        model_path: lm.source.path().to_path_buf(),
        model_sha256: sha,
        haystack: hay_text.id.clone(),
        haystack_sha256: hay_text.sha256.clone(),
    };
    let run = match &a.out {
        Some(dir) => Run::open(dir, &spec, &prov, &modes)?,
        None => {
            let (run, adopted) = Run::open_default(&home.join("eval"), &spec, &prov, &modes)?;
            for (name, n) in adopted {
                eprintln!("adopted {n} results of the same prompts from {name} (older run-directory naming)");
            }
            run
        }
    };
    let dir = run.dir.clone();
    let done = run.finished(&cells, &modes)?;
    let todo_cells = cells.len() * modes.len() - done.len();
    // Each prompt is prefilled once per prefill storage type, for all the modes sharing it.
    let pending = |m: &KvMode, c: &vkv_eval::tasks::TaskSample| {
        !done
            .iter()
            .any(|r| r.key == c.key() && r.kv == m.to_string())
    };
    // Prompts whose prefill is saved cost one token (the last one is always run).
    let store = run.prefills(a.save_prefills);
    let groups = KvMode::prefill_groups(&modes);
    let todo_tokens: usize = cells
        .iter()
        .map(|c| {
            groups
                .iter()
                .filter(|(_, g)| g.iter().any(|m| pending(m, c)))
                .map(|(dt, _)| {
                    if store.has(vkv_eval::runner::saved_part(&c.tokens), *dt) {
                        1
                    } else {
                        c.tokens.len()
                    }
                })
                .sum::<usize>()
        })
        .sum();
    eprintln!(
        "run directory {} — {} cells done, {todo_cells} to run (≤ {todo_tokens} prompt tokens)",
        dir.display(),
        done.len()
    );
    if a.save_prefills && !a.report_only {
        let longest = cells.iter().map(|c| c.tokens.len()).max().unwrap_or(0);
        let cfg = lm.transformer.config.attn(longest);
        let per = vkv_eval::prefill_store::PrefillStore::bytes_per_token(&cfg, Default::default());
        eprintln!(
            "saving each prompt's prefill under {}/prefills/ ({:.0} MB for a {longest}-token prompt)",
            dir.display(),
            (per * longest) as f64 / 1e6
        );
    }
    let bar = new_bar(todo_tokens as u64, "prefill tokens", false);
    let mut bars = Bars {
        bar,
        cells: 0,
        total: todo_cells,
        score: 0.0,
        start: Instant::now(),
    };
    let results = if a.report_only {
        done
    } else {
        run.run(
            &lm.transformer,
            &lm.tokenizer,
            &cells,
            &modes,
            &store,
            &mut bars,
        )?
    };
    bars.bar.finish_and_clear();
    let names: Vec<String> = modes.iter().map(ToString::to_string).collect();
    let md = vkv_eval::report::write(
        &dir,
        &spec,
        &prov,
        &names,
        &results,
        t0.elapsed().as_secs_f64(),
    )?;
    println!("{md}");
    eprintln!("report: {}/report.md, report.json, *.png", dir.display());
    Ok(())
}
