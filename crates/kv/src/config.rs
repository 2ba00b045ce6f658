//! The attention geometry a backend is built for.

/// Per-model attention shape shared by all layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttnConfig {
    /// Layers.
    pub n_layers: usize,
    /// Query heads.
    pub n_q_heads: usize,
    /// KV heads (GQA: `n_q_heads` is a multiple).
    pub n_kv_heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// Maximum tokens a sequence may hold.
    pub max_tokens: usize,
}

impl AttnConfig {
    /// Query heads per KV head.
    pub fn group(&self) -> usize {
        self.n_q_heads / self.n_kv_heads.max(1)
    }

    /// 1/√d.
    pub fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }
}
