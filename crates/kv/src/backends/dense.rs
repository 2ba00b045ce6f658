//! [`DenseKv`]: exact attention over every stored token. The oracle.
//!
//! Layout: per layer, per KV head, keys and values as contiguous rows `[n_tokens, d]`, so that
//! one KV head's scan is a linear read and its G query heads share every loaded key
//! ([`vkv_kernels::attention::attend_head_group`]). Elements are f16 (llama.cpp's default cache
//! type) or f32.

use half::f16;
use rayon::prelude::*;
use vkv_kernels::attention::{attend_head_group, GroupQuery, KvElem};
use vkv_kernels::Tensor;

use crate::{AttnConfig, Error, KvBackend, MemoryUsage, Phase, Qkv, Result};

/// Element type of a dense store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KvDtype {
    /// Half precision (default; what llama.cpp stores).
    #[default]
    F16,
    /// Full precision.
    F32,
}

/// Query tokens per parallel task in prefill.
const TOKENS_PER_TASK: usize = 16;

/// One layer's K/V rows, per KV head.
struct LayerStore<E> {
    k: Vec<Vec<E>>,
    v: Vec<Vec<E>>,
    len: usize,
}

struct Store<E> {
    cfg: AttnConfig,
    layers: Vec<LayerStore<E>>,
}

impl<E: KvElem> Store<E> {
    fn new(cfg: AttnConfig) -> Self {
        let layers = (0..cfg.n_layers)
            .map(|_| LayerStore { k: vec![Vec::new(); cfg.n_kv_heads], v: vec![Vec::new(); cfg.n_kv_heads], len: 0 })
            .collect();
        Self { cfg, layers }
    }

    fn attend(&mut self, layer: usize, qkv: Qkv<'_>) -> Result<Tensor> {
        let c = self.cfg;
        let (d, hq, hk, g) = (c.head_dim, c.n_q_heads, c.n_kv_heads, c.group());
        let n_new = qkv.q.shape().first().copied().unwrap_or(0);
        if qkv.q.len() != n_new * hq * d || qkv.k.len() != n_new * hk * d || qkv.v.len() != n_new * hk * d {
            return Err(Error::Shape(format!("q {:?} k {:?} v {:?} for {hq}/{hk} heads of {d}", qkv.q.shape(), qkv.k.shape(), qkv.v.shape())));
        }
        let ls = self.layers.get_mut(layer).ok_or(Error::Layer(layer))?;
        if ls.len + n_new > c.max_tokens {
            return Err(Error::ContextFull { needed: ls.len + n_new, capacity: c.max_tokens });
        }
        let (k, v) = (qkv.k.as_slice()?, qkv.v.as_slice()?);
        for h in 0..hk {
            for t in 0..n_new {
                let src = (t * hk + h) * d;
                ls.k[h].extend(k[src..src + d].iter().map(|x| E::from_f32(*x)));
                ls.v[h].extend(v[src..src + d].iter().map(|x| E::from_f32(*x)));
            }
        }
        let first_pos = ls.len;
        ls.len += n_new;
        let q = qkv.q.as_slice()?;
        let ls = &*ls;
        let chunks = n_new.div_ceil(TOKENS_PER_TASK);
        let parts: Vec<(usize, usize, Vec<f32>)> = (0..hk * chunks)
            .into_par_iter()
            .map(|task| -> Result<(usize, usize, Vec<f32>)> {
                let (h, ch) = (task / chunks, task % chunks);
                let t0 = ch * TOKENS_PER_TASK;
                let nt = (n_new - t0).min(TOKENS_PER_TASK);
                let gq = GroupQuery {
                    q: &q[t0 * hq * d + h * g * d..],
                    n_new: nt,
                    g,
                    d,
                    stride_t: hq * d,
                    first_pos: first_pos + t0,
                    scale: c.scale(),
                };
                let mut out = vec![0.0f32; nt * g * d];
                let mut lse = vec![0.0f32; nt * g];
                attend_head_group(gq, &ls.k[h], &ls.v[h], &mut out, g * d, &mut lse)?;
                Ok((h, t0, out))
            })
            .collect::<Result<_>>()?;
        let mut y = Tensor::zeros(&[n_new, hq, d]);
        let ys = y.as_mut_slice()?;
        for (h, t0, out) in parts {
            for (i, row) in out.chunks_exact(g * d).enumerate() {
                let dst = (t0 + i) * hq * d + h * g * d;
                ys[dst..dst + g * d].copy_from_slice(row);
            }
        }
        Ok(y)
    }

    fn truncate(&mut self, n: usize) {
        let d = self.cfg.head_dim;
        for ls in &mut self.layers {
            if ls.len > n {
                ls.len = n;
                for h in 0..self.cfg.n_kv_heads {
                    ls.k[h].truncate(n * d);
                    ls.v[h].truncate(n * d);
                }
            }
        }
    }

    fn bytes(&self) -> usize {
        self.layers.iter().map(|l| l.k.iter().chain(&l.v).map(|x| x.len()).sum::<usize>()).sum::<usize>() * std::mem::size_of::<E>()
    }

    fn n_tokens(&self) -> usize {
        self.layers.last().map_or(0, |l| l.len)
    }
}

enum AnyStore {
    F16(Store<f16>),
    F32(Store<f32>),
}

/// Exact attention over every stored token.
pub struct DenseKv {
    store: AnyStore,
}

impl DenseKv {
    /// An empty cache for `cfg`, storing `dtype`.
    pub fn new(cfg: AttnConfig, dtype: KvDtype) -> Result<Self> {
        if cfg.n_kv_heads == 0 || cfg.n_q_heads % cfg.n_kv_heads != 0 || cfg.head_dim == 0 {
            return Err(Error::Shape(format!("invalid attention config {cfg:?}")));
        }
        Ok(Self {
            store: match dtype {
                KvDtype::F16 => AnyStore::F16(Store::new(cfg)),
                KvDtype::F32 => AnyStore::F32(Store::new(cfg)),
            },
        })
    }

    /// Keys and values of (layer, kv head) as f32 rows `[n, d]` (tests, index building).
    pub fn layer_head_f32(&self, layer: usize, head: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        fn conv<E: KvElem>(s: &Store<E>, layer: usize, head: usize) -> Result<(Vec<f32>, Vec<f32>)> {
            let ls = s.layers.get(layer).ok_or(Error::Layer(layer))?;
            let k = ls.k.get(head).ok_or_else(|| Error::Shape(format!("kv head {head}")))?;
            let v = &ls.v[head];
            let mut ko = vec![0.0; k.len()];
            let mut vo = vec![0.0; v.len()];
            E::to_f32_slice(k, &mut ko);
            E::to_f32_slice(v, &mut vo);
            Ok((ko, vo))
        }
        match &self.store {
            AnyStore::F16(s) => conv(s, layer, head),
            AnyStore::F32(s) => conv(s, layer, head),
        }
    }
}

impl KvBackend for DenseKv {
    fn attend(&mut self, layer: usize, qkv: Qkv<'_>, _phase: Phase) -> Result<Tensor> {
        match &mut self.store {
            AnyStore::F16(s) => s.attend(layer, qkv),
            AnyStore::F32(s) => s.attend(layer, qkv),
        }
    }

    fn n_tokens(&self) -> usize {
        match &self.store {
            AnyStore::F16(s) => s.n_tokens(),
            AnyStore::F32(s) => s.n_tokens(),
        }
    }

    fn truncate(&mut self, n: usize) -> Result<()> {
        match &mut self.store {
            AnyStore::F16(s) => s.truncate(n),
            AnyStore::F32(s) => s.truncate(n),
        }
        Ok(())
    }

    fn memory(&self) -> MemoryUsage {
        let b = match &self.store {
            AnyStore::F16(s) => s.bytes(),
            AnyStore::F32(s) => s.bytes(),
        };
        MemoryUsage { fast_bytes: b, ..MemoryUsage::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rnd(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Prefill in one chunk vs token by token must agree (f32 store: to float rounding, 1e-5),
    /// and truncate + re-append must reproduce the same output.
    #[test]
    fn chunked_equals_incremental_and_truncate_works() -> Result<()> {
        let cfg = AttnConfig { n_layers: 1, n_q_heads: 6, n_kv_heads: 2, head_dim: 64, max_tokens: 40 };
        let n = 37;
        let (hq, hk, d) = (6, 2, 64);
        let q = rnd(n * hq * d, 1);
        let k = rnd(n * hk * d, 2);
        let v = rnd(n * hk * d, 3);
        let t = |x: &[f32], h: usize, a: usize, b: usize| Tensor::from_vec(&[b - a, h, d], x[a * h * d..b * h * d].to_vec());
        let mut one = DenseKv::new(cfg, KvDtype::F32)?;
        let y1 = one.attend(0, Qkv { q: &t(&q, hq, 0, n)?, k: &t(&k, hk, 0, n)?, v: &t(&v, hk, 0, n)? }, Phase::Prefill)?;
        let mut inc = DenseKv::new(cfg, KvDtype::F32)?;
        let mut y2 = Vec::new();
        for i in 0..n {
            let y = inc.attend(0, Qkv { q: &t(&q, hq, i, i + 1)?, k: &t(&k, hk, i, i + 1)?, v: &t(&v, hk, i, i + 1)? }, Phase::Decode)?;
            y2.extend_from_slice(y.as_slice()?);
        }
        assert!(y1.as_slice()?.iter().zip(&y2).all(|(a, b)| (a - b).abs() < 1e-5));
        inc.truncate(20)?;
        assert_eq!(inc.n_tokens(), 20);
        let y3 = inc.attend(0, Qkv { q: &t(&q, hq, 20, 21)?, k: &t(&k, hk, 20, 21)?, v: &t(&v, hk, 20, 21)? }, Phase::Decode)?;
        assert!(y3.as_slice()?.iter().zip(&y2[20 * hq * d..]).all(|(a, b)| (a - b).abs() < 1e-5));
        assert!(matches!(inc.attend(0, Qkv { q: &t(&q, hq, 0, n)?, k: &t(&k, hk, 0, n)?, v: &t(&v, hk, 0, n)? }, Phase::Prefill), Err(Error::ContextFull { .. })));
        Ok(())
    }
}
