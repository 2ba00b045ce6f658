//! Attention captures: the post-RoPE q/k/v a model hands to its KV backend, recorded to a file
//! so that sparse backends can be evaluated against the oracle on real activations without
//! running the model (the oracle tests read `VKV_CAPTURE`).
//!
//! [`crate::RecordingKv`] wraps any backend and records its inputs; [`Capture::from_records`]
//! turns a recording of every layer into a [`Capture`], the data and its file format
//! (little-endian):
//! ```text
//! b"VKVCAP01", u32 n_layers, u32 n_q_heads, u32 n_kv_heads, u32 head_dim, u64 n_tokens,
//! then per layer: q [n_tokens, n_q_heads, d] f32, k [n_tokens, n_kv_heads, d] f32,
//!                 v [n_tokens, n_kv_heads, d] f32
//! ```

use std::io::Write;
use std::path::Path;

use vkv_kernels::Tensor;

use crate::storage::pod::as_bytes;
use crate::{AttnConfig, Error, Result};

const MAGIC: &[u8; 8] = b"VKVCAP01";

/// Post-RoPE q/k/v of every layer for a token sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    /// Layers.
    pub n_layers: usize,
    /// Query heads.
    pub hq: usize,
    /// KV heads.
    pub hk: usize,
    /// Head dim.
    pub d: usize,
    /// Tokens.
    pub n: usize,
    /// Per layer `[n, hq, d]`.
    pub q: Vec<Vec<f32>>,
    /// Per layer `[n, hk, d]`.
    pub k: Vec<Vec<f32>>,
    /// Per layer `[n, hk, d]`.
    pub v: Vec<Vec<f32>>,
}

impl Capture {
    /// A capture from a recording of every layer of `attn`, in layer order (tokens complete
    /// in every layer are kept).
    pub fn from_records(attn: AttnConfig, records: Vec<crate::LayerRecord>) -> Result<Self> {
        let (hq, hk, d) = (attn.n_q_heads, attn.n_kv_heads, attn.head_dim);
        if records.len() != attn.n_layers || records.iter().enumerate().any(|(i, r)| r.layer != i) {
            return Err(Error::Shape(format!(
                "a capture needs every layer 0..{} recorded in order",
                attn.n_layers
            )));
        }
        let n = records
            .iter()
            .map(crate::LayerRecord::len)
            .min()
            .unwrap_or(0);
        let (mut q, mut k, mut v) = (Vec::new(), Vec::new(), Vec::new());
        for mut r in records {
            r.q.truncate(n * hq * d);
            r.k.truncate(n * hk * d);
            r.v.truncate(n * hk * d);
            q.push(r.q);
            k.push(r.k);
            v.push(r.v);
        }
        Ok(Self {
            n_layers: attn.n_layers,
            hq,
            hk,
            d,
            n,
            q,
            k,
            v,
        })
    }

    /// Read a capture file.
    pub fn load(path: &Path) -> Result<Self> {
        let b = std::fs::read(path).map_err(|e| Error::io("read capture", path, e))?;
        let bad = |r: String| Error::Corrupt {
            path: path.to_path_buf(),
            reason: r,
        };
        if b.len() < 32 || &b[..8] != MAGIC {
            return Err(bad("not a VKVCAP01 capture".into()));
        }
        let u32at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as usize;
        let (nl, hq, hk, d) = (u32at(8), u32at(12), u32at(16), u32at(20));
        let n =
            u64::from_le_bytes([b[24], b[25], b[26], b[27], b[28], b[29], b[30], b[31]]) as usize;
        let per = n
            .checked_mul((hq + 2 * hk) * d * 4)
            .ok_or_else(|| bad("size overflow".into()))?;
        if b.len() != 32 + nl * per {
            return Err(bad(format!(
                "{} bytes, expected {}",
                b.len(),
                32 + nl * per
            )));
        }
        let floats = |o: usize, m: usize| -> Vec<f32> {
            b[o..o + m * 4]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let (mut q, mut k, mut v) = (Vec::new(), Vec::new(), Vec::new());
        let mut o = 32;
        for _ in 0..nl {
            for (dst, m) in [
                (&mut q, n * hq * d),
                (&mut k, n * hk * d),
                (&mut v, n * hk * d),
            ] {
                dst.push(floats(o, m));
                o += m * 4;
            }
        }
        Ok(Self {
            n_layers: nl,
            hq,
            hk,
            d,
            n,
            q,
            k,
            v,
        })
    }

    /// Write the capture file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |e| Error::io("write capture", path, e);
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        f.write_all(MAGIC).map_err(io)?;
        for x in [self.n_layers, self.hq, self.hk, self.d] {
            f.write_all(&(x as u32).to_le_bytes()).map_err(io)?;
        }
        f.write_all(&(self.n as u64).to_le_bytes()).map_err(io)?;
        for l in 0..self.n_layers {
            for x in [&self.q[l], &self.k[l], &self.v[l]] {
                f.write_all(as_bytes(x)).map_err(io)?;
            }
        }
        f.flush().map_err(io)
    }

    /// The attention geometry, with room for `max_tokens`.
    pub fn attn(&self, max_tokens: usize) -> AttnConfig {
        AttnConfig {
            n_layers: self.n_layers,
            n_q_heads: self.hq,
            n_kv_heads: self.hk,
            head_dim: self.d,
            max_tokens,
        }
    }

    /// Tensors `(q, k, v)` of tokens `t0..t1` of `layer`.
    pub fn qkv(&self, layer: usize, t0: usize, t1: usize) -> Result<(Tensor, Tensor, Tensor)> {
        let d = self.d;
        let t = |x: &[f32], h: usize| {
            Tensor::from_vec(&[t1 - t0, h, d], x[t0 * h * d..t1 * h * d].to_vec())
        };
        Ok((
            t(&self.q[layer], self.hq)?,
            t(&self.k[layer], self.hk)?,
            t(&self.v[layer], self.hk)?,
        ))
    }

    /// Keys of kv head `h` of `layer` for tokens `0..n`, rows `[n, d]`.
    pub fn head_keys(&self, layer: usize, h: usize, n: usize) -> Vec<f32> {
        let (hk, d) = (self.hk, self.d);
        (0..n)
            .flat_map(|t| self.k[layer][(t * hk + h) * d..(t * hk + h + 1) * d].to_vec())
            .collect()
    }

    /// Values of kv head `h` of `layer` for tokens `0..n`, rows `[n, d]`.
    pub fn head_values(&self, layer: usize, h: usize, n: usize) -> Vec<f32> {
        let (hk, d) = (self.hk, self.d);
        (0..n)
            .flat_map(|t| self.v[layer][(t * hk + h) * d..(t * hk + h + 1) * d].to_vec())
            .collect()
    }

    /// The group query `[g, d]` of kv head `h` at token `t`.
    pub fn group_query(&self, layer: usize, h: usize, t: usize) -> Vec<f32> {
        let (hq, d, g) = (self.hq, self.d, self.hq / self.hk.max(1));
        self.q[layer][t * hq * d + h * g * d..t * hq * d + (h + 1) * g * d].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rnd;
    use crate::{DenseKv, KvBackend, KvDtype, Phase, Qkv};

    #[test]
    fn record_save_load() -> Result<()> {
        let attn = AttnConfig {
            n_layers: 2,
            n_q_heads: 4,
            n_kv_heads: 2,
            head_dim: 8,
            max_tokens: 16,
        };
        let mut kv = crate::RecordingKv::new(Box::new(DenseKv::new(attn, KvDtype::F32)?), &[0, 1]);
        for (t0, t1) in [(0usize, 5usize), (5, 6)] {
            for l in 0..2 {
                let m = t1 - t0;
                let q = Tensor::from_vec(&[m, 4, 8], rnd(m * 32, (l * 10 + t0) as u64))?;
                let k = Tensor::from_vec(&[m, 2, 8], rnd(m * 16, (l * 10 + t0 + 1) as u64))?;
                let v = Tensor::from_vec(&[m, 2, 8], rnd(m * 16, (l * 10 + t0 + 2) as u64))?;
                kv.attend(
                    l,
                    Qkv {
                        q: &q,
                        k: &k,
                        v: &v,
                    },
                    Phase::Prefill,
                )?;
            }
        }
        let (_, records) = kv.into_parts();
        let c = Capture::from_records(attn, records)?;
        assert_eq!((c.n, c.q[1].len()), (6, 6 * 32));
        let p = std::env::temp_dir().join(format!("vkv-cap-{}.bin", std::process::id()));
        c.save(&p)?;
        let back = Capture::load(&p);
        let _ = std::fs::remove_file(&p);
        assert_eq!(back?, c);
        Ok(())
    }
}
