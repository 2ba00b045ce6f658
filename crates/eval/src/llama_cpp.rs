//! Running llama.cpp's `llama-bench` on the same GGUF, for side-by-side numbers.
//!
//! We invoke `llama-bench -m M -t T -p P -n 0 -d D -r 1 -o json` (and `-p 0 -n N` for decode)
//! once per repetition, so our runs and llama.cpp's alternate in time and share the same
//! machine noise. The JSON output is an array of test records; we read `n_prompt`, `n_gen`,
//! `n_depth` and `samples_ns`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::bench::Sample;
use crate::{Error, Result};

/// Where llama.cpp's binaries are.
#[derive(Debug, Clone)]
pub struct LlamaCpp {
    bench: PathBuf,
}

#[derive(Deserialize)]
struct Record {
    n_prompt: usize,
    n_gen: usize,
    #[serde(default)]
    n_depth: usize,
    samples_ns: Vec<f64>,
}

impl LlamaCpp {
    /// Find `llama-bench` in `dir` or `dir/bin` or `dir/build/bin`.
    pub fn find(dir: &Path) -> Result<Self> {
        for c in [dir.join("llama-bench"), dir.join("bin/llama-bench"), dir.join("build/bin/llama-bench")] {
            if c.is_file() {
                return Ok(Self { bench: c });
            }
        }
        Err(Error::LlamaCpp(format!("no llama-bench under {} (build it with scripts/ref/build_llama_cpp.sh)", dir.display())))
    }

    /// One timed run: prefill (`n_prompt > 0`) or decode (`n_gen > 0`) at `depth`.
    pub fn run(&self, model: &Path, threads: usize, depth: usize, n_prompt: usize, n_gen: usize) -> Result<Sample> {
        let out = Command::new(&self.bench)
            .arg("-m")
            .arg(model)
            .args(["-t", &threads.to_string(), "-p", &n_prompt.to_string(), "-n", &n_gen.to_string()])
            .args(["-d", &depth.to_string(), "-r", "1", "-o", "json"])
            .output()
            .map_err(|e| Error::LlamaCpp(format!("cannot run {}: {e}", self.bench.display())))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
            return Err(Error::LlamaCpp(format!("llama-bench failed ({}): {tail}", out.status)));
        }
        let recs: Vec<Record> = serde_json::from_slice(&out.stdout).map_err(|e| Error::LlamaCpp(format!("unreadable llama-bench JSON: {e}")))?;
        let r = recs.into_iter().next().ok_or_else(|| Error::LlamaCpp("llama-bench printed no result".into()))?;
        let secs = r.samples_ns.first().copied().unwrap_or(f64::NAN) / 1e9;
        let (test, tokens) = if r.n_prompt > 0 { ("pp", r.n_prompt) } else { ("tg", r.n_gen) };
        Ok(Sample { kv: "llama.cpp".into(), depth: r.n_depth.max(depth), test, tokens, secs, attn_secs: f64::NAN })
    }
}
