//! Chunked prefill and the decode loop.

use std::ops::ControlFlow;
use std::time::Instant;

use vkv_kv::{KvBackend, Phase};
use vkv_model::{Logits, Transformer};

use crate::sampling::Sampler;
use crate::{Error, Result};

/// Prompt tokens per forward pass during prefill (llama.cpp's default micro-batch).
pub const PREFILL_CHUNK: usize = 512;

/// Timings of one generation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GenStats {
    /// Prompt tokens prefilled.
    pub prompt_tokens: usize,
    /// Seconds spent in prefill.
    pub prefill_secs: f64,
    /// Tokens generated.
    pub gen_tokens: usize,
    /// Seconds spent decoding (the first token's sampling included).
    pub decode_secs: f64,
}

impl GenStats {
    /// Prefill tokens per second.
    pub fn prefill_tps(&self) -> f64 {
        self.prompt_tokens as f64 / self.prefill_secs.max(1e-9)
    }
    /// Decode tokens per second.
    pub fn decode_tps(&self) -> f64 {
        self.gen_tokens as f64 / self.decode_secs.max(1e-9)
    }
}

/// Run `tokens` through the model in chunks, calling `on_chunk(done)` after each; returns the
/// last token's logits and calls `kv.finish_prefill()` at the end.
pub fn prefill(
    model: &Transformer,
    kv: &mut dyn KvBackend,
    tokens: &[u32],
    chunk: usize,
    on_chunk: &mut dyn FnMut(usize),
) -> Result<Vec<f32>> {
    if tokens.is_empty() {
        return Err(Error::Request("the prompt is empty".into()));
    }
    let chunk = chunk.max(1);
    let mut last = Vec::new();
    let mut done = 0;
    for c in tokens.chunks(chunk) {
        let want = if done + c.len() == tokens.len() {
            Logits::Last
        } else {
            Logits::None
        };
        let out = model.forward(c, kv, Phase::Prefill, want)?;
        done += c.len();
        on_chunk(done);
        if want == Logits::Last {
            last = out.into_vec()?;
        }
    }
    kv.finish_prefill()?;
    Ok(last)
}

/// What to generate.
pub struct GenerateOptions<'a> {
    /// Tokens to generate at most.
    pub max_tokens: usize,
    /// The sampler (owns its RNG state).
    pub sampler: Sampler,
    /// End-of-generation test (the token is not emitted).
    pub is_eog: &'a dyn Fn(u32) -> bool,
}

/// Prefill `prompt` (appended after what `kv` already holds), then sample up to `max_tokens`,
/// calling `on_token` for each generated token (return `ControlFlow::Break` to stop).
pub fn generate(
    model: &Transformer,
    kv: &mut dyn KvBackend,
    prompt: &[u32],
    opts: GenerateOptions<'_>,
    on_prefill: &mut dyn FnMut(usize),
    on_token: &mut dyn FnMut(u32) -> ControlFlow<()>,
) -> Result<(Vec<u32>, GenStats)> {
    let GenerateOptions {
        max_tokens,
        mut sampler,
        is_eog,
    } = opts;
    let total = kv.n_tokens() + prompt.len() + max_tokens;
    if total > model.config.context_length {
        return Err(Error::Request(format!(
            "prompt ({} tokens) plus --max-tokens {max_tokens} exceeds the model's context length {}",
            prompt.len(),
            model.config.context_length
        )));
    }
    let t0 = Instant::now();
    let mut logits = prefill(model, kv, prompt, PREFILL_CHUNK, on_prefill)?;
    let mut stats = GenStats {
        prompt_tokens: prompt.len(),
        prefill_secs: t0.elapsed().as_secs_f64(),
        ..GenStats::default()
    };
    let t1 = Instant::now();
    let mut history: Vec<u32> = prompt.to_vec();
    let mut out = Vec::new();
    for i in 0..max_tokens {
        let tok = sampler.sample(&logits, &history);
        if is_eog(tok) {
            break;
        }
        out.push(tok);
        history.push(tok);
        if on_token(tok).is_break() || i + 1 == max_tokens {
            break;
        }
        logits = model
            .forward(&[tok], kv, Phase::Decode, Logits::Last)?
            .into_vec()?;
    }
    stats.gen_tokens = out.len();
    stats.decode_secs = t1.elapsed().as_secs_f64();
    Ok((out, stats))
}
