//! Sliding-window perplexity: windows of `n_ctx` tokens starting every `stride` tokens; each
//! window scores the predictions of its last `stride` tokens (the first window scores all of
//! its second half, as llama-perplexity does), so every scored token sees at least
//! `n_ctx − stride` tokens of context and no token is scored twice. With `stride = n_ctx/2`
//! this is llama-perplexity's scoring with overlapping windows.

use vkv_engine::KvMode;
use vkv_model::Transformer;

use crate::ppl::{score_window, NllSum, PplResult};
use crate::{Error, Result};

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
pub fn perplexity_sliding(
    model: &Transformer,
    tokens: &[u32],
    mode: &KvMode,
    spec: SlidingSpec,
    on_window: &mut dyn FnMut(usize, usize, f64),
) -> Result<PplResult> {
    let SlidingSpec {
        n_ctx,
        stride,
        n_windows,
        batch,
    } = spec;
    if n_ctx < 4 || n_ctx > model.config.context_length {
        return Err(Error::Config(format!(
            "--context {n_ctx} must be in 4..={}",
            model.config.context_length
        )));
    }
    if stride == 0 || stride > n_ctx / 2 {
        return Err(Error::Config(format!(
            "--stride {stride} must be in 1..={}",
            n_ctx / 2
        )));
    }
    if tokens.len() < n_ctx + stride {
        return Err(Error::Config(format!("the text has {} tokens; a sliding window of {n_ctx} with stride {stride} needs at least {}", tokens.len(), n_ctx + stride)));
    }
    let max_windows = (tokens.len() - n_ctx) / stride + 1;
    let n = n_windows.map_or(max_windows, |w| w.min(max_windows));
    let mut acc = NllSum::default();
    let mut running = Vec::with_capacity(n);
    for w in 0..n {
        let start = w * stride;
        // Positions p predict token p+1; score p in [first, n_ctx-2].
        let first = if w == 0 {
            n_ctx / 2
        } else {
            n_ctx - stride - 1
        };
        score_window(
            model,
            mode,
            &tokens[start..start + n_ctx],
            first,
            batch,
            &mut acc,
        )?;
        running.push(acc.ppl());
        on_window(w + 1, n, acc.ppl());
    }
    Ok(acc.result(mode, n, running))
}
