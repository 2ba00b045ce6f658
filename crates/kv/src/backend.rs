//! The contract between the model and its attention memory.

use vkv_kernels::Tensor;

use crate::config::AttnConfig;
use crate::{Error, Result};

/// Which phase a call belongs to: backends index after prefill and answer decode queries from
/// the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A chunk of the prompt.
    Prefill,
    /// One generated token (or a few, for speculative decoding).
    Decode,
}

/// The new tokens of one layer, post-RoPE.
///
/// Layouts are token-major, as a matmul produces them:
/// `q: [n_new, n_q_heads, d]`, `k, v: [n_new, n_kv_heads, d]`.
#[derive(Debug, Clone, Copy)]
pub struct Qkv<'a> {
    /// Queries.
    pub q: &'a Tensor,
    /// Keys.
    pub k: &'a Tensor,
    /// Values.
    pub v: &'a Tensor,
}

impl Qkv<'_> {
    /// The number of new tokens, after checking that q, k and v hold that many tokens' heads
    /// for `c` (`[n_new, n_q_heads, d]`, `[n_new, n_kv_heads, d]` twice).
    pub fn n_new(&self, c: &AttnConfig) -> Result<usize> {
        let (d, hq, hk) = (c.head_dim, c.n_q_heads, c.n_kv_heads);
        let n_new = self.q.shape().first().copied().unwrap_or(0);
        if self.q.len() != n_new * hq * d
            || self.k.len() != n_new * hk * d
            || self.v.len() != n_new * hk * d
        {
            return Err(Error::Shape(format!(
                "q {:?} k {:?} v {:?} for {hq}/{hk} heads of {d}",
                self.q.shape(),
                self.k.shape(),
                self.v.shape()
            )));
        }
        Ok(n_new)
    }
}

/// Bytes held, per memory tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Fast tier (RAM on CPU, device memory on GPU): caches, steady zones, indexes.
    pub fast_bytes: usize,
    /// Slow tier (host RAM behind a GPU, or a memory-mapped file behind RAM).
    pub slow_bytes: usize,
    /// Index metadata (centroids, graphs, codebooks).
    pub index_bytes: usize,
}

/// The attention memory of ONE sequence, all layers. [`crate::DenseKv`] is exact: the oracle.
pub trait KvBackend: Send {
    /// Store the new tokens' K/V for `layer` at positions `n_tokens() ..` and return the
    /// attention output over everything stored so far (causal), `[n_new, n_q_heads, d]`.
    ///
    /// The sequence length advances once every layer has been called for the same tokens:
    /// callers call layers in order 0..n_layers for each chunk.
    fn attend(&mut self, layer: usize, qkv: Qkv<'_>, phase: Phase) -> Result<Tensor>;
    /// After the last prefill chunk: build indexes, quantize, place tiers.
    fn finish_prefill(&mut self) -> Result<()> {
        Ok(())
    }
    /// Tokens stored (complete across all layers).
    fn n_tokens(&self) -> usize;
    /// Forget tokens at positions `n..`.
    fn truncate(&mut self, n: usize) -> Result<()>;
    /// Bytes per tier.
    fn memory(&self) -> MemoryUsage;
    /// Fraction of retrieved clusters found in the fast tier so far, for backends whose fast
    /// tier caches a slow one (`None` for the others).
    fn fast_tier_hit_rate(&self) -> Option<f64> {
        None
    }
}
