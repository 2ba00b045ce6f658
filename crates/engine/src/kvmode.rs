//! KV modes by name: what `--kv` accepts.

use std::fmt;
use std::str::FromStr;

use vkv_kv::{DenseKv, KvBackend, KvDtype};
use vkv_model::ModelConfig;

use crate::{Error, Result};

/// A KV backend configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum KvMode {
    /// Exact attention over every token (the oracle), f16 or f32 storage.
    Dense(KvDtype),
}

impl Default for KvMode {
    fn default() -> Self {
        Self::Dense(KvDtype::F16)
    }
}

impl FromStr for KvMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "dense" | "dense:f16" => Ok(Self::Dense(KvDtype::F16)),
            "dense:f32" => Ok(Self::Dense(KvDtype::F32)),
            other => Err(Error::KvMode(other.to_string())),
        }
    }
}

impl fmt::Display for KvMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dense(KvDtype::F16) => write!(f, "dense"),
            Self::Dense(KvDtype::F32) => write!(f, "dense:f32"),
        }
    }
}

impl KvMode {
    /// Parse a comma list (`--kv dense,wave`).
    pub fn parse_list(s: &str) -> Result<Vec<Self>> {
        s.split(',').filter(|x| !x.trim().is_empty()).map(str::parse).collect()
    }

    /// A fresh backend for one sequence of at most `max_tokens`.
    pub fn build(&self, cfg: &ModelConfig, max_tokens: usize) -> Result<Box<dyn KvBackend>> {
        match self {
            Self::Dense(dt) => Ok(Box::new(DenseKv::new(cfg.attn(max_tokens), *dt)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() -> Result<()> {
        assert_eq!(KvMode::parse_list("dense, dense:f32")?, vec![KvMode::Dense(KvDtype::F16), KvMode::Dense(KvDtype::F32)]);
        assert!("wavy".parse::<KvMode>().is_err());
        assert_eq!(KvMode::default().to_string(), "dense");
        Ok(())
    }
}
