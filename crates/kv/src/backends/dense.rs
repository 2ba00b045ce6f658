//! [`DenseKv`]: exact attention over every stored token. The oracle.
//!
//! Layout: per layer, per KV head, keys and values as contiguous rows `[n_tokens, d]`, so that
//! one KV head's scan is a linear read and its G query heads share every loaded key
//! ([`vkv_kernels::attention::attend_head_group`]). Elements are f16 (llama.cpp's default cache
//! type) or f32.

use half::f16;
use rayon::prelude::*;
use vkv_kernels::attention::micro::SimdElem;
use vkv_kernels::attention::{flash_attend, layout, merge_into, GroupQuery, KvView, Partial};
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

/// Decode splits the key range across threads (flash-decoding) once a head holds this many
/// tokens; partial results merge exactly by log-sum-exp.
const SPLIT_MIN_KEYS: usize = 1024;

/// One layer's K/V, per KV head: keys in the blocked layout, values token-major.
pub(crate) struct LayerStore<E> {
    pub(crate) k: Vec<Vec<E>>,
    pub(crate) v: Vec<Vec<E>>,
    pub(crate) len: usize,
}

pub(crate) struct Store<E> {
    pub(crate) cfg: AttnConfig,
    pub(crate) layers: Vec<LayerStore<E>>,
}

/// One parallel task: KV head `h`, query tokens `t0..t0+nt`, keys `k0..k1`.
#[derive(Clone, Copy)]
struct Task {
    h: usize,
    t0: usize,
    nt: usize,
    k0: usize,
    k1: usize,
}

impl<E: SimdElem> Store<E> {
    pub(crate) fn new(cfg: AttnConfig) -> Self {
        let layers = (0..cfg.n_layers)
            .map(|_| LayerStore {
                k: vec![Vec::new(); cfg.n_kv_heads],
                v: vec![Vec::new(); cfg.n_kv_heads],
                len: 0,
            })
            .collect();
        Self { cfg, layers }
    }

    fn attend(&mut self, layer: usize, qkv: Qkv<'_>) -> Result<Tensor> {
        let c = self.cfg;
        let (d, hq, hk, g) = (c.head_dim, c.n_q_heads, c.n_kv_heads, c.group());
        let n_new = qkv.n_new(&c)?;
        let ls = self.layers.get_mut(layer).ok_or(Error::Layer(layer))?;
        if ls.len + n_new > c.max_tokens {
            return Err(Error::ContextFull {
                needed: ls.len + n_new,
                capacity: c.max_tokens,
            });
        }
        let (k, v) = (qkv.k.as_slice()?, qkv.v.as_slice()?);
        let mut row = Vec::with_capacity(n_new * d);
        for h in 0..hk {
            row.clear();
            for t in 0..n_new {
                row.extend_from_slice(&k[(t * hk + h) * d..(t * hk + h + 1) * d]);
                ls.v[h].extend(
                    v[(t * hk + h) * d..(t * hk + h + 1) * d]
                        .iter()
                        .map(|x| E::from_f32(*x)),
                );
            }
            layout::push_keys(&mut ls.k[h], ls.len, &row, d);
        }
        let first_pos = ls.len;
        ls.len += n_new;
        let n_ctx = ls.len;
        let tasks = plan(hk, n_new, n_ctx);
        let q = qkv.q.as_slice()?;
        let ls = &*ls;
        let parts: Vec<(Task, Vec<f32>, Vec<f32>)> = tasks
            .into_par_iter()
            .map(|tk| -> Result<(Task, Vec<f32>, Vec<f32>)> {
                let gq = GroupQuery {
                    q: &q[tk.t0 * hq * d + tk.h * g * d..],
                    n_new: tk.nt,
                    g,
                    d,
                    stride_t: hq * d,
                    // Positions are relative to the key range start.
                    first_pos: (first_pos + tk.t0).saturating_sub(tk.k0),
                    scale: c.scale(),
                };
                let view = KvView {
                    keys: &ls.k[tk.h][tk.k0 * d..],
                    values: &ls.v[tk.h][tk.k0 * d..tk.k1 * d],
                    n: tk.k1 - tk.k0,
                };
                let mut out = vec![0.0f32; tk.nt * g * d];
                let mut lse = vec![0.0f32; tk.nt * g];
                flash_attend(gq, view, &mut out, g * d, &mut lse)?;
                Ok((tk, out, lse))
            })
            .collect::<Result<_>>()?;
        let mut y = Tensor::zeros(&[n_new, hq, d]);
        let mut y_lse = vec![f32::NEG_INFINITY; n_new * hq];
        let ys = y.as_mut_slice()?;
        for (tk, out, lse) in parts {
            for i in 0..tk.nt {
                for j in 0..g {
                    let qh = tk.h * g + j;
                    let dst = (tk.t0 + i) * hq * d + qh * d;
                    let part = Partial {
                        out: &out[(i * g + j) * d..(i * g + j + 1) * d],
                        lse: lse[i * g + j],
                    };
                    merge_into(
                        &mut ys[dst..dst + d],
                        &mut y_lse[(tk.t0 + i) * hq + qh],
                        part,
                    );
                }
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
                    // Stale keys beyond n inside the last block are never read (n bounds every view).
                    ls.k[h].truncate(layout::key_len(n, d));
                    ls.v[h].truncate(n * d);
                }
            }
        }
    }

    fn bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.k.iter().chain(&l.v).map(|x| x.len()).sum::<usize>())
            .sum::<usize>()
            * std::mem::size_of::<E>()
    }

    fn n_tokens(&self) -> usize {
        self.layers.last().map_or(0, |l| l.len)
    }
}

/// Split the work: prefill by query-token chunks; decode of a long context by key ranges
/// (block-aligned) so that every thread has work even with few KV heads.
fn plan(hk: usize, n_new: usize, n_ctx: usize) -> Vec<Task> {
    let mut tasks = Vec::new();
    if n_new == 1 && n_ctx >= SPLIT_MIN_KEYS {
        let threads = rayon::current_num_threads().max(1);
        let splits = (2 * threads).div_ceil(hk).max(1);
        let per = n_ctx.div_ceil(splits).div_ceil(layout::BLOCK) * layout::BLOCK;
        for h in 0..hk {
            let mut k0 = 0;
            while k0 < n_ctx {
                let k1 = (k0 + per).min(n_ctx);
                tasks.push(Task {
                    h,
                    t0: 0,
                    nt: 1,
                    k0,
                    k1,
                });
                k0 = k1;
            }
        }
        return tasks;
    }
    for h in 0..hk {
        let mut t0 = 0;
        while t0 < n_new {
            let nt = (n_new - t0).min(TOKENS_PER_TASK);
            tasks.push(Task {
                h,
                t0,
                nt,
                k0: 0,
                k1: n_ctx,
            });
            t0 += nt;
        }
    }
    tasks
}

pub(crate) enum AnyStore {
    F16(Store<f16>),
    F32(Store<f32>),
}

/// Exact attention over every stored token.
pub struct DenseKv {
    pub(crate) store: AnyStore,
}

impl DenseKv {
    /// An empty cache for `cfg`, storing `dtype`.
    pub fn new(cfg: AttnConfig, dtype: KvDtype) -> Result<Self> {
        if cfg.n_kv_heads == 0 || !cfg.n_q_heads.is_multiple_of(cfg.n_kv_heads) || cfg.head_dim == 0
        {
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
        fn conv<E: SimdElem>(
            s: &Store<E>,
            layer: usize,
            head: usize,
        ) -> Result<(Vec<f32>, Vec<f32>)> {
            let ls = s.layers.get(layer).ok_or(Error::Layer(layer))?;
            let kb =
                ls.k.get(head)
                    .ok_or_else(|| Error::Shape(format!("kv head {head}")))?;
            let d = s.cfg.head_dim;
            let mut ko = vec![0.0; ls.len * d];
            for (t, row) in ko.chunks_exact_mut(d).enumerate() {
                layout::key_row(kb, t, d, row);
            }
            let v = &ls.v[head][..ls.len * d];
            let mut vo = vec![0.0; v.len()];
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
        MemoryUsage {
            fast_bytes: b,
            ..MemoryUsage::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rnd;

    /// Prefill in one chunk vs token by token must agree (f32 store: to float rounding, 1e-5),
    /// and truncate + re-append must reproduce the same output.
    #[test]
    fn chunked_equals_incremental_and_truncate_works() -> Result<()> {
        let cfg = AttnConfig {
            n_layers: 1,
            n_q_heads: 6,
            n_kv_heads: 2,
            head_dim: 64,
            max_tokens: 40,
        };
        let n = 37;
        let (hq, hk, d) = (6, 2, 64);
        let q = rnd(n * hq * d, 1);
        let k = rnd(n * hk * d, 2);
        let v = rnd(n * hk * d, 3);
        let t = |x: &[f32], h: usize, a: usize, b: usize| {
            Tensor::from_vec(&[b - a, h, d], x[a * h * d..b * h * d].to_vec())
        };
        let mut one = DenseKv::new(cfg, KvDtype::F32)?;
        let y1 = one.attend(
            0,
            Qkv {
                q: &t(&q, hq, 0, n)?,
                k: &t(&k, hk, 0, n)?,
                v: &t(&v, hk, 0, n)?,
            },
            Phase::Prefill,
        )?;
        let mut inc = DenseKv::new(cfg, KvDtype::F32)?;
        let mut y2 = Vec::new();
        for i in 0..n {
            let y = inc.attend(
                0,
                Qkv {
                    q: &t(&q, hq, i, i + 1)?,
                    k: &t(&k, hk, i, i + 1)?,
                    v: &t(&v, hk, i, i + 1)?,
                },
                Phase::Decode,
            )?;
            y2.extend_from_slice(y.as_slice()?);
        }
        assert!(y1
            .as_slice()?
            .iter()
            .zip(&y2)
            .all(|(a, b)| (a - b).abs() < 1e-5));
        inc.truncate(20)?;
        assert_eq!(inc.n_tokens(), 20);
        let y3 = inc.attend(
            0,
            Qkv {
                q: &t(&q, hq, 20, 21)?,
                k: &t(&k, hk, 20, 21)?,
                v: &t(&v, hk, 20, 21)?,
            },
            Phase::Decode,
        )?;
        assert!(y3
            .as_slice()?
            .iter()
            .zip(&y2[20 * hq * d..])
            .all(|(a, b)| (a - b).abs() < 1e-5));
        assert!(matches!(
            inc.attend(
                0,
                Qkv {
                    q: &t(&q, hq, 0, n)?,
                    k: &t(&k, hk, 0, n)?,
                    v: &t(&v, hk, 0, n)?
                },
                Phase::Prefill
            ),
            Err(Error::ContextFull { .. })
        ));
        Ok(())
    }

    /// Decode over a long context takes the split-K path (key ranges merged by LSE); it must
    /// equal the single-range reference kernel (`attend_head_group`, f32, unsplit) within 2e-5.
    #[test]
    fn split_decode_matches_reference() -> Result<()> {
        let (hq, hk, d, n) = (14, 2, 64, 2100);
        let cfg = AttnConfig {
            n_layers: 1,
            n_q_heads: hq,
            n_kv_heads: hk,
            head_dim: d,
            max_tokens: n,
        };
        let k: Vec<f32> = rnd(n * hk * d, 21).iter().map(|x| x * 3.0).collect();
        let v = rnd(n * hk * d, 22);
        let q = rnd(hq * d, 23);
        let mut kv = DenseKv::new(cfg, KvDtype::F32)?;
        let t = |x: &[f32], h: usize, a: usize, b: usize| {
            Tensor::from_vec(&[b - a, h, d], x[a * h * d..b * h * d].to_vec())
        };
        let dummy_q = vec![0.0; (n - 1) * hq * d];
        kv.attend(
            0,
            Qkv {
                q: &Tensor::from_vec(&[n - 1, hq, d], dummy_q)?,
                k: &t(&k, hk, 0, n - 1)?,
                v: &t(&v, hk, 0, n - 1)?,
            },
            Phase::Prefill,
        )?;
        let y = kv.attend(
            0,
            Qkv {
                q: &Tensor::from_vec(&[1, hq, d], q.clone())?,
                k: &t(&k, hk, n - 1, n)?,
                v: &t(&v, hk, n - 1, n)?,
            },
            Phase::Decode,
        )?;
        assert!(
            plan(hk, 1, n).len() > hk,
            "the split path must be exercised"
        );
        for h in 0..hk {
            let kh: Vec<f32> = (0..n)
                .flat_map(|i| k[(i * hk + h) * d..(i * hk + h + 1) * d].to_vec())
                .collect();
            let vh: Vec<f32> = (0..n)
                .flat_map(|i| v[(i * hk + h) * d..(i * hk + h + 1) * d].to_vec())
                .collect();
            let g = hq / hk;
            let gq = vkv_kernels::attention::GroupQuery {
                q: &q[h * g * d..],
                n_new: 1,
                g,
                d,
                stride_t: hq * d,
                first_pos: n - 1,
                scale: cfg.scale(),
            };
            let (mut o, mut l) = (vec![0.0; g * d], vec![0.0; g]);
            vkv_kernels::attention::attend_head_group(gq, &kh, &vh, &mut o, g * d, &mut l)?;
            let got = &y.as_slice()?[h * g * d..(h + 1) * g * d];
            assert!(
                got.iter().zip(&o).all(|(a, b)| (a - b).abs() < 2e-5),
                "head {h}"
            );
        }
        Ok(())
    }
}
