//! Flash attention over the blocked key layout: the fast path of every exact attention.
//!
//! For one KV head and the `R = n_new·G` query rows that read it, keys are visited in
//! super-tiles of [`TILE`] tokens. Per super-tile: scores `S = Q·Kᵀ` for all active rows
//! ([`micro::scores`]), causal mask, online-softmax update (running max `m`, sum `l`, rescale of
//! the output accumulator), then `O += P·V` ([`micro::pv`]). Memory is `R × TILE` floats of
//! scores, never `R × n`. Scores are computed in base 2 (q is pre-multiplied by
//! `scale·log₂e`), so the softmax uses `exp2`; the returned LSE is converted back to natural log.

use super::exact::GroupQuery;
use super::micro;
use crate::{Error, Result};

/// Keys per super-tile (a multiple of the 16-token key block).
pub const TILE: usize = 256;

/// Query rows per chunk (a multiple of the score kernel's 8 rows and the P·V kernel's 6).
const CHUNK: usize = 48;

const LOG2E: f32 = std::f32::consts::LOG2_E;

/// One KV head's keys (blocked layout, [`super::layout`]) and values (`[n, d]`), `n` tokens.
#[derive(Debug, Clone, Copy)]
pub struct KvView<'a, E> {
    /// Blocked keys, at least `key_len(n, d)` elements.
    pub keys: &'a [E],
    /// Token-major values, at least `n·d` elements.
    pub values: &'a [E],
    /// Tokens.
    pub n: usize,
}

/// Exact causal attention of the group's queries over `kv`. Writes `out[t][h]` (`d` floats at
/// `t·out_stride_t + h·d`) and `lse[t·g + h]` (natural log; −∞ when a row sees no key).
pub fn flash_attend<E: micro::SimdElem>(
    gq: GroupQuery<'_>,
    kv: KvView<'_, E>,
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
    let rows = n_new * g;
    if d == 0
        || kv.keys.len() < super::layout::key_len(kv.n, d)
        || kv.values.len() < kv.n * d
        || lse.len() < rows
    {
        return Err(Error::Shape(format!(
            "flash attention: keys {} values {} n {} d {d}",
            kv.keys.len(),
            kv.values.len(),
            kv.n
        )));
    }
    if n_new > 0
        && (q.len() < (n_new - 1) * stride_t + g * d
            || out.len() < (n_new - 1) * out_stride_t + g * d)
    {
        return Err(Error::Shape(
            "flash attention: query/output buffers too small".into(),
        ));
    }
    if rows == 0 {
        return Ok(());
    }
    let qscale = scale * LOG2E;
    let mut qs = vec![0.0f32; rows * d];
    let mut limit = vec![0usize; rows];
    for t in 0..n_new {
        for h in 0..g {
            let r = t * g + h;
            let src = &q[t * stride_t + h * d..t * stride_t + (h + 1) * d];
            for (dst, x) in qs[r * d..(r + 1) * d].iter_mut().zip(src) {
                *dst = x * qscale;
            }
            limit[r] = (first_pos + t + 1).min(kv.n);
        }
    }
    let mut m = vec![f32::NEG_INFINITY; rows];
    let mut l = vec![0.0f32; rows];
    let mut o = vec![0.0f32; rows * d];
    let mut s = vec![0.0f32; CHUNK.min(rows) * TILE];

    // Query rows in chunks, each chunk over all its key tiles: the chunk's scores (CHUNK × TILE
    // floats) stay in L2 between the score, softmax and P·V passes, where one pass of all rows
    // over a tile would round-trip an `R × TILE` score block through memory.
    let mut c0 = 0;
    while c0 < rows {
        let c1 = (c0 + CHUNK).min(rows);
        attend_chunk(&qs, &limit, c0, c1, d, kv, &mut s, &mut m, &mut l, &mut o);
        c0 = c1;
    }
    for t in 0..n_new {
        for h in 0..g {
            let r = t * g + h;
            let dst = &mut out[t * out_stride_t + h * d..t * out_stride_t + (h + 1) * d];
            if l[r] > 0.0 {
                let inv = 1.0 / l[r];
                for (y, x) in dst.iter_mut().zip(&o[r * d..(r + 1) * d]) {
                    *y = x * inv;
                }
                lse[r] = (m[r] + l[r].log2()) * std::f32::consts::LN_2;
            } else {
                dst.fill(0.0);
                lse[r] = f32::NEG_INFINITY;
            }
        }
    }
    Ok(())
}

/// Online-softmax attention of query rows `c0..c1` over every key tile they see (rows are
/// ordered by token, so the visible-key limits are non-decreasing).
#[allow(clippy::too_many_arguments)]
fn attend_chunk<E: micro::SimdElem>(
    qs: &[f32],
    limit: &[usize],
    c0: usize,
    c1: usize,
    d: usize,
    kv: KvView<'_, E>,
    s: &mut [f32],
    m: &mut [f32],
    l: &mut [f32],
    o: &mut [f32],
) {
    let max_limit = limit[c0..c1].iter().copied().max().unwrap_or(0);
    let mut k0 = 0;
    while k0 < max_limit {
        let k1 = (k0 + TILE).min(max_limit);
        let kt = k1 - k0;
        let nb = kt.div_ceil(super::layout::BLOCK);
        // The active rows (those that see at least key k0) are a suffix of the chunk.
        let r0 = c0 + limit[c0..c1].partition_point(|&lim| lim <= k0);
        let active = c1 - r0;
        let kblocks = &kv.keys[k0 * d..(k0 + nb * super::layout::BLOCK) * d];
        let vrows = &kv.values[k0 * d..k1 * d];
        micro::scores::<E>(
            &qs[r0 * d..],
            active,
            d,
            kblocks,
            nb,
            &mut s[..active * TILE],
            TILE,
        );
        for r in r0..c1 {
            let srow = &mut s[(r - r0) * TILE..(r - r0) * TILE + nb * super::layout::BLOCK];
            let vis = (limit[r] - k0).min(kt);
            srow[vis..].fill(0.0); // masked keys get probability 0 in P·V
            let tmax = micro::max_of(&srow[..vis]);
            if tmax == f32::NEG_INFINITY {
                srow.fill(0.0);
                continue;
            }
            let new_m = m[r].max(tmax);
            let corr = micro::exp2_scalar(m[r] - new_m);
            let sum = micro::exp2_inplace(&mut srow[..vis], new_m);
            l[r] = l[r] * corr + sum;
            m[r] = new_m;
            if corr != 1.0 {
                for x in &mut o[r * d..(r + 1) * d] {
                    *x *= corr;
                }
            }
        }
        micro::pv::<E>(
            &s[..active * TILE],
            TILE,
            active,
            kt,
            vrows,
            d,
            &mut o[r0 * d..c1 * d],
        );
        k0 = k1;
    }
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;
    use crate::attention::{attend_head_group, layout};

    fn rnd(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
            })
            .collect()
    }

    /// Flash (blocked layout, SIMD when available) vs the simple tiled kernel, f32 and f16,
    /// d = 64 and 128, awkward lengths (1, 15, 17, 300, 529 keys crossing super-tiles), several
    /// query tokens (causal, up to 63 rows = two row chunks) and group sizes 1, 3, 7. Tolerance 2e-5 on outputs and LSE (scores
    /// up to ±|q||k|/√d ≈ 8; exp2 polynomial rel. error ~1e-7).
    #[test]
    fn matches_reference_kernel() -> Result<()> {
        for &d in &[64usize, 128] {
            for &(n, n_new, g) in &[
                (1usize, 1usize, 7usize),
                (15, 3, 3),
                (17, 1, 1),
                (300, 5, 7),
                (529, 2, 3),
                (529, 9, 7), // 63 rows: two row chunks
            ] {
                let k: Vec<f32> = rnd(n * d, 1 + n as u64).iter().map(|x| x * 4.0).collect();
                let v = rnd(n * d, 2 + n as u64);
                let q = rnd(n_new * g * d, 3 + n as u64);
                let first_pos = n - n_new.min(n);
                let gq = GroupQuery {
                    q: &q,
                    n_new,
                    g,
                    d,
                    stride_t: g * d,
                    first_pos,
                    scale: 1.0 / (d as f32).sqrt(),
                };
                let (mut o_ref, mut l_ref) = (vec![0.0; n_new * g * d], vec![0.0; n_new * g]);
                attend_head_group(gq, &k, &v, &mut o_ref, g * d, &mut l_ref)?;
                let kb32: Vec<f32> = layout::to_blocked(&k, d);
                let (mut o, mut l) = (vec![0.0; n_new * g * d], vec![0.0; n_new * g]);
                flash_attend(
                    gq,
                    KvView {
                        keys: &kb32,
                        values: &v,
                        n,
                    },
                    &mut o,
                    g * d,
                    &mut l,
                )?;
                for (a, b) in o.iter().zip(&o_ref).chain(l.iter().zip(&l_ref)) {
                    assert!(
                        (a - b).abs() < 2e-5 || (a.is_infinite() && b.is_infinite()),
                        "f32 d={d} n={n}: {a} vs {b}"
                    );
                }
                // f16 store: compare against the reference run on the f16-rounded data.
                let kh: Vec<f16> = k.iter().map(|x| f16::from_f32(*x)).collect();
                let vh: Vec<f16> = v.iter().map(|x| f16::from_f32(*x)).collect();
                let kr: Vec<f32> = kh.iter().map(|x| x.to_f32()).collect();
                let vr: Vec<f32> = vh.iter().map(|x| x.to_f32()).collect();
                attend_head_group(gq, &kr, &vr, &mut o_ref, g * d, &mut l_ref)?;
                let kb16: Vec<f16> = layout::to_blocked(&kr, d);
                flash_attend(
                    gq,
                    KvView {
                        keys: &kb16,
                        values: &vh,
                        n,
                    },
                    &mut o,
                    g * d,
                    &mut l,
                )?;
                for (a, b) in o.iter().zip(&o_ref).chain(l.iter().zip(&l_ref)) {
                    assert!((a - b).abs() < 2e-5, "f16 d={d} n={n}: {a} vs {b}");
                }
            }
        }
        Ok(())
    }

    /// Portable micro-kernels vs the SIMD ones on the same inputs (if the CPU has AVX-512),
    /// ragged blocks also against a direct sum (tolerance 1e-4: 64-term f32 sums of ±1 values).
    #[test]
    fn portable_equals_simd() -> Result<()> {
        let (d, n, rows) = (64, 200, 7);
        let k = rnd(n * d, 11);
        let kb: Vec<f16> = layout::to_blocked(&k, d);
        let q = rnd(rows * d, 12);
        let nb = n.div_ceil(16);
        let mut s1 = vec![0.0; rows * TILE];
        let mut s2 = vec![0.0; rows * TILE];
        micro::scores::<f16>(&q, rows, d, &kb, nb, &mut s1, TILE);
        micro::scores_portable::<f16>(&q, rows, d, &kb, nb, &mut s2, TILE);
        for r in 0..rows {
            for j in 0..n {
                assert!((s1[r * TILE + j] - s2[r * TILE + j]).abs() < 1e-4);
            }
        }
        // Ragged blocks (dimension-major, m < 16 keys), 7 and 9 rows (one and two row groups).
        for &(m, rows) in &[(1usize, 7usize), (7, 9), (15, 7)] {
            let kt = rnd(m * d, 16 + m as u64);
            let kh: Vec<f16> = kt.iter().map(|x| f16::from_f32(*x)).collect();
            let q = rnd(rows * d, 17);
            let ld = 20;
            let (mut a, mut b) = (vec![9.0f32; rows * ld], vec![9.0f32; rows * ld]);
            micro::scores_ragged::<f16>(&q, rows, d, &kh, m, &mut a, ld);
            micro::scores_ragged_portable::<f16>(&q, rows, d, &kh, m, &mut b, ld);
            let mut c = vec![9.0f32; rows * ld];
            micro::scores_ragged::<f32>(&q, rows, d, &kt, m, &mut c, ld);
            for r in 0..rows {
                for j in 0..16 {
                    let (x, y) = (a[r * ld + j], b[r * ld + j]);
                    assert!((x - y).abs() < 1e-4, "m={m} r={r} j={j}: {x} vs {y}");
                    if j >= m {
                        assert_eq!((x, c[r * ld + j]), (0.0, 0.0), "padding column {j}");
                    } else {
                        let want: f32 = (0..d).map(|i| q[r * d + i] * kt[i * m + j]).sum();
                        assert!((c[r * ld + j] - want).abs() < 1e-4);
                    }
                }
                assert_eq!(a[r * ld + 16], 9.0, "column 16 untouched");
            }
        }
        let v: Vec<f16> = rnd(n * d, 13).iter().map(|x| f16::from_f32(*x)).collect();
        let p: Vec<f32> = rnd(rows * TILE, 14).iter().map(|x| x.abs()).collect();
        let mut o1 = rnd(rows * d, 15);
        let mut o2 = o1.clone();
        micro::pv::<f16>(&p, TILE, rows, n, &v, d, &mut o1);
        micro::pv_portable::<f16>(&p, TILE, rows, n, &v, d, &mut o2);
        assert!(o1.iter().zip(&o2).all(|(a, b)| (a - b).abs() < 1e-3));
        let mut e = vec![-3.0f32, -0.5, 0.0, -100.0, f32::NEG_INFINITY, -1.25];
        let sum = micro::exp2_inplace(&mut e, 0.0);
        let want = [0.125f32, 0.70710677, 1.0, 0.0, 0.0, 0.420_448_2];
        for (a, b) in e.iter().zip(want) {
            assert!((a - b).abs() <= 2e-7 * b.max(1e-30) + 1e-30, "{a} vs {b}");
        }
        assert!((sum - want.iter().sum::<f32>()).abs() < 1e-6);
        Ok(())
    }
}
