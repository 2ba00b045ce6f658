//! Running llama.cpp's `llama-bench` on the same GGUF, for side-by-side numbers.
//!
//! One block is one process: `llama-bench -m M -t T -p P -n N -d D -r R -fa 0,1 -o json`.
//! Both flash-attention settings run by default, because neither wins everywhere on a CPU (at
//! depth 4096 on qwen2.5-0.5b, decode: 20.2 tok/s with `-fa 0`, 9.1 with `-fa 1`, which `auto`
//! picks); reports compare against the faster one per test. [`LlamaCpp::fa`] narrows it (a
//! 32K depth fill costs llama.cpp ~15 min per setting on 2 cores). llama-bench
//! fills the depth once per process and restores that state before every repetition (as our
//! bench truncates back to it), so a block costs one depth fill however many reps it runs.
//! `vkv bench` alternates blocks of our reps and llama.cpp's, so both share the machine's noise.
//! The JSON output is an array of test records (pp and tg); we read `n_prompt`, `n_gen`,
//! `n_depth` and every repetition's `samples_ns`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::bench::Sample;
use crate::{Error, Result};

/// Where llama.cpp's binaries are, and which flash-attention settings to run.
#[derive(Debug, Clone)]
pub struct LlamaCpp {
    bench: PathBuf,
    /// `-fa` values (0 off, 1 on); both by default.
    pub fa: Vec<u8>,
}

#[derive(Deserialize)]
struct Record {
    n_prompt: usize,
    n_gen: usize,
    #[serde(default)]
    n_depth: usize,
    #[serde(default)]
    flash_attn: i64,
    samples_ns: Vec<f64>,
}

/// The label of llama.cpp samples with flash attention `fa` (0 off, 1 on).
pub fn label(fa: i64) -> String {
    format!("llama.cpp fa={fa}")
}

impl LlamaCpp {
    /// Find `llama-bench` in `dir` or `dir/bin` or `dir/build/bin`.
    pub fn find(dir: &Path) -> Result<Self> {
        for c in [
            dir.join("llama-bench"),
            dir.join("bin/llama-bench"),
            dir.join("build/bin/llama-bench"),
        ] {
            if c.is_file() {
                return Ok(Self {
                    bench: c,
                    fa: vec![0, 1],
                });
            }
        }
        Err(Error::LlamaCpp(format!(
            "no llama-bench under {} (build it with scripts/ref/build_llama_cpp.sh)",
            dir.display()
        )))
    }

    fn fa_arg(&self) -> String {
        let v: Vec<String> = self.fa.iter().map(ToString::to_string).collect();
        if v.is_empty() {
            "0,1".into()
        } else {
            v.join(",")
        }
    }

    /// One timed run: prefill (`n_prompt > 0`) or decode (`n_gen > 0`) at `depth`.
    pub fn run(
        &self,
        model: &Path,
        threads: usize,
        depth: usize,
        n_prompt: usize,
        n_gen: usize,
    ) -> Result<Sample> {
        let mut v = self.run_block(model, threads, depth, n_prompt, n_gen, 1)?;
        v.pop()
            .ok_or_else(|| Error::LlamaCpp("llama-bench printed no result".into()))
    }

    /// One process: `reps` prefill runs of `n_prompt` tokens and `reps` decode runs of `n_gen`
    /// tokens (either may be 0) at `depth`, every repetition a sample.
    pub fn run_block(
        &self,
        model: &Path,
        threads: usize,
        depth: usize,
        n_prompt: usize,
        n_gen: usize,
        reps: usize,
    ) -> Result<Vec<Sample>> {
        let out = Command::new(&self.bench)
            .arg("-m")
            .arg(model)
            .args([
                "-t",
                &threads.to_string(),
                "-p",
                &n_prompt.to_string(),
                "-n",
                &n_gen.to_string(),
            ])
            .args([
                "-d",
                &depth.to_string(),
                "-r",
                &reps.max(1).to_string(),
                "-fa",
                &self.fa_arg(),
                "-o",
                "json",
            ])
            .output()
            .map_err(|e| Error::LlamaCpp(format!("cannot run {}: {e}", self.bench.display())))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
            return Err(Error::LlamaCpp(format!(
                "llama-bench failed ({}): {tail}",
                out.status
            )));
        }
        parse(&out.stdout, depth)
    }
}

/// Samples of llama-bench's JSON output (one per repetition per test record).
fn parse(json: &[u8], depth: usize) -> Result<Vec<Sample>> {
    let recs: Vec<Record> = serde_json::from_slice(json)
        .map_err(|e| Error::LlamaCpp(format!("unreadable llama-bench JSON: {e}")))?;
    if recs.is_empty() {
        return Err(Error::LlamaCpp("llama-bench printed no result".into()));
    }
    let mut v = Vec::new();
    for r in recs {
        let (test, tokens) = if r.n_prompt > 0 {
            ("pp", r.n_prompt)
        } else {
            ("tg", r.n_gen)
        };
        for ns in r.samples_ns {
            v.push(Sample {
                kv: label(r.flash_attn),
                depth: r.n_depth.max(depth),
                test,
                tokens,
                secs: ns / 1e9,
                attn_secs: f64::NAN,
            });
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields we read, as llama-bench 0c1e570 prints them (trimmed).
    #[test]
    fn parses_llama_bench_json() -> Result<()> {
        let j = br#"[{"n_prompt": 512, "n_gen": 0, "n_depth": 4096, "flash_attn": 0, "avg_ts": 50.0, "samples_ns": [1000000000, 2000000000]},
                     {"n_prompt": 0, "n_gen": 32, "n_depth": 4096, "flash_attn": 1, "samples_ns": [500000000]}]"#;
        let s = parse(j, 4096)?;
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].test, s[0].tokens, s[0].depth), ("pp", 512, 4096));
        assert!((s[1].tps() - 256.0).abs() < 1e-9);
        assert_eq!((s[2].test, s[2].tokens), ("tg", 32));
        assert_eq!(
            (s[0].kv.as_str(), s[2].kv.as_str()),
            ("llama.cpp fa=0", "llama.cpp fa=1")
        );
        assert!((s[2].tps() - 64.0).abs() < 1e-9);
        assert!(parse(b"[]", 0).is_err() && parse(b"not json", 0).is_err());
        Ok(())
    }
}
