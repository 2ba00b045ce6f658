//! Raw K/V access to [`DenseKv`]: appending K/V without computing attention (loading saved
//! contexts, benchmarks that fill a long context without an O(n²) prefill) — the same storage
//! path `attend` uses, minus the attention.

use vkv_kernels::attention::layout;
use vkv_kernels::attention::micro::SimdElem;

use super::dense::{AnyStore, Store};
use crate::{AttnConfig, DenseKv, Error, KvBackend, KvDtype, Result};

fn push<E: SimdElem>(s: &mut Store<E>, layer: usize, k: &[f32], v: &[f32]) -> Result<()> {
    let (d, hk) = (s.cfg.head_dim, s.cfg.n_kv_heads);
    let n = k.len() / (hk * d).max(1);
    if k.len() != n * hk * d || v.len() != k.len() {
        return Err(Error::Shape(format!(
            "push_kv: {} key and {} value elements for {hk} heads of {d}",
            k.len(),
            v.len()
        )));
    }
    let max = s.cfg.max_tokens;
    let ls = s.layers.get_mut(layer).ok_or(Error::Layer(layer))?;
    if ls.len + n > max {
        return Err(Error::ContextFull {
            needed: ls.len + n,
            capacity: max,
        });
    }
    let mut row = Vec::with_capacity(n * d);
    for h in 0..hk {
        row.clear();
        for t in 0..n {
            row.extend_from_slice(&k[(t * hk + h) * d..(t * hk + h + 1) * d]);
            ls.v[h].extend(
                v[(t * hk + h) * d..(t * hk + h + 1) * d]
                    .iter()
                    .map(|x| E::from_f32(*x)),
            );
        }
        layout::push_keys(&mut ls.k[h], ls.len, &row, d);
    }
    ls.len += n;
    Ok(())
}

impl DenseKv {
    /// Store `n` tokens' K/V at `layer` without attending: `k, v: [n, n_kv_heads, d]`
    /// (token-major, post-RoPE, like [`crate::Qkv`]). Fill every layer to the same length.
    pub fn push_kv(&mut self, layer: usize, k: &[f32], v: &[f32]) -> Result<()> {
        match &mut self.store {
            AnyStore::F16(s) => push(s, layer, k, v),
            AnyStore::F32(s) => push(s, layer, k, v),
        }
    }

    /// Every stored token's K/V at `layer` as f32, token-major `[n, n_kv_heads, d]` (the
    /// layout [`Self::push_kv`] takes): forking a prefilled context into another backend.
    pub fn layer_f32(&self, layer: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let cfg = self.attn_config();
        let (hk, d, n) = (cfg.n_kv_heads, cfg.head_dim, self.n_tokens());
        let mut k = vec![0.0; n * hk * d];
        let mut v = vec![0.0; n * hk * d];
        for h in 0..hk {
            let (kh, vh) = self.layer_head_f32(layer, h)?;
            if kh.len() < n * d || vh.len() < n * d {
                return Err(Error::Shape(format!(
                    "layer {layer} holds {} of {n} tokens",
                    kh.len() / d.max(1)
                )));
            }
            for t in 0..n {
                k[(t * hk + h) * d..(t * hk + h + 1) * d].copy_from_slice(&kh[t * d..(t + 1) * d]);
                v[(t * hk + h) * d..(t * hk + h + 1) * d].copy_from_slice(&vh[t * d..(t + 1) * d]);
            }
        }
        Ok((k, v))
    }

    /// The element type stored.
    pub fn dtype(&self) -> KvDtype {
        match &self.store {
            AnyStore::F16(_) => KvDtype::F16,
            AnyStore::F32(_) => KvDtype::F32,
        }
    }

    /// The attention geometry.
    pub fn attn_config(&self) -> AttnConfig {
        match &self.store {
            AnyStore::F16(s) => s.cfg,
            AnyStore::F32(s) => s.cfg,
        }
    }
}

#[cfg(test)]
mod tests {
    use vkv_kernels::Tensor;

    use super::*;
    use crate::testutil::rnd;
    use crate::{KvBackend, Phase, Qkv};

    /// push_kv then decode == attend (prefill) then decode.
    #[test]
    fn push_equals_prefill() -> Result<()> {
        let attn = AttnConfig {
            n_layers: 2,
            n_q_heads: 4,
            n_kv_heads: 2,
            head_dim: 16,
            max_tokens: 64,
        };
        let (n, d) = (40, 16);
        let k = rnd(n * 2 * d, 1);
        let v = rnd(n * 2 * d, 2);
        let mut a = DenseKv::new(attn, KvDtype::F16)?;
        let mut b = DenseKv::new(attn, KvDtype::F16)?;
        for l in 0..2 {
            let q = Tensor::from_vec(&[n, 4, d], rnd(n * 4 * d, 3))?;
            a.attend(
                l,
                Qkv {
                    q: &q,
                    k: &Tensor::from_vec(&[n, 2, d], k.clone())?,
                    v: &Tensor::from_vec(&[n, 2, d], v.clone())?,
                },
                Phase::Prefill,
            )?;
            b.push_kv(l, &k, &v)?;
        }
        assert_eq!(
            (b.n_tokens(), b.dtype(), b.attn_config()),
            (n, KvDtype::F16, attn)
        );
        let q = Tensor::from_vec(&[1, 4, d], rnd(4 * d, 4))?;
        let (k1, v1) = (
            Tensor::from_vec(&[1, 2, d], rnd(2 * d, 5))?,
            Tensor::from_vec(&[1, 2, d], rnd(2 * d, 6))?,
        );
        let ya = a.attend(
            0,
            Qkv {
                q: &q,
                k: &k1,
                v: &v1,
            },
            Phase::Decode,
        )?;
        let yb = b.attend(
            0,
            Qkv {
                q: &q,
                k: &k1,
                v: &v1,
            },
            Phase::Decode,
        )?;
        assert_eq!(ya.as_slice()?, yb.as_slice()?);
        assert!(
            b.push_kv(0, &rnd(30 * 2 * d, 7), &rnd(30 * 2 * d, 8))
                .is_err(),
            "capacity"
        );
        // layer_f32 is push_kv's inverse up to f16 rounding (and exact on what it returns).
        let mut c = DenseKv::new(attn, KvDtype::F16)?;
        for l in 0..2 {
            let (kl, vl) = b.layer_f32(l)?;
            assert_eq!(kl.len(), k.len());
            assert!(
                kl.iter()
                    .zip(&k)
                    .all(|(x, y)| (x - y).abs() <= 1e-3 * y.abs().max(1.0)),
                "keys round to f16"
            );
            c.push_kv(l, &kl, &vl)?;
        }
        assert_eq!(
            c.layer_f32(1)?,
            b.layer_f32(1)?,
            "f16 -> f32 -> f16 is lossless"
        );
        Ok(())
    }
}
