//! Speed at depth: prefill `n_prompt` new tokens, and decode `n_gen` tokens, after `depth`
//! tokens are already in the KV cache.
//!
//! Mirrors llama-bench: random token ids; the depth is filled once per (mode, depth) and the
//! cache is truncated back to it before every repetition, so only the measured work is timed.
//! The fill is untimed but not free (a 32K depth is ~8 minutes of prefill on two cores), so it
//! can be saved and loaded through a [`PrefillStore`] keyed by the depth's tokens.

use std::time::Instant;

use serde::Serialize;
use vkv_engine::KvMode;
use vkv_kv::{DenseKv, KvBackend, Phase};

use crate::prefill_store::PrefillStore;
use crate::timed::TimedKv;
use vkv_model::{Logits, Transformer};

use crate::Result;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Context depths.
    pub depths: Vec<usize>,
    /// KV modes.
    pub modes: Vec<KvMode>,
    /// New prompt tokens per prefill measurement (llama-bench `-p`).
    pub n_prompt: usize,
    /// Generated tokens per decode measurement (llama-bench `-n`).
    pub n_gen: usize,
    /// Prefill micro-batch.
    pub chunk: usize,
    /// Seed of the random tokens.
    pub seed: u64,
}

/// One measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// KV mode.
    pub kv: String,
    /// Depth.
    pub depth: usize,
    /// "pp" or "tg".
    pub test: &'static str,
    /// Tokens processed.
    pub tokens: usize,
    /// Seconds.
    pub secs: f64,
    /// Seconds inside the KV backend's `attend` (all layers; NaN when not measured).
    pub attn_secs: f64,
}

impl Sample {
    /// Tokens per second.
    pub fn tps(&self) -> f64 {
        self.tokens as f64 / self.secs.max(1e-12)
    }
}

/// Pseudo-random token ids (SplitMix64), uniform over the vocabulary.
pub fn random_tokens(n: usize, vocab: usize, seed: u64) -> Vec<u32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % vocab.max(1) as u64) as u32
        })
        .collect()
}

/// A KV cache filled to `depth`, ready for repeated measurements.
pub struct Prepared {
    kv: TimedKv,
    depth: usize,
    mode: String,
}

/// Caches for `modes`, each holding `depth` random tokens (untimed; progress through
/// `on_chunk(tokens_done)`). The depth is filled once per prefill storage type into a dense
/// cache and forked into each mode ([`KvMode::fork`]: every mode prefills exactly, so this
/// equals filling each), then indexes are built (untimed). A fill saved in `store` is loaded
/// instead (the store must belong to this model: it checks shapes, not weights), and with a
/// saving store a new fill is saved.
pub fn prepare_modes(
    model: &Transformer,
    modes: &[KvMode],
    depth: usize,
    spec: &BenchSpec,
    store: Option<&PrefillStore>,
    on_chunk: &mut dyn FnMut(usize),
) -> Result<Vec<Prepared>> {
    let cap = depth + spec.n_prompt.max(spec.n_gen) + 1;
    let toks = random_tokens(depth, model.config.vocab, spec.seed);
    let mut out = Vec::new();
    for (dt, group) in KvMode::prefill_groups(modes) {
        let attn = model.config.attn(cap);
        let saved = match store {
            Some(s) if depth > 0 => s.load(&toks, dt, attn)?,
            _ => None,
        };
        let base = match saved {
            Some(b) => b,
            None => {
                let mut b = DenseKv::new(attn, dt)?;
                if depth > 0 {
                    vkv_engine::prefill(model, &mut b, &toks, spec.chunk, on_chunk)?;
                    if let Some(s) = store {
                        s.save(&toks, &b)?;
                    }
                }
                b
            }
        };
        for mode in group {
            let mut kv = mode.fork(&model.config, cap, &base)?;
            kv.finish_prefill()?;
            out.push(Prepared {
                kv: TimedKv::new(kv),
                depth,
                mode: mode.to_string(),
            });
        }
    }
    Ok(out)
}

impl Prepared {
    /// The KV mode's name.
    pub fn mode(&self) -> &str {
        &self.mode
    }

    /// Time one prefill of `n_prompt` tokens at this depth.
    pub fn run_pp(&mut self, model: &Transformer, spec: &BenchSpec, rep: u64) -> Result<Sample> {
        self.kv.truncate(self.depth)?;
        let toks = random_tokens(
            spec.n_prompt,
            model.config.vocab,
            spec.seed ^ (rep + 1).wrapping_mul(7919),
        );
        self.kv.reset();
        let t0 = Instant::now();
        for c in toks.chunks(spec.chunk.max(1)) {
            model.forward(c, &mut self.kv, Phase::Prefill, Logits::None)?;
        }
        let secs = t0.elapsed().as_secs_f64();
        Ok(Sample {
            kv: self.mode.clone(),
            depth: self.depth,
            test: "pp",
            tokens: spec.n_prompt,
            secs,
            attn_secs: self.kv.attend_secs(),
        })
    }

    /// Time `n_gen` single-token forward passes (logits of the last token included).
    pub fn run_tg(&mut self, model: &Transformer, spec: &BenchSpec, rep: u64) -> Result<Sample> {
        self.kv.truncate(self.depth)?;
        let toks = random_tokens(
            spec.n_gen,
            model.config.vocab,
            spec.seed ^ (rep + 1).wrapping_mul(104_729),
        );
        self.kv.reset();
        let t0 = Instant::now();
        for &t in &toks {
            model.forward(&[t], &mut self.kv, Phase::Decode, Logits::Last)?;
        }
        let secs = t0.elapsed().as_secs_f64();
        Ok(Sample {
            kv: self.mode.clone(),
            depth: self.depth,
            test: "tg",
            tokens: spec.n_gen,
            secs,
            attn_secs: self.kv.attend_secs(),
        })
    }

    /// Bytes the cache holds, per tier.
    pub fn memory(&self) -> vkv_kv::MemoryUsage {
        self.kv.memory()
    }

    /// The fast tier's cluster hit rate over the runs so far (wave with a file slow tier).
    pub fn fast_tier_hit_rate(&self) -> Option<f64> {
        self.kv.fast_tier_hit_rate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_seeded_and_in_range() {
        let a = random_tokens(1000, 50, 1);
        assert_eq!(a, random_tokens(1000, 50, 1));
        assert_ne!(a, random_tokens(1000, 50, 2));
        assert!(a.iter().all(|t| *t < 50));
        assert!((0..50).all(|t| a.contains(&t)));
    }
}
