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
    let t = logits
        .get(target as usize)
        .copied()
        .unwrap_or(f32::NEG_INFINITY) as f64;
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
        return Err(Error::Config(format!(
            "--context {n_ctx} must be in 4..={}",
            model.config.context_length
        )));
    }
    if tokens.len() < 2 * n_ctx {
        return Err(Error::Config(format!(
            "the text has {} tokens; perplexity with context {n_ctx} needs at least {}",
            tokens.len(),
            2 * n_ctx
        )));
    }
    let max_chunks = tokens.len() / n_ctx;
    let n_chunks = spec.n_chunks.map_or(max_chunks, |c| c.min(max_chunks));
    let first = n_ctx / 2;
    let mut acc = NllSum::default();
    let mut running = Vec::with_capacity(n_chunks);
    for ci in 0..n_chunks {
        let mut chunk = tokens[ci * n_ctx..(ci + 1) * n_ctx].to_vec();
        if let Some(b) = bos {
            chunk[0] = b;
        }
        score_window(model, mode, &chunk, first, spec.batch, &mut acc)?;
        running.push(acc.ppl());
        on_chunk(ci + 1, n_chunks, acc.ppl());
    }
    Ok(acc.result(mode, n_chunks, running))
}

/// Running sums of token NLLs.
#[derive(Debug, Default)]
pub(crate) struct NllSum {
    nll: f64,
    nll2: f64,
    count: usize,
}

impl NllSum {
    fn add(&mut self, x: f64) {
        self.nll += x;
        self.nll2 += x * x;
        self.count += 1;
    }

    pub(crate) fn ppl(&self) -> f64 {
        (self.nll / self.count as f64).exp()
    }

    /// PPL with llama.cpp's ± (`PPL · sqrt(var(NLL)/(count−1))`).
    pub(crate) fn result(&self, mode: &KvMode, chunks: usize, running: Vec<f64>) -> PplResult {
        let mean = self.nll / self.count as f64;
        let var = self.nll2 / self.count as f64 - mean * mean;
        let err = if var > 0.0 && self.count > 1 {
            (var / (self.count - 1) as f64).sqrt()
        } else {
            0.0
        };
        let ppl = mean.exp();
        PplResult {
            kv: mode.to_string(),
            ppl,
            ppl_err: ppl * err,
            count: self.count,
            chunks,
            running,
        }
    }
}

/// Run `window` through a fresh cache of `mode` in micro-batches of `batch`, scoring the
/// predictions of positions `first ..= len−2` (position p predicts `window[p+1]`).
pub(crate) fn score_window(
    model: &Transformer,
    mode: &KvMode,
    window: &[u32],
    first: usize,
    batch: usize,
    acc: &mut NllSum,
) -> Result<()> {
    let n = window.len();
    let (vocab, hd) = (model.config.vocab, model.config.hidden);
    let mut kv = mode.build(&model.config, n)?;
    let mut done = 0;
    for part in window.chunks(batch.max(1)) {
        let hidden = model.forward_hidden(part, kv.as_mut(), Phase::Prefill)?;
        let h = hidden.as_slice().map_err(vkv_model::Error::from)?;
        let (lo, hi) = (first.max(done), (done + part.len()).min(n - 1));
        let mut p = lo;
        while p < hi {
            let q = (p + LOGIT_ROWS).min(hi);
            let logits = model.logits(&h[(p - done) * hd..(q - done) * hd])?;
            for (i, row) in logits
                .as_slice()
                .map_err(vkv_model::Error::from)?
                .chunks_exact(vocab)
                .enumerate()
            {
                acc.add(nll_of(row, window[p + i + 1]));
            }
            p = q;
        }
        done += part.len();
    }
    Ok(())
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
