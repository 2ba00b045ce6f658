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
    /// `wave:r=0.1,e=0.232,cache=3,slow=DIR,...` (see [`WaveConfig::from_kv_str`]).
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
            w if w == "wave" || w.starts_with("wave:") => {
                Ok(Self::Wave(WaveConfig::from_kv_str(w)?))
            }
            other => Err(Error::KvMode(other.to_string())),
        }
    }
}

impl fmt::Display for KvMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dense(KvDtype::F16) => write!(f, "dense"),
            Self::Dense(KvDtype::F32) => write!(f, "dense:f32"),
            // Every knob spelled out, defaults too: results keyed by this name stay meaningful
            // when a default changes.
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
            Self::Wave(w) => Ok(Box::new(WaveKv::new(
                cfg.attn(max_tokens),
                w.clone(),
                KvDtype::F16,
            )?)),
        }
    }

    /// The dense storage type whose prefill this mode's prefill equals: every mode prefills
    /// exactly (indexes are built after the prompt), so a prompt prefilled once into a
    /// [`DenseKv`] of this type can be [`Self::fork`]ed into the mode.
    pub fn prefill_dtype(&self) -> KvDtype {
        match self {
            Self::Dense(dt) => *dt,
            Self::Wave(_) => KvDtype::F16,
        }
    }

    /// `modes` grouped by [`Self::prefill_dtype`], in first-appearance order: each group
    /// shares one prefill.
    pub fn prefill_groups(modes: &[KvMode]) -> Vec<(KvDtype, Vec<&KvMode>)> {
        let mut groups: Vec<(KvDtype, Vec<&KvMode>)> = Vec::new();
        for m in modes {
            match groups.iter_mut().find(|(dt, _)| *dt == m.prefill_dtype()) {
                Some((_, g)) => g.push(m),
                None => groups.push((m.prefill_dtype(), vec![m])),
            }
        }
        groups
    }

    /// A fresh backend of this mode holding the prompt stored in `base`, as if it had
    /// prefilled it itself; call `finish_prefill` next. Lets an evaluation prefill each prompt
    /// once for several modes.
    pub fn fork(
        &self,
        cfg: &ModelConfig,
        max_tokens: usize,
        base: &DenseKv,
    ) -> Result<Box<dyn KvBackend>> {
        if base.dtype() != self.prefill_dtype() {
            return Err(Error::Request(format!(
                "KV mode {self} cannot continue a {:?} prefill",
                base.dtype()
            )));
        }
        let attn = cfg.attn(max_tokens);
        fn fill(
            n_layers: usize,
            base: &DenseKv,
            mut push: impl FnMut(usize, &[f32], &[f32]) -> vkv_kv::Result<()>,
        ) -> Result<()> {
            for l in 0..n_layers {
                let (k, v) = base.layer_f32(l)?;
                push(l, &k, &v)?;
            }
            Ok(())
        }
        Ok(match self {
            Self::Dense(dt) => {
                let mut d = DenseKv::new(attn, *dt)?;
                fill(attn.n_layers, base, |l, k, v| d.push_kv(l, k, v))?;
                Box::new(d) as Box<dyn KvBackend>
            }
            Self::Wave(w) => {
                let mut d = WaveKv::new(attn, w.clone(), KvDtype::F16)?;
                fill(attn.n_layers, base, |l, k, v| d.push_kv(l, k, v))?;
                Box::new(d) as Box<dyn KvBackend>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() -> Result<()> {
        assert_eq!(
            KvMode::parse_list("dense, dense:f32")?,
            vec![KvMode::Dense(KvDtype::F16), KvMode::Dense(KvDtype::F32)]
        );
        let l = KvMode::parse_list("dense,wave:r=0.05,e=0.1,wave")?;
        assert_eq!(l.len(), 3);
        assert!(
            matches!(&l[1], KvMode::Wave(c) if c.retrieval_budget == 0.05 && c.estimation_budget == 0.1)
        );
        assert_eq!(l[2].to_string(), WaveConfig::default().to_kv_string());
        assert_eq!(
            l[2].to_string().parse::<KvMode>()?,
            l[2],
            "the name parses back to the same mode"
        );
        assert!(KvMode::parse_list("wave:bogus=1").is_err());
        assert!("wavy".parse::<KvMode>().is_err());
        assert_eq!(KvMode::default().to_string(), "dense");
        Ok(())
    }

    fn tensor(shape: &[usize], seed: f32) -> Result<vkv_kernels::Tensor> {
        let n = shape.iter().product::<usize>();
        // Smooth in position with a per-tensor phase: clusterable, deterministic.
        Ok(vkv_kernels::Tensor::from_vec(
            shape,
            (0..n)
                .map(|i| ((i as f32) * 0.37 + seed).sin() * ((i % 7) as f32 * 0.3 + 0.2))
                .collect(),
        )?)
    }

    /// A wave (or dense) cache forked from a dense prefill answers decode steps exactly like
    /// one that prefilled the prompt itself (the evaluation runner relies on it).
    #[test]
    fn fork_equals_own_prefill() -> Result<()> {
        use vkv_kv::{Phase, Qkv};
        let cfg = ModelConfig {
            arch: vkv_model::Arch::Llama,
            n_layers: 2,
            hidden: 64,
            ffn: 128,
            n_heads: 4,
            n_kv_heads: 2,
            head_dim: 16,
            vocab: 8,
            context_length: 4096,
            rms_eps: 1e-5,
            rope_theta: 1e4,
            rope_style: vkv_kernels::ops::RopeStyle::Neox,
        };
        let (n, cap) = (1500, 1600);
        let wave: KvMode = "wave:window=16,update=64,segment=512".parse()?;
        for mode in [wave, KvMode::Dense(KvDtype::F16)] {
            let mut own = mode.build(&cfg, cap)?;
            let mut base = DenseKv::new(cfg.attn(cap), KvDtype::F16)?;
            for l in 0..2 {
                let (q, k, v) = (
                    tensor(&[n, 4, 16], l as f32)?,
                    tensor(&[n, 2, 16], 1.0 + l as f32)?,
                    tensor(&[n, 2, 16], 2.0 + l as f32)?,
                );
                let qkv = Qkv {
                    q: &q,
                    k: &k,
                    v: &v,
                };
                own.attend(l, qkv, Phase::Prefill)?;
                base.attend(l, qkv, Phase::Prefill)?;
            }
            let mut forked = mode.fork(&cfg, cap, &base)?;
            own.finish_prefill()?;
            forked.finish_prefill()?;
            assert_eq!(forked.n_tokens(), n);
            for step in 0..3 {
                for l in 0..2 {
                    let s = 10.0 + (step * 2 + l) as f32;
                    let (q, k, v) = (
                        tensor(&[1, 4, 16], s)?,
                        tensor(&[1, 2, 16], s + 0.5)?,
                        tensor(&[1, 2, 16], s + 0.7)?,
                    );
                    let a = own.attend(
                        l,
                        Qkv {
                            q: &q,
                            k: &k,
                            v: &v,
                        },
                        Phase::Decode,
                    )?;
                    let b = forked.attend(
                        l,
                        Qkv {
                            q: &q,
                            k: &k,
                            v: &v,
                        },
                        Phase::Decode,
                    )?;
                    assert_eq!(a.as_slice()?, b.as_slice()?, "{mode} step {step} layer {l}");
                }
            }
        }
        let modes = KvMode::parse_list("dense,dense:f32,wave")?;
        let groups = KvMode::prefill_groups(&modes);
        assert_eq!(
            groups
                .iter()
                .map(|(dt, g)| (*dt, g.len()))
                .collect::<Vec<_>>(),
            vec![(KvDtype::F16, 2), (KvDtype::F32, 1)]
        );
        assert!(
            KvMode::Dense(KvDtype::F32)
                .fork(&cfg, 8, &DenseKv::new(cfg.attn(8), KvDtype::F16)?)
                .is_err(),
            "dtype mismatch"
        );
        Ok(())
    }
}
