//! Ranking clusters for a GQA group (spec §3.6 step 1, the reference's `batch_gemm_softmax`):
//!
//! ```text
//! P[h, c]  = softmax_c( q_h · centroid_c / √d )     for each query head h of the group
//! dist[c]  = Σ_h P[h, c];   dist[c] = −∞ for empty clusters
//! ```
//! Summing per-head probabilities (rather than raw scores) lets every head vote with equal
//! weight; the same clusters then serve all G heads. Cluster size is deliberately ignored, as in
//! the reference.

use vkv_kernels::attention::micro;

use super::ScoredClusters;
use crate::{Error, Result};

/// Fill `dist[..n]` from the raw scores of `n` clusters (`sizes[c] == 0` marks an empty one).
/// `tmp` is scratch (grown to `2n`).
pub fn group_cluster_scores(
    sc: ScoredClusters<'_>,
    n: usize,
    scale: f32,
    sizes: &[u32],
    dist: &mut [f32],
    tmp: &mut Vec<f32>,
) -> Result<()> {
    if dist.len() < n
        || sizes.len() < n
        || sc.ld < n
        || sc.raw.len() < sc.g.saturating_sub(1) * sc.ld + n
    {
        return Err(Error::Shape(format!(
            "cluster scores: n {n} ld {} g {}",
            sc.ld, sc.g
        )));
    }
    let dist = &mut dist[..n];
    dist.fill(0.0);
    let c2 = scale * std::f32::consts::LOG2_E;
    // 0 for live clusters, −∞ for empty ones: added to the scores, it masks them.
    tmp.clear();
    tmp.extend(
        sizes[..n]
            .iter()
            .map(|&s| if s == 0 { f32::NEG_INFINITY } else { 0.0 }),
    );
    tmp.resize(2 * n, 0.0);
    let (mask, t) = tmp.split_at_mut(n);
    for h in 0..sc.g {
        let row = &sc.raw[h * sc.ld..h * sc.ld + n];
        for ((x, r), mk) in t.iter_mut().zip(row).zip(mask.iter()) {
            *x = r * c2 + mk;
        }
        let m = super::reduce::max(t);
        if m == f32::NEG_INFINITY {
            continue;
        }
        let sum = micro::exp2_inplace(t, m);
        let inv = 1.0 / sum;
        for (dv, x) in dist.iter_mut().zip(t.iter()) {
            *dv += x * inv;
        }
    }
    for (dv, mk) in dist.iter_mut().zip(mask.iter()) {
        *dv += mk;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sum_over_heads() -> Result<()> {
        // Two heads, three clusters, the middle one empty.
        let raw = [0.0f32, 5.0, 2.0, /* pad */ 9.0, 1.0, 50.0, 1.0, 9.0];
        let mut dist = [0.0f32; 3];
        group_cluster_scores(
            ScoredClusters {
                raw: &raw,
                ld: 4,
                g: 2,
            },
            3,
            0.5,
            &[3, 0, 1],
            &mut dist,
            &mut Vec::new(),
        )?;
        let p = |a: f64, b: f64| (a * 0.5).exp() / ((a * 0.5).exp() + (b * 0.5).exp());
        let want0 = p(0.0, 2.0) + p(1.0, 1.0);
        let want2 = p(2.0, 0.0) + p(1.0, 1.0);
        assert!(
            (dist[0] as f64 - want0).abs() < 1e-6 && (dist[2] as f64 - want2).abs() < 1e-6,
            "{dist:?}"
        );
        assert_eq!(dist[1], f32::NEG_INFINITY);
        Ok(())
    }
}
