//! Weighted-denominator ("cluster") attention of RetroInfer's estimation zone (spec §1.3).
//!
//! For clusters `i` with centroid `c_i`, size `n_i` and value sum `VS_i = Σ_{j∈i} v_j`:
//! ```text
//! o   = Σ_i e^{s_i − m} · VS_i  /  Σ_i n_i · e^{s_i − m},     s_i = q·c_i / √d
//! lse = m + ln Σ_i n_i · e^{s_i − m}
//! ```
//! i.e. every key of cluster i is replaced by its centroid and every value by the cluster's mean
//! value. The weight sits only in the denominator, as in the reference kernel
//! (`softmax_weighted_rescale_o`). Because the LSE is that of the approximated token set, the
//! result merges exactly with the exact zones (spec §1.2).

use vkv_kernels::attention::micro::{self, SimdElem};
use vkv_kernels::ops::dot;

use crate::{Error, Result};

/// Raw (unscaled) scores of a GQA group's `g` query heads against clusters: `q_h · c` of cluster
/// `c` sits at `raw[h·ld + c]`.
#[derive(Debug, Clone, Copy)]
pub struct ScoredClusters<'a> {
    /// Scores, `[g, ld]`.
    pub raw: &'a [f32],
    /// Row stride (≥ clusters).
    pub ld: usize,
    /// Query heads.
    pub g: usize,
}

/// Reusable buffers of [`weighted_attend_scored`].
#[derive(Debug)]
pub struct WeightedScratch<E> {
    w: Vec<f32>,
    rows: Vec<E>,
    acc: Vec<f32>,
    /// Per query head: the weights' denominator and their max (base 2).
    den: Vec<f32>,
    m2: Vec<f32>,
}

impl<E> Default for WeightedScratch<E> {
    fn default() -> Self {
        Self {
            w: Vec::new(),
            rows: Vec::new(),
            acc: Vec::new(),
            den: Vec::new(),
            m2: Vec::new(),
        }
    }
}

impl<E> WeightedScratch<E> {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.w.capacity() + self.acc.capacity() + self.den.capacity() + self.m2.capacity()) * 4
            + self.rows.capacity() * std::mem::size_of::<E>()
    }
}

/// Weighted attention over the clusters `ids`, reusing scores already computed for ranking.
///
/// `value_sums: [C, d]` rows, `sizes: [C]`; writes `out: [g, d]` and `lse: [g]` (natural log;
/// `−∞` and zeros when `ids` is empty or every selected cluster is empty). The selected value
/// sums are gathered into one contiguous block so that the numerator runs on the P·V
/// micro-kernel (each row loaded once for the whole group).
#[allow(clippy::too_many_arguments)]
pub fn weighted_attend_scored<E: SimdElem>(
    sc: ScoredClusters<'_>,
    scale: f32,
    ids: &[u32],
    value_sums: &[E],
    sizes: &[u32],
    d: usize,
    ws: &mut WeightedScratch<E>,
    out: &mut [f32],
    lse: &mut [f32],
) -> Result<()> {
    let g = sc.g;
    let max_id = ids.iter().copied().max().map_or(0, |m| m as usize + 1);
    if out.len() < g * d
        || lse.len() < g
        || sizes.len() < max_id
        || value_sums.len() < max_id * d
        || sc.ld < max_id
        || sc.raw.len() < g.saturating_sub(1) * sc.ld + max_id
    {
        return Err(Error::Shape(format!(
            "weighted attention: g {g} d {d} ids up to {max_id}, ld {} sizes {}",
            sc.ld,
            sizes.len()
        )));
    }
    out[..g * d].fill(0.0);
    lse[..g].fill(f32::NEG_INFINITY);
    if ids.is_empty() {
        return Ok(());
    }
    let k = ids.len();
    let c2 = scale * std::f32::consts::LOG2_E;
    ws.w.clear();
    ws.w.resize(g * k, 0.0);
    ws.den.clear();
    ws.den.resize(g, 0.0);
    ws.m2.clear();
    ws.m2.resize(g, f32::NEG_INFINITY);
    let (den, m2) = (&mut ws.den, &mut ws.m2);
    for h in 0..g {
        let row = &sc.raw[h * sc.ld..];
        let wh = &mut ws.w[h * k..(h + 1) * k];
        for (x, &c) in wh.iter_mut().zip(ids) {
            *x = row[c as usize] * c2;
        }
        m2[h] = super::reduce::max(wh);
        if m2[h] == f32::NEG_INFINITY {
            wh.fill(0.0);
            continue;
        }
        micro::exp2_inplace(wh, m2[h]);
        den[h] = wh
            .iter()
            .zip(ids)
            .map(|(x, &c)| x * sizes[c as usize] as f32)
            .sum();
    }
    ws.rows.clear();
    for &c in ids {
        ws.rows
            .extend_from_slice(&value_sums[c as usize * d..(c as usize + 1) * d]);
    }
    ws.acc.clear();
    ws.acc.resize(g * d, 0.0);
    micro::pv::<E>(&ws.w, k, g, k, &ws.rows, d, &mut ws.acc);
    for h in 0..g {
        if den[h] > 0.0 {
            let inv = 1.0 / den[h];
            for (o, a) in out[h * d..(h + 1) * d]
                .iter_mut()
                .zip(&ws.acc[h * d..(h + 1) * d])
            {
                *o = a * inv;
            }
            lse[h] = (m2[h] + den[h].log2()) * std::f32::consts::LN_2;
        }
    }
    Ok(())
}

/// Weighted attention of `q: [g, d]` over all `m` clusters given as rows: `centroids: [m, d]`,
/// `value_sums: [m, d]`, `sizes: [m]`. Writes `out: [g, d]`, `lse: [g]`.
#[allow(clippy::too_many_arguments)]
pub fn weighted_attend(
    q: &[f32],
    g: usize,
    d: usize,
    scale: f32,
    centroids: &[f32],
    value_sums: &[f32],
    sizes: &[u32],
    out: &mut [f32],
    lse: &mut [f32],
) -> Result<()> {
    let m = sizes.len();
    if q.len() < g * d || centroids.len() < m * d {
        return Err(Error::Shape(format!(
            "weighted attention: q {} centroids {} for g {g} m {m} d {d}",
            q.len(),
            centroids.len()
        )));
    }
    let mut raw = vec![0.0f32; g * m];
    for h in 0..g {
        for c in 0..m {
            raw[h * m + c] = dot(&q[h * d..(h + 1) * d], &centroids[c * d..(c + 1) * d]);
        }
    }
    let ids: Vec<u32> = (0..m as u32).collect();
    weighted_attend_scored(
        ScoredClusters {
            raw: &raw,
            ld: m,
            g,
        },
        scale,
        &ids,
        value_sums,
        sizes,
        d,
        &mut WeightedScratch::default(),
        out,
        lse,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rnd;

    /// f64 reference of spec §1.3.
    fn reference(
        q: &[f32],
        g: usize,
        d: usize,
        cen: &[f32],
        vs: &[f32],
        sz: &[u32],
    ) -> (Vec<f64>, Vec<f64>) {
        let m = sz.len();
        let mut out = vec![0.0; g * d];
        let mut lse = vec![f64::NEG_INFINITY; g];
        for h in 0..g {
            let s: Vec<f64> = (0..m)
                .map(|c| {
                    (0..d)
                        .map(|i| q[h * d + i] as f64 * cen[c * d + i] as f64)
                        .sum::<f64>()
                        / (d as f64).sqrt()
                })
                .collect();
            let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let den: f64 = (0..m).map(|c| sz[c] as f64 * (s[c] - mx).exp()).sum();
            for i in 0..d {
                out[h * d + i] = (0..m)
                    .map(|c| (s[c] - mx).exp() * vs[c * d + i] as f64)
                    .sum::<f64>()
                    / den;
            }
            lse[h] = mx + den.ln();
        }
        (out, lse)
    }

    /// Against the f64 reference: sizes 1…300 (above bf16's exact-integer range), scores up to
    /// ±20, empty clusters, d = 64 and 80 (no SIMD path for P·V widths), g = 1 and 7.
    /// Floors: 1e-5 relative on outputs, 1e-5 absolute on LSE.
    #[test]
    fn matches_f64_reference() -> Result<()> {
        for &(g, d, m) in &[(7usize, 64usize, 300usize), (1, 80, 17), (3, 64, 1)] {
            let q: Vec<f32> = rnd(g * d, 1).iter().map(|x| x * 4.0).collect();
            let cen: Vec<f32> = rnd(m * d, 2).iter().map(|x| x * 4.0).collect();
            let sz: Vec<u32> = (0..m)
                .map(|c| {
                    if c % 11 == 5 {
                        0
                    } else {
                        1 + (c as u32 * 37) % 300
                    }
                })
                .collect();
            let vs: Vec<f32> = rnd(m * d, 3)
                .iter()
                .enumerate()
                .map(|(i, x)| x * sz[i / d] as f32)
                .collect();
            let (mut out, mut lse) = (vec![0.0; g * d], vec![0.0; g]);
            weighted_attend(
                &q,
                g,
                d,
                1.0 / (d as f32).sqrt(),
                &cen,
                &vs,
                &sz,
                &mut out,
                &mut lse,
            )?;
            let (ro, rl) = reference(&q, g, d, &cen, &vs, &sz);
            let scale = ro.iter().map(|x| x.abs()).fold(0.0, f64::max).max(1e-3);
            for (a, b) in out.iter().zip(&ro) {
                assert!(((*a as f64) - b).abs() <= 1e-5 * scale, "{a} vs {b}");
            }
            for (a, b) in lse.iter().zip(&rl) {
                assert!(
                    ((*a as f64) - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "lse {a} vs {b}"
                );
            }
        }
        // Nothing selected, or only empty clusters: −∞ and zeros.
        let (mut out, mut lse) = (vec![1.0; 4], vec![0.0; 1]);
        weighted_attend(
            &[1.0; 4],
            1,
            4,
            0.5,
            &[1.0; 4],
            &[0.0; 4],
            &[0],
            &mut out,
            &mut lse,
        )?;
        assert_eq!((out, lse[0]), (vec![0.0; 4], f32::NEG_INFINITY));
        Ok(())
    }
}
