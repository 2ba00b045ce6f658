//! Saving and loading a [`DenseKv`] (so that benchmarks and repeated questions prefill once).
//!
//! Header: attention geometry, tokens per layer; arrays: per (layer, kv head) the blocked keys
//! and token-major values in the stored element type. Loading copies them into RAM (the dense
//! cache appends to them).

use std::path::Path;

use half::f16;
use vkv_kernels::attention::layout;
use vkv_kernels::attention::micro::SimdElem;

use super::container::{Kind, Reader, Writer};
use crate::backends::dense::{AnyStore, Store};
use crate::storage::pod::Pod;
use crate::{AttnConfig, DenseKv, Error, KvDtype, Result};

/// Upper bound for counts read from a file (sanity against corrupt headers).
pub(crate) const MAX_COUNT: usize = 1 << 40;

/// Element type code of a dtype in saved files.
pub(crate) fn dtype_code(d: KvDtype) -> u32 {
    match d {
        KvDtype::F16 => 0,
        KvDtype::F32 => 1,
    }
}

/// Write the attention geometry.
pub(crate) fn put_attn(w: &mut Writer<'_>, a: &AttnConfig) {
    for x in [
        a.n_layers,
        a.n_q_heads,
        a.n_kv_heads,
        a.head_dim,
        a.max_tokens,
    ] {
        w.usize(x);
    }
}

/// Read and check the attention geometry.
pub(crate) fn get_attn(r: &mut Reader) -> Result<AttnConfig> {
    let mut v = [0usize; 5];
    for x in &mut v {
        *x = r.usize(MAX_COUNT)?;
    }
    let a = AttnConfig {
        n_layers: v[0],
        n_q_heads: v[1],
        n_kv_heads: v[2],
        head_dim: v[3],
        max_tokens: v[4],
    };
    if a.n_kv_heads == 0
        || a.head_dim == 0
        || !a.n_q_heads.is_multiple_of(a.n_kv_heads)
        || a.n_layers > 1 << 16
        || a.n_q_heads > 1 << 16
        || a.head_dim > 1 << 16
    {
        return Err(Error::Corrupt {
            path: r.path().into(),
            reason: format!("invalid attention geometry {a:?}"),
        });
    }
    Ok(a)
}

fn save_store<E: SimdElem + Pod>(s: &Store<E>, path: &Path, code: u32) -> Result<()> {
    let mut w = Writer::new();
    put_attn(&mut w, &s.cfg);
    for l in &s.layers {
        w.usize(l.len);
        for h in 0..s.cfg.n_kv_heads {
            w.array(&l.k[h][..layout::key_len(l.len, s.cfg.head_dim)]);
            w.array(&l.v[h][..l.len * s.cfg.head_dim]);
        }
    }
    w.write(path, Kind::Dense, code)
}

fn load_store<E: SimdElem + Pod>(
    r: &mut Reader,
    mut cfg: AttnConfig,
    max_tokens: Option<usize>,
) -> Result<Store<E>> {
    let file_max = cfg.max_tokens;
    cfg.max_tokens = max_tokens.unwrap_or(file_max);
    let mut s = Store::<E>::new(cfg);
    let d = cfg.head_dim;
    for l in 0..cfg.n_layers {
        let len = r.usize(MAX_COUNT)?;
        if len > cfg.max_tokens {
            return Err(Error::ContextFull {
                needed: len,
                capacity: cfg.max_tokens,
            });
        }
        s.layers[l].len = len;
        for h in 0..cfg.n_kv_heads {
            let (k, v) = (r.vec::<E>()?, r.vec::<E>()?);
            if k.len() != layout::key_len(len, d) || v.len() != len * d {
                return Err(Error::Corrupt {
                    path: r.path().into(),
                    reason: format!(
                        "layer {l} head {h}: {} key / {} value elements for {len} tokens",
                        k.len(),
                        v.len()
                    ),
                });
            }
            s.layers[l].k[h] = k;
            s.layers[l].v[h] = v;
        }
    }
    r.done()?;
    Ok(s)
}

impl DenseKv {
    /// Save every stored token to `path` (format: [`crate::persist`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        match &self.store {
            AnyStore::F16(s) => save_store(s, path, 0),
            AnyStore::F32(s) => save_store(s, path, 1),
        }
    }

    /// Load a cache saved by [`DenseKv::save`]; `max_tokens` overrides the saved capacity
    /// (room to decode further).
    pub fn load(path: &Path, max_tokens: Option<usize>) -> Result<Self> {
        let mut r = Reader::open(path, Kind::Dense)?;
        let cfg = get_attn(&mut r)?;
        let store = match r.dtype {
            0 => AnyStore::F16(load_store::<f16>(&mut r, cfg, max_tokens)?),
            1 => AnyStore::F32(load_store::<f32>(&mut r, cfg, max_tokens)?),
            x => {
                return Err(Error::Incompatible {
                    path: path.into(),
                    reason: format!("unknown element type code {x}"),
                })
            }
        };
        Ok(Self { store })
    }
}
