//! A NIAH grid or a RULER suite as one resumable run: the cells it consists of, its directory
//! `<home>/eval/<suite>-<hash>/` (the hash covers what changes a cell's prompt or its scoring:
//! model sha256, haystack sha256, seed, chat template, prompt format), the results file, and
//! the report.
//!
//! Lengths, depths, samples, tasks and KV modes are not in the hash: a cell is keyed by (task,
//! length, depth, sample) and checked against its prompt's hash, so running more of any of them
//! later adds cells to the same run, and a re-run of the same command skips every cell already
//! in `results.jsonl`. Directories named by the older hash, which also covered depths, samples
//! and tasks, are merged in by [`crate::legacy`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use vkv_engine::KvMode;
use vkv_model::{Tokenizer, Transformer};

use crate::data::sha256_hex;
use crate::prefill_store::PrefillStore;
use crate::runner::{self, prompt_hash, CellResult, RunProgress};
use crate::tasks::niah::{self, NeedleKind};
use crate::tasks::{ruler, Haystack, PromptBuilder, TaskSample};
use crate::{Error, Result};

/// Bump when prompts change for the same configuration (old runs are then not resumed).
pub const PROMPT_FORMAT: u32 = 1;

/// Which suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Suite {
    /// Needle in a haystack grid.
    Niah,
    /// RULER-style tasks.
    Ruler,
}

impl Suite {
    /// `niah` or `ruler`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Niah => "niah",
            Self::Ruler => "ruler",
        }
    }
}

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteSpec {
    /// Suite.
    pub suite: Suite,
    /// Prompt lengths in tokens.
    pub lengths: Vec<usize>,
    /// NIAH depths (empty for RULER).
    pub depths: Vec<f64>,
    /// Samples per (task, length[, depth]).
    pub samples: usize,
    /// Needle kinds or RULER tasks.
    pub tasks: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Wrap prompts in the model's chat template.
    pub chat: bool,
}

/// Identity of what was evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// Model name.
    pub model: String,
    /// Model file.
    pub model_path: PathBuf,
    /// Model sha256.
    pub model_sha256: String,
    /// Haystack id.
    pub haystack: String,
    /// Haystack sha256.
    pub haystack_sha256: String,
}

impl SuiteSpec {
    /// Defaults: NIAH depths 0, .25, .5, .75, 1, 2 samples, all kinds; RULER 10 samples, all tasks.
    pub fn new(suite: Suite, lengths: Vec<usize>, seed: u64) -> Self {
        match suite {
            Suite::Niah => Self {
                suite,
                lengths,
                depths: vec![0.0, 0.25, 0.5, 0.75, 1.0],
                samples: 2,
                tasks: NeedleKind::ALL
                    .iter()
                    .map(|k| k.name().to_string())
                    .collect(),
                seed,
                chat: true,
            },
            Suite::Ruler => Self {
                suite,
                lengths,
                depths: Vec::new(),
                samples: 10,
                tasks: ruler::TASKS.iter().map(|t| t.to_string()).collect(),
                seed,
                chat: true,
            },
        }
    }

    /// The CI profile: 512/1024 tokens, 2 depths, 1 sample, passkey / two RULER tasks.
    pub fn quick(suite: Suite, seed: u64) -> Self {
        let mut s = Self::new(suite, vec![512, 1024], seed);
        s.samples = 1;
        match suite {
            Suite::Niah => {
                s.depths = vec![0.25, 0.75];
                s.tasks = vec!["passkey".into()];
            }
            Suite::Ruler => s.tasks = vec!["niah_single".into(), "vt".into()],
        }
        s
    }

    /// Check names and ranges before any work.
    pub fn validate(&self, context_length: usize) -> Result<()> {
        if self.lengths.is_empty() || self.samples == 0 || self.tasks.is_empty() {
            return Err(Error::Config(
                "need at least one length, one sample and one task".into(),
            ));
        }
        for &l in &self.lengths {
            if l + 128 > context_length {
                return Err(Error::Config(format!("length {l} plus room to answer exceeds the model's context length {context_length}")));
            }
        }
        for t in &self.tasks {
            match self.suite {
                Suite::Niah => {
                    NeedleKind::parse(t)?;
                }
                Suite::Ruler if !ruler::TASKS.contains(&t.as_str()) => {
                    return Err(Error::Config(format!(
                        "unknown RULER task {t:?} (known: {})",
                        ruler::TASKS.join(", ")
                    )))
                }
                Suite::Ruler => {}
            }
        }
        if self.suite == Suite::Niah
            && (self.depths.is_empty() || self.depths.iter().any(|d| !(0.0..=1.0).contains(d)))
        {
            return Err(Error::Config("depths must be fractions in [0, 1]".into()));
        }
        Ok(())
    }

    /// The run's directory name: suite and a hash of what changes prompts (not lengths,
    /// depths, samples, tasks or modes: those only select cells).
    pub fn run_id(&self, prov: &Provenance) -> String {
        let key = serde_json::json!({
            "format": PROMPT_FORMAT, "suite": self.suite.name(), "model": prov.model_sha256,
            "haystack": prov.haystack_sha256, "seed": self.seed, "chat": self.chat,
        });
        format!(
            "{}-{}",
            self.suite.name(),
            &sha256_hex(key.to_string().as_bytes())[..10]
        )
    }

    /// Every cell, in (length, task, depth, sample) order.
    pub fn cells(&self, tok: &Tokenizer, hay: &Haystack) -> Result<Vec<TaskSample>> {
        let pb = PromptBuilder::new(tok, self.chat)?;
        let mut out = Vec::new();
        for &l in &self.lengths {
            for t in &self.tasks {
                for s in 0..self.samples {
                    match self.suite {
                        Suite::Niah => {
                            let kind = NeedleKind::parse(t)?;
                            for &d in &self.depths {
                                out.push(niah::sample(&pb, hay, kind, self.seed, l, d, s)?);
                            }
                        }
                        Suite::Ruler => out.push(ruler::sample(&pb, hay, t, self.seed, l, s)?),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A run in progress or finished.
pub struct Run {
    /// Its directory.
    pub dir: PathBuf,
    /// The results file.
    pub results: PathBuf,
}

impl Run {
    /// Open the run's default directory `<root>/<run id>` ([`SuiteSpec::run_id`]), merging in
    /// the results of directories of the older naming under `root` ([`crate::legacy`]);
    /// returns the run and (directory, results adopted) per directory that gave any.
    pub fn open_default(
        root: &Path,
        spec: &SuiteSpec,
        prov: &Provenance,
        modes: &[KvMode],
    ) -> Result<(Self, Vec<(String, usize)>)> {
        let run = Self::open(&root.join(spec.run_id(prov)), spec, prov, modes)?;
        let adopted = crate::legacy::adopt(root, &run.dir, spec, prov)?;
        Ok((run, adopted))
    }

    /// Open (create) the run directory and write `config.json`.
    pub fn open(dir: &Path, spec: &SuiteSpec, prov: &Provenance, modes: &[KvMode]) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let cfg = serde_json::json!({
            "spec": spec, "provenance": prov, "kv_modes": modes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "prompt_format": PROMPT_FORMAT, "vkv_version": env!("CARGO_PKG_VERSION"), "threads": rayon_threads(),
        });
        let p = dir.join("config.json");
        std::fs::write(
            &p,
            serde_json::to_string_pretty(&cfg).map_err(|e| Error::Report(e.to_string()))?,
        )
        .map_err(|e| Error::io(&p, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            results: dir.join("results.jsonl"),
        })
    }

    /// Results of `cells` already on disk for `modes` (stale prompts are ignored).
    pub fn finished(&self, cells: &[TaskSample], modes: &[KvMode]) -> Result<Vec<CellResult>> {
        let want: HashMap<String, String> = cells
            .iter()
            .map(|c| (c.key(), prompt_hash(&c.tokens)))
            .collect();
        let modes: HashSet<String> = modes.iter().map(ToString::to_string).collect();
        let mut seen = HashSet::new();
        Ok(runner::load_results(&self.results)?
            .into_iter()
            .filter(|r| want.get(&r.key) == Some(&r.prompt_hash) && modes.contains(&r.kv))
            .filter(|r| seen.insert((r.key.clone(), r.kv.clone())))
            .collect())
    }

    /// The run's saved prefills (`<dir>/prefills/`): loaded when present, written if `save`.
    pub fn prefills(&self, save: bool) -> PrefillStore {
        PrefillStore::new(&self.dir.join("prefills"), save)
    }

    /// Run every unfinished cell for every mode; returns all results (old and new). Prompts
    /// saved in `store` are loaded instead of prefilled.
    pub fn run(
        &self,
        model: &Transformer,
        tok: &Tokenizer,
        cells: &[TaskSample],
        modes: &[KvMode],
        store: &PrefillStore,
        progress: &mut dyn RunProgress,
    ) -> Result<Vec<CellResult>> {
        let mut all = self.finished(cells, modes)?;
        let done: HashSet<(String, String)> =
            all.iter().map(|r| (r.key.clone(), r.kv.clone())).collect();
        all.extend(runner::run_modes(
            model,
            tok,
            modes,
            cells,
            &done,
            &self.results,
            store,
            progress,
        )?);
        Ok(all)
    }
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
