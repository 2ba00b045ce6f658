//! Model hyperparameters, read from GGUF metadata or an HF `config.json`.

use vkv_kernels::ops::RopeStyle;

use crate::gguf::GgufFile;
use crate::{Error, Result};

/// The architectures we run. Both are pre-norm decoder-only transformers with GQA, RMSNorm and
/// SwiGLU; Qwen2 adds biases on Q/K/V and uses NEOX RoPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Llama family (SmolLM2, Llama 2/3, Mistral).
    Llama,
    /// Qwen2 / Qwen2.5.
    Qwen2,
}

impl Arch {
    /// Parse `general.architecture` / HF `model_type`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "llama" | "mistral" => Ok(Self::Llama),
            "qwen2" => Ok(Self::Qwen2),
            other => Err(Error::UnsupportedArch(other.to_string())),
        }
    }

    /// Name as in GGUF.
    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
        }
    }
}

/// Hyperparameters of a loaded model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Architecture.
    pub arch: Arch,
    /// Layers.
    pub n_layers: usize,
    /// Hidden size.
    pub hidden: usize,
    /// FFN inner size.
    pub ffn: usize,
    /// Query heads.
    pub n_heads: usize,
    /// KV heads.
    pub n_kv_heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// Vocabulary size (rows of the embedding).
    pub vocab: usize,
    /// Trained context length.
    pub context_length: usize,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// RoPE base.
    pub rope_theta: f32,
    /// RoPE pairing convention.
    pub rope_style: RopeStyle,
}

impl ModelConfig {
    /// Read from GGUF metadata (`<arch>.*` keys); `vocab` from the embedding's shape.
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let arch = Arch::parse(g.get_str("general.architecture")?)?;
        let a = arch.name();
        let key = |k: &str| format!("{a}.{k}");
        let usize_of = |k: &str| -> Result<usize> { Ok(g.get_u64(&key(k))? as usize) };
        let hidden = usize_of("embedding_length")?;
        let n_heads = usize_of("attention.head_count")?;
        let n_kv_heads = g
            .get(&key("attention.head_count_kv"))
            .and_then(|v| v.as_u64())
            .map_or(n_heads, |v| v as usize);
        let head_dim = g
            .get(&key("attention.key_length"))
            .and_then(|v| v.as_u64())
            .map_or_else(|| hidden.checked_div(n_heads).unwrap_or(0), |v| v as usize);
        let vocab = g
            .tensor_info("token_embd.weight")
            .and_then(|t| t.dims.get(1).copied())
            .ok_or_else(|| Error::Config("token_embd.weight missing or not 2-D".into()))?
            as usize;
        let cfg = Self {
            arch,
            n_layers: usize_of("block_count")?,
            hidden,
            ffn: usize_of("feed_forward_length")?,
            n_heads,
            n_kv_heads,
            head_dim,
            vocab,
            context_length: usize_of("context_length")?,
            rms_eps: g.get_f64(&key("attention.layer_norm_rms_epsilon"))? as f32,
            rope_theta: g
                .get(&key("rope.freq_base"))
                .and_then(|v| v.as_f64())
                .unwrap_or(10000.0) as f32,
            rope_style: match arch {
                Arch::Llama => RopeStyle::Interleaved,
                Arch::Qwen2 => RopeStyle::Neox,
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check the shapes fit together.
    pub fn validate(&self) -> Result<()> {
        let ok = self.n_layers > 0
            && self.n_heads > 0
            && self.n_kv_heads > 0
            && self.n_heads.is_multiple_of(self.n_kv_heads)
            && self.head_dim > 0
            && self.head_dim.is_multiple_of(2)
            && self.hidden > 0
            && self.ffn > 0
            && self.vocab > 0;
        if !ok {
            return Err(Error::Config(format!(
                "inconsistent hyperparameters {self:?}"
            )));
        }
        Ok(())
    }

    /// The attention geometry for a KV backend holding up to `max_tokens`.
    pub fn attn(&self, max_tokens: usize) -> vkv_kv::AttnConfig {
        vkv_kv::AttnConfig {
            n_layers: self.n_layers,
            n_q_heads: self.n_heads,
            n_kv_heads: self.n_kv_heads,
            head_dim: self.head_dim,
            max_tokens,
        }
    }
}
