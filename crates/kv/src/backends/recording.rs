//! [`RecordingKv`]: a pass-through backend that records, for selected layers, the post-RoPE
//! q/k/v of every token it sees, tagged by phase. The evaluation harness runs a real model over
//! a real text through it (wrapping the exact [`crate::DenseKv`]), then replays the recorded
//! inputs into each KV mode and compares outputs with exact attention (`vkv eval fidelity`):
//! same activations for every mode, no model in the loop.

use vkv_kernels::Tensor;

use crate::{Error, KvBackend, MemoryUsage, Phase, Qkv, Result};

/// What one layer saw, token-major: `q: [n, n_q_heads, d]`, `k, v: [n, n_kv_heads, d]`.
#[derive(Debug, Clone, Default)]
pub struct LayerRecord {
    /// The model's layer index.
    pub layer: usize,
    /// Queries.
    pub q: Vec<f32>,
    /// Keys.
    pub k: Vec<f32>,
    /// Values.
    pub v: Vec<f32>,
    /// Phase of each token.
    pub phases: Vec<Phase>,
}

impl LayerRecord {
    /// Tokens recorded.
    pub fn len(&self) -> usize {
        self.phases.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.phases.is_empty()
    }
}

/// Wraps a backend and records the inputs of selected layers.
pub struct RecordingKv {
    inner: Box<dyn KvBackend>,
    records: Vec<LayerRecord>,
}

impl RecordingKv {
    /// Record `layers` (model layer indices) of everything passed to `inner`.
    pub fn new(inner: Box<dyn KvBackend>, layers: &[usize]) -> Self {
        Self {
            inner,
            records: layers
                .iter()
                .map(|&layer| LayerRecord {
                    layer,
                    ..LayerRecord::default()
                })
                .collect(),
        }
    }

    /// The records, in the order the layers were given.
    pub fn records(&self) -> &[LayerRecord] {
        &self.records
    }

    /// Take the records (and the wrapped backend).
    pub fn into_parts(self) -> (Box<dyn KvBackend>, Vec<LayerRecord>) {
        (self.inner, self.records)
    }
}

impl KvBackend for RecordingKv {
    fn attend(&mut self, layer: usize, qkv: Qkv<'_>, phase: Phase) -> Result<Tensor> {
        if let Some(r) = self.records.iter_mut().find(|r| r.layer == layer) {
            let n = qkv.q.shape().first().copied().unwrap_or(0);
            if qkv.k.shape().first().copied().unwrap_or(0) != n
                || qkv.v.shape().first().copied().unwrap_or(0) != n
            {
                return Err(Error::Shape(format!(
                    "q {:?} k {:?} v {:?}",
                    qkv.q.shape(),
                    qkv.k.shape(),
                    qkv.v.shape()
                )));
            }
            r.q.extend_from_slice(qkv.q.as_slice()?);
            r.k.extend_from_slice(qkv.k.as_slice()?);
            r.v.extend_from_slice(qkv.v.as_slice()?);
            r.phases.extend(std::iter::repeat_n(phase, n));
        }
        self.inner.attend(layer, qkv, phase)
    }

    fn finish_prefill(&mut self) -> Result<()> {
        self.inner.finish_prefill()
    }

    fn n_tokens(&self) -> usize {
        self.inner.n_tokens()
    }

    fn truncate(&mut self, n: usize) -> Result<()> {
        for r in &mut self.records {
            if r.phases.len() > n {
                let per_q = r.q.len() / r.phases.len().max(1);
                let per_kv = r.k.len() / r.phases.len().max(1);
                r.q.truncate(n * per_q);
                r.k.truncate(n * per_kv);
                r.v.truncate(n * per_kv);
                r.phases.truncate(n);
            }
        }
        self.inner.truncate(n)
    }

    fn memory(&self) -> MemoryUsage {
        self.inner.memory()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttnConfig, DenseKv, KvDtype};

    /// Outputs pass through unchanged; only the selected layer is recorded, with phases;
    /// truncate trims the record.
    #[test]
    fn records_selected_layers() -> Result<()> {
        let cfg = AttnConfig {
            n_layers: 2,
            n_q_heads: 2,
            n_kv_heads: 1,
            head_dim: 4,
            max_tokens: 8,
        };
        let mut rec = RecordingKv::new(Box::new(DenseKv::new(cfg, KvDtype::F32)?), &[1]);
        let mut plain = DenseKv::new(cfg, KvDtype::F32)?;
        let t = |n: usize, h: usize, s: f32| {
            Tensor::from_vec(
                &[n, h, 4],
                (0..n * h * 4)
                    .map(|i| (i as f32 * 0.37 + s).sin())
                    .collect(),
            )
        };
        for (n, phase, s) in [(3, Phase::Prefill, 0.0), (1, Phase::Decode, 1.0)] {
            let (q, k, v) = (t(n, 2, s)?, t(n, 1, s + 0.5)?, t(n, 1, s + 0.7)?);
            for layer in 0..2 {
                let a = rec.attend(
                    layer,
                    Qkv {
                        q: &q,
                        k: &k,
                        v: &v,
                    },
                    phase,
                )?;
                let b = plain.attend(
                    layer,
                    Qkv {
                        q: &q,
                        k: &k,
                        v: &v,
                    },
                    phase,
                )?;
                assert_eq!(a.as_slice()?, b.as_slice()?);
            }
        }
        let r = &rec.records()[0];
        assert_eq!(
            (r.layer, r.len(), r.q.len(), r.k.len()),
            (1, 4, 4 * 8, 4 * 4)
        );
        assert_eq!(
            r.phases,
            vec![
                Phase::Prefill,
                Phase::Prefill,
                Phase::Prefill,
                Phase::Decode
            ]
        );
        rec.truncate(2)?;
        assert_eq!(
            (
                rec.records()[0].len(),
                rec.records()[0].v.len(),
                rec.n_tokens()
            ),
            (2, 8, 2)
        );
        Ok(())
    }
}
