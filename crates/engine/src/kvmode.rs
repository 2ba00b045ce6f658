//! KV modes by name: what `--kv` accepts.

use std::fmt;
use std::str::FromStr;

use vkv_kv::{DenseKv, KvBackend, KvDtype, WaveConfig, WaveKv};
use vkv_model::ModelConfig;

use crate::{Error, Result};

/// A KV backend configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum KvMode {
    /// Exact attention over every token (the oracle), f16 or f32 storage.
    Dense(KvDtype),
    /// RetroInfer's wave index + wave buffer (f16 storage): `wave` or
    /// `wave:r=0.018,e=0.232,cache=3,slow=DIR,...` (see [`WaveConfig::from_kv_str`]).
    Wave(WaveConfig),
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
            w if w == "wave" || w.starts_with("wave:") => Ok(Self::Wave(WaveConfig::from_kv_str(w)?)),
            other => Err(Error::KvMode(other.to_string())),
        }
    }
}

impl fmt::Display for KvMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dense(KvDtype::F16) => write!(f, "dense"),
            Self::Dense(KvDtype::F32) => write!(f, "dense:f32"),
            Self::Wave(c) if *c == WaveConfig::default() => write!(f, "wave"),
            Self::Wave(c) => write!(f, "{}", c.to_kv_string()),
        }
    }
}

impl KvMode {
    /// Parse a list of modes separated by `;` or by `,` (`--kv dense,wave`). A comma that
    /// belongs to a wave option list (`wave:r=0.03,e=0.2`) stays with its mode: a new mode
    /// starts only at a bare name (`dense`, `dense:f32`, `wave`, `wave:`).
    pub fn parse_list(s: &str) -> Result<Vec<Self>> {
        let mut items: Vec<String> = Vec::new();
        for part in s.split([',', ';']).map(str::trim).filter(|x| !x.is_empty()) {
            let starts_mode = part.starts_with("dense") || part.starts_with("wave");
            match items.last_mut() {
                Some(last) if !starts_mode => {
                    last.push(',');
                    last.push_str(part);
                }
                _ => items.push(part.to_string()),
            }
        }
        items.iter().map(|x| x.parse()).collect()
    }

    /// A fresh backend for one sequence of at most `max_tokens`.
    pub fn build(&self, cfg: &ModelConfig, max_tokens: usize) -> Result<Box<dyn KvBackend>> {
        match self {
            Self::Dense(dt) => Ok(Box::new(DenseKv::new(cfg.attn(max_tokens), *dt)?)),
            Self::Wave(w) => Ok(Box::new(WaveKv::new(cfg.attn(max_tokens), w.clone(), KvDtype::F16)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() -> Result<()> {
        assert_eq!(KvMode::parse_list("dense, dense:f32")?, vec![KvMode::Dense(KvDtype::F16), KvMode::Dense(KvDtype::F32)]);
        let l = KvMode::parse_list("dense,wave:r=0.05,e=0.1,wave")?;
        assert_eq!(l.len(), 3);
        assert!(matches!(&l[1], KvMode::Wave(c) if c.retrieval_budget == 0.05 && c.estimation_budget == 0.1));
        assert_eq!(l[2].to_string(), "wave");
        assert!(KvMode::parse_list("wave:bogus=1").is_err());
        assert!("wavy".parse::<KvMode>().is_err());
        assert_eq!(KvMode::default().to_string(), "dense");
        Ok(())
    }
}
