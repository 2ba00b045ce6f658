//! Tiled exact attention for one KV head and its query group.

use super::KvElem;
use crate::{Error, Result};

/// Keys per tile: a tile of f32 keys and values (2 × 64 × d × 4 B = 64 KiB at d=128) stays in L2.
const TILE: usize = 64;

/// The queries of one GQA group: `q[t][h]` is `d` floats at `q[(t·stride_t) + h·d ..]`.
#[derive(Debug, Clone, Copy)]
pub struct GroupQuery<'a> {
    /// Query data.
    pub q: &'a [f32],
    /// Tokens.
    pub n_new: usize,
    /// Query heads in the group.
    pub g: usize,
    /// Head dim.
    pub d: usize,
    /// Elements between consecutive tokens (≥ g·d).
    pub stride_t: usize,
    /// Token t may attend keys `0 ..= first_pos + t` (causal); keys beyond `n_ctx` don't exist.
    pub first_pos: usize,
    /// Score scale, usually 1/√d.
    pub scale: f32,
}

/// Exact causal attention. `keys`/`values`: `[n_ctx, d]`. Writes `out[t][h]` (`d` floats, with
/// token stride `out_stride_t`) and `lse[t·g + h]`.
pub fn attend_head_group<E: KvElem>(
    gq: GroupQuery<'_>,
    keys: &[E],
    values: &[E],
    out: &mut [f32],
    out_stride_t: usize,
    lse: &mut [f32],
) -> Result<()> {
    let GroupQuery {
        q,
        n_new,
        g,
        d,
        stride_t,
        first_pos,
        scale,
    } = gq;
    let n_ctx = keys.len() / d.max(1);
    if d == 0 || keys.len() != n_ctx * d || values.len() != keys.len() || lse.len() < n_new * g {
        return Err(Error::Shape(format!(
            "attention: keys {} values {} d {d}",
            keys.len(),
            values.len()
        )));
    }
    if n_new > 0
        && (q.len() < (n_new - 1) * stride_t + g * d
            || out.len() < (n_new - 1) * out_stride_t + g * d)
    {
        return Err(Error::Shape(
            "attention: query/output buffers too small".into(),
        ));
    }
    let rows = n_new * g;
    let mut m = vec![f32::NEG_INFINITY; rows];
    let mut l = vec![0.0f32; rows];
    let mut acc = vec![0.0f32; rows * d];
    let mut kt = vec![0.0f32; TILE * d];
    let mut vt = vec![0.0f32; TILE * d];
    let mut s = vec![0.0f32; TILE];
    let last_visible = (first_pos + n_new).min(n_ctx); // exclusive bound of any query's keys
    let mut k0 = 0;
    while k0 < last_visible {
        let k1 = (k0 + TILE).min(last_visible);
        let nk = k1 - k0;
        E::to_f32_slice(&keys[k0 * d..k1 * d], &mut kt[..nk * d]);
        E::to_f32_slice(&values[k0 * d..k1 * d], &mut vt[..nk * d]);
        for t in 0..n_new {
            let vis = (first_pos + t + 1).min(n_ctx); // keys [0, vis) visible
            if vis <= k0 {
                continue;
            }
            let nv = (vis - k0).min(nk);
            for h in 0..g {
                let r = t * g + h;
                let qr = &q[t * stride_t + h * d..t * stride_t + (h + 1) * d];
                let mut tile_max = f32::NEG_INFINITY;
                for j in 0..nv {
                    let sc = crate::ops::dot(qr, &kt[j * d..(j + 1) * d]) * scale;
                    s[j] = sc;
                    tile_max = tile_max.max(sc);
                }
                let new_m = m[r].max(tile_max);
                let corr = (m[r] - new_m).exp();
                let a = &mut acc[r * d..(r + 1) * d];
                if corr != 1.0 {
                    for v in a.iter_mut() {
                        *v *= corr;
                    }
                }
                let mut sum = 0.0;
                for j in 0..nv {
                    let p = (s[j] - new_m).exp();
                    sum += p;
                    crate::ops::axpy(a, p, &vt[j * d..(j + 1) * d]);
                }
                l[r] = l[r] * corr + sum;
                m[r] = new_m;
            }
        }
        k0 = k1;
    }
    for t in 0..n_new {
        for h in 0..g {
            let r = t * g + h;
            let o = &mut out[t * out_stride_t + h * d..t * out_stride_t + (h + 1) * d];
            if l[r] > 0.0 {
                let inv = 1.0 / l[r];
                for (dst, v) in o.iter_mut().zip(&acc[r * d..(r + 1) * d]) {
                    *dst = v * inv;
                }
                lse[r] = m[r] + l[r].ln();
            } else {
                o.fill(0.0);
                lse[r] = f32::NEG_INFINITY;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    fn rnd(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
            })
            .collect()
    }

    /// f64 softmax attention, one query row against keys [0, vis).
    fn reference(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        d: usize,
        vis: usize,
        scale: f32,
    ) -> (Vec<f64>, f64) {
        let s: Vec<f64> = (0..vis)
            .map(|j| {
                (0..d)
                    .map(|i| q[i] as f64 * k[j * d + i] as f64)
                    .sum::<f64>()
                    * scale as f64
            })
            .collect();
        let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
        let mut o = vec![0.0; d];
        for j in 0..vis {
            let p = (s[j] - m).exp() / z;
            for i in 0..d {
                o[i] += p * v[j * d + i] as f64;
            }
        }
        (o, m + z.ln())
    }

    /// Causal prefill against f16 and f32 stores, awkward sizes (130 keys: two full tiles and a
    /// ragged one; 5 new tokens; G = 3). Tolerance: 2e-5 absolute on outputs (|v| ≤ 1) and LSE.
    #[test]
    fn matches_f64_reference() -> Result<()> {
        let (d, g, n_new, n_ctx) = (64, 3, 5, 130);
        let first_pos = n_ctx - n_new;
        let k = rnd(n_ctx * d, 1)
            .iter()
            .map(|x| x * 3.0)
            .collect::<Vec<_>>();
        let v = rnd(n_ctx * d, 2);
        let q = rnd(n_new * g * d, 3);
        let scale = 1.0 / (d as f32).sqrt();
        let kh: Vec<f16> = k.iter().map(|x| f16::from_f32(*x)).collect();
        let vh: Vec<f16> = v.iter().map(|x| f16::from_f32(*x)).collect();
        let kr: Vec<f32> = kh.iter().map(|x| x.to_f32()).collect();
        let vr: Vec<f32> = vh.iter().map(|x| x.to_f32()).collect();
        let gq = GroupQuery {
            q: &q,
            n_new,
            g,
            d,
            stride_t: g * d,
            first_pos,
            scale,
        };
        let mut out32 = vec![0.0; n_new * g * d];
        let mut lse32 = vec![0.0; n_new * g];
        attend_head_group(gq, &k, &v, &mut out32, g * d, &mut lse32)?;
        let mut out16 = vec![0.0; n_new * g * d];
        let mut lse16 = vec![0.0; n_new * g];
        attend_head_group(gq, &kh, &vh, &mut out16, g * d, &mut lse16)?;
        for t in 0..n_new {
            for h in 0..g {
                let qr = &q[(t * g + h) * d..(t * g + h + 1) * d];
                let vis = first_pos + t + 1;
                for (kk, vv, out, lse) in [(&k, &v, &out32, &lse32), (&kr, &vr, &out16, &lse16)] {
                    let (o, l) = reference(qr, kk, vv, d, vis, scale);
                    assert!((lse[t * g + h] as f64 - l).abs() < 2e-5, "lse t={t} h={h}");
                    for i in 0..d {
                        assert!((out[(t * g + h) * d + i] as f64 - o[i]).abs() < 2e-5);
                    }
                }
            }
        }
        Ok(())
    }

    /// Splitting the keys in two and merging by LSE equals attending over all of them.
    #[test]
    fn split_and_merge_is_exact() -> Result<()> {
        let (d, g, n_ctx) = (64, 2, 100);
        let k = rnd(n_ctx * d, 7);
        let v = rnd(n_ctx * d, 8);
        let q = rnd(g * d, 9);
        let gq = GroupQuery {
            q: &q,
            n_new: 1,
            g,
            d,
            stride_t: g * d,
            first_pos: n_ctx - 1,
            scale: 0.125,
        };
        let (mut full, mut lf) = (vec![0.0; g * d], vec![0.0; g]);
        attend_head_group(gq, &k, &v, &mut full, g * d, &mut lf)?;
        let cut = 37;
        let (mut a, mut la) = (vec![0.0; g * d], vec![0.0; g]);
        attend_head_group(gq, &k[..cut * d], &v[..cut * d], &mut a, g * d, &mut la)?;
        let (mut b, mut lb) = (vec![0.0; g * d], vec![0.0; g]);
        attend_head_group(gq, &k[cut * d..], &v[cut * d..], &mut b, g * d, &mut lb)?;
        for h in 0..g {
            let mut acc = a[h * d..(h + 1) * d].to_vec();
            let mut l = la[h];
            super::super::merge_into(
                &mut acc,
                &mut l,
                super::super::Partial {
                    out: &b[h * d..(h + 1) * d],
                    lse: lb[h],
                },
            );
            assert!((l - lf[h]).abs() < 1e-5);
            assert!(acc
                .iter()
                .zip(&full[h * d..])
                .all(|(x, y)| (x - y).abs() < 1e-5));
        }
        Ok(())
    }
}
