//! Perplexity, computed exactly the way `llama-perplexity` does it.
//!
//! The text is tokenized once (BOS only if the vocabulary adds one). It is cut into
//! non-overlapping chunks of `n_ctx` tokens (at most `n_chunks`). Each chunk runs on a fresh KV
//! cache, its first token replaced by BOS when the model adds BOS. Only the second half is
//! scored: the logits at positions `n_ctx/2 .. n_ctx−2` predict the next token, so a chunk gives
//! `n_ctx − n_ctx/2 − 1` predictions. PPL = exp(mean NLL); the ± is llama.cpp's
//! `PPL · sqrt(var(NLL)/(count−1))`.

use serde::Serialize;
use vkv_engine::KvMode;
use vkv_kv::Phase;
use vkv_model::Transformer;

use crate::{Error, Result};

/// Rows of logits projected at once (bounds memory: 64 × vocab floats).
const LOGIT_ROWS: usize = 64;

/// Parameters.
#[derive(Debug, Clone)]
pub struct PplSpec {
    /// Tokens per chunk.
    pub n_ctx: usize,
    /// Chunks at most (None = all whole chunks).
    pub n_chunks: Option<usize>,
    /// Prefill micro-batch.
    pub batch: usize,
}

/// The result.
#[derive(Debug, Clone, Serialize)]
pub struct PplResult {
    /// KV mode.
    pub kv: String,
    /// Perplexity.
    pub ppl: f64,
    /// Its ± (one standard error).
    pub ppl_err: f64,
    /// Predictions scored.
    pub count: usize,
    /// Chunks evaluated.
    pub chunks: usize,
    /// Running PPL after each chunk (llama-perplexity prints the same `[i]ppl` series).
    pub running: Vec<f64>,
}

/// −log softmax(logits)[target], in f64.
pub fn nll_of(logits: &[f32], target: u32) -> f64 {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits.iter().map(|x| (*x as f64 - m).exp()).sum();
    let t = logits.get(target as usize).copied().unwrap_or(f32::NEG_INFINITY) as f64;
    (m + z.ln()) - t
}

/// Perplexity of `tokens` (already tokenized, BOS included iff the model adds it).
pub fn perplexity(
    model: &Transformer,
    tokens: &[u32],
    bos: Option<u32>,
    mode: &KvMode,
    spec: &PplSpec,
    on_chunk: &mut dyn FnMut(usize, usize, f64),
) -> Result<PplResult> {
    let n_ctx = spec.n_ctx;
    if n_ctx < 4 || n_ctx > model.config.context_length {
        return Err(Error::Config(format!("--context {n_ctx} must be in 4..={}", model.config.context_length)));
    }
    if tokens.len() < 2 * n_ctx {
        return Err(Error::Config(format!("the text has {} tokens; perplexity with context {n_ctx} needs at least {}", tokens.len(), 2 * n_ctx)));
    }
    let max_chunks = tokens.len() / n_ctx;
    let n_chunks = spec.n_chunks.map_or(max_chunks, |c| c.min(max_chunks));
    let first = n_ctx / 2;
    let (mut nll, mut nll2, mut count) = (0.0f64, 0.0f64, 0usize);
    let mut running = Vec::with_capacity(n_chunks);
    for ci in 0..n_chunks {
        let mut chunk = tokens[ci * n_ctx..(ci + 1) * n_ctx].to_vec();
        if let Some(b) = bos {
            chunk[0] = b;
        }
        let mut kv = mode.build(&model.config, n_ctx)?;
        let mut done = 0;
        for part in chunk.chunks(spec.batch.max(1)) {
            let hidden = model.forward_hidden(part, kv.as_mut(), Phase::Prefill)?;
            let h = hidden.as_slice().map_err(vkv_model::Error::from)?;
            let hd = model.config.hidden;
            // Positions done..done+len; score those in [first, n_ctx-2].
            let lo = first.max(done);
            let hi = (done + part.len()).min(n_ctx - 1);
            let mut p = lo;
            while p < hi {
                let q = (p + LOGIT_ROWS).min(hi);
                let logits = model.logits(&h[(p - done) * hd..(q - done) * hd])?;
                let l = logits.as_slice().map_err(vkv_model::Error::from)?;
                for (i, row) in l.chunks_exact(model.config.vocab).enumerate() {
                    let x = nll_of(row, tokens[ci * n_ctx + p + i + 1]);
                    nll += x;
                    nll2 += x * x;
                    count += 1;
                }
                p = q;
            }
            done += part.len();
        }
        let ppl = (nll / count as f64).exp();
        running.push(ppl);
        on_chunk(ci + 1, n_chunks, ppl);
    }
    let mean = nll / count as f64;
    let var = nll2 / count as f64 - mean * mean;
    let err = if var > 0.0 && count > 1 { (var / (count - 1) as f64).sqrt() } else { 0.0 };
    let ppl = mean.exp();
    Ok(PplResult { kv: mode.to_string(), ppl, ppl_err: ppl * err, count, chunks: n_chunks, running })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nll_is_log_softmax() {
        let l = [1.0f32, 2.0, 3.0];
        let z: f64 = l.iter().map(|x| (*x as f64).exp()).sum();
        assert!((nll_of(&l, 2) - (z.ln() - 3.0)).abs() < 1e-12);
        assert!(nll_of(&l, 7).is_infinite());
    }
}
