//! Sliding-window perplexity: windows of `n_ctx` tokens starting every `stride` tokens; each
//! window scores the predictions of its last `stride` tokens (the first window scores all of
//! its second half, as llama-perplexity does), so every scored token sees at least
//! `n_ctx − stride` tokens of context and no token is scored twice. With `stride = n_ctx/2`
//! this is llama-perplexity's scoring with overlapping windows.

use vkv_engine::KvMode;
use vkv_kv::Phase;
use vkv_model::Transformer;

use crate::ppl::{nll_of, PplResult};
use crate::{Error, Result};

/// Rows of logits projected at once.
const LOGIT_ROWS: usize = 64;

/// Window geometry.
#[derive(Debug, Clone, Copy)]
pub struct SlidingSpec {
    /// Tokens per window.
    pub n_ctx: usize,
    /// Tokens between window starts (and scored per window after the first).
    pub stride: usize,
    /// Windows at most (None = all).
    pub n_windows: Option<usize>,
    /// Prefill micro-batch.
    pub batch: usize,
}

/// Sliding-window perplexity of `tokens`.
pub fn perplexity_sliding(model: &Transformer, tokens: &[u32], mode: &KvMode, spec: SlidingSpec, on_window: &mut dyn FnMut(usize, usize, f64)) -> Result<PplResult> {
    let SlidingSpec { n_ctx, stride, n_windows, batch } = spec;
    if n_ctx < 4 || n_ctx > model.config.context_length {
        return Err(Error::Config(format!("--context {n_ctx} must be in 4..={}", model.config.context_length)));
    }
    if stride == 0 || stride > n_ctx / 2 {
        return Err(Error::Config(format!("--stride {stride} must be in 1..={}", n_ctx / 2)));
    }
    if tokens.len() < n_ctx + stride {
        return Err(Error::Config(format!("the text has {} tokens; a sliding window of {n_ctx} with stride {stride} needs at least {}", tokens.len(), n_ctx + stride)));
    }
    let max_windows = (tokens.len() - n_ctx) / stride + 1;
    let n = n_windows.map_or(max_windows, |w| w.min(max_windows));
    let (mut nll, mut nll2, mut count) = (0.0f64, 0.0f64, 0usize);
    let mut running = Vec::with_capacity(n);
    let vocab = model.config.vocab;
    let hd = model.config.hidden;
    for w in 0..n {
        let start = w * stride;
        let chunk = &tokens[start..start + n_ctx];
        // Positions p predict token p+1; score p in [first, n_ctx-2].
        let first = if w == 0 { n_ctx / 2 } else { n_ctx - stride - 1 };
        let mut kv = mode.build(&model.config, n_ctx)?;
        let mut done = 0;
        for part in chunk.chunks(batch.max(1)) {
            let hidden = model.forward_hidden(part, kv.as_mut(), Phase::Prefill)?;
            let h = hidden.as_slice().map_err(vkv_model::Error::from)?;
            let (lo, hi) = (first.max(done), (done + part.len()).min(n_ctx - 1));
            let mut p = lo;
            while p < hi {
                let q = (p + LOGIT_ROWS).min(hi);
                let logits = model.logits(&h[(p - done) * hd..(q - done) * hd])?;
                for (i, row) in logits.as_slice().map_err(vkv_model::Error::from)?.chunks_exact(vocab).enumerate() {
                    let x = nll_of(row, chunk[p + i + 1]);
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
        on_window(w + 1, n, ppl);
    }
    let mean = nll / count as f64;
    let var = nll2 / count as f64 - mean * mean;
    let err = if var > 0.0 && count > 1 { (var / (count - 1) as f64).sqrt() } else { 0.0 };
    let ppl = mean.exp();
    Ok(PplResult { kv: mode.to_string(), ppl, ppl_err: ppl * err, count, chunks: n, running })
}
