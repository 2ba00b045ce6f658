//! Segmented spherical k-means, exactly as RetroInfer's `segment_k_means` (spec §3.5 step 5).
//!
//! Input: mean-centred keys `x: [n, d]` ([`mean_center`]).
//! 1. Init: centroid `i` = token `⌊(i + ½)·n / C⌋` (strided; centroid i starts in segment
//!    ≈ ⌊i·S/C⌋).
//! 2. Iterations 1 … iters−1 are **segmented**: the first `S·⌊n/S⌋` tokens form S independent
//!    problems of `⌊n/S⌋` tokens and `C/S` centroids each (segment s owns centroids
//!    `s·C/S .. (s+1)·C/S`). Assignment `argmax_c ⟨x, c⟩`; update `c = mean(assigned)`, then
//!    L2-normalised; an empty cluster keeps its centroid.
//! 3. The last iteration is **global**: every token (the remainder too) goes to the argmax over
//!    all C centroids, and centroids become the plain (unnormalised) means of their members.
//!    Its assignment is the result.
//!
//! Why segmented: keys close in position are similar, so clustering within ~8K-token segments
//! costs `O(n·C/S)` instead of `O(n·C)`; the global pass repairs tokens whose best centroid
//! lies in another segment. Unlike the reference (atomics), everything here is deterministic:
//! ties go to the lower centroid and sums run in token order.

use vkv_kernels::ops::axpy;

use super::assign::{assign_argmax, BlockedCentroids};
use crate::{Error, Result};

/// Shape of one clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmeansParams {
    /// Clusters C (a multiple of `n_segments`).
    pub n_clusters: usize,
    /// Segments S.
    pub n_segments: usize,
    /// Iterations (the last one global).
    pub iters: usize,
}

/// The result of [`segmented_kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Centroids `[C, d]` in the centred space: members' plain means (empty clusters keep their
    /// last segmented, normalised value and have size 0).
    pub centroids: Vec<f32>,
    /// Cluster of each token, `[n]`.
    pub assign: Vec<u32>,
    /// Members per cluster, `[C]`.
    pub sizes: Vec<u32>,
}

/// Subtract the mean row from `x: [n, d]` in place; returns the mean `μ: [d]` (accumulated in
/// f64).
pub fn mean_center(x: &mut [f32], d: usize) -> Vec<f32> {
    let n = x.len() / d.max(1);
    let mut acc = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (a, v) in acc.iter_mut().zip(row) {
            *a += *v as f64;
        }
    }
    let mu: Vec<f32> = acc.iter().map(|a| (a / n.max(1) as f64) as f32).collect();
    for row in x.chunks_exact_mut(d) {
        for (v, m) in row.iter_mut().zip(&mu) {
            *v -= m;
        }
    }
    mu
}

/// Strided initial positions `⌊(i + ½)·n / C⌋` for `i < C`.
pub fn init_positions(n: usize, c: usize) -> Vec<usize> {
    (0..c).map(|i| ((2 * i + 1) * n) / (2 * c)).collect()
}

/// Assign `x` to `cent` (`[k, d]` rows), then recompute each non-empty centroid as the mean of
/// its members (normalised if `normalise`); returns the assignment and sizes.
fn step(x: &[f32], d: usize, cent: &mut [f32], normalise: bool) -> (Vec<u32>, Vec<u32>) {
    let k = cent.len() / d;
    let cb = BlockedCentroids::from_rows(cent, d);
    let mut assign = vec![0u32; x.len() / d];
    assign_argmax(x, &cb, &mut assign);
    let mut sums = vec![0.0f32; k * d];
    let mut sizes = vec![0u32; k];
    for (row, &a) in x.chunks_exact(d).zip(&assign) {
        axpy(&mut sums[a as usize * d..(a as usize + 1) * d], 1.0, row);
        sizes[a as usize] += 1;
    }
    for c in 0..k {
        if sizes[c] == 0 {
            continue;
        }
        let s = &sums[c * d..(c + 1) * d];
        let div = if normalise {
            s.iter().map(|v| v * v).sum::<f32>().sqrt()
        } else {
            sizes[c] as f32
        };
        let dst = &mut cent[c * d..(c + 1) * d];
        if div > 0.0 {
            for (o, v) in dst.iter_mut().zip(s) {
                *o = v / div;
            }
        } else {
            dst.copy_from_slice(s); // a zero mean stays zero
        }
    }
    (assign, sizes)
}

/// Cluster `x: [n, d]` (mean-centred keys) as described in the module docs.
pub fn segmented_kmeans(x: &[f32], d: usize, p: &KmeansParams) -> Result<Clustering> {
    let n = x.len() / d.max(1);
    let (c, s) = (p.n_clusters, p.n_segments);
    if d == 0 || n == 0 || c == 0 || s == 0 || c % s != 0 || n < s || p.iters == 0 {
        return Err(Error::Config(format!(
            "k-means: {n} tokens of dim {d} into {c} clusters over {s} segments, {} iterations",
            p.iters
        )));
    }
    let mut cent = vec![0.0f32; c * d];
    for (i, pos) in init_positions(n, c).into_iter().enumerate() {
        cent[i * d..(i + 1) * d].copy_from_slice(&x[pos * d..(pos + 1) * d]);
    }
    let (len, cs) = (n / s, c / s);
    for _ in 1..p.iters {
        for seg in 0..s {
            let xs = &x[seg * len * d..(seg + 1) * len * d];
            step(xs, d, &mut cent[seg * cs * d..(seg + 1) * cs * d], true);
        }
    }
    let (assign, sizes) = step(x, d, &mut cent, false);
    Ok(Clustering {
        centroids: cent,
        assign,
        sizes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rnd;

    /// Planted clusters: `per_seg` tight blobs per segment around random directions, each blob a
    /// contiguous run of `pts` tokens (the positional locality segmented clustering relies on).
    /// Returns (points, blob of each point).
    pub(crate) fn planted(
        n_seg: usize,
        per_seg: usize,
        pts: usize,
        d: usize,
        seed: u64,
    ) -> (Vec<f32>, Vec<usize>) {
        let centres = rnd(n_seg * per_seg * d, seed);
        let noise = rnd(n_seg * per_seg * pts * d, seed + 1);
        let (mut x, mut lab) = (Vec::new(), Vec::new());
        for s in 0..n_seg {
            for t in 0..per_seg * pts {
                let b = s * per_seg + t / pts;
                let i = x.len();
                x.extend((0..d).map(|j| 3.0 * centres[b * d + j] + 0.05 * noise[i + j]));
                lab.push(b);
            }
        }
        (x, lab)
    }

    #[test]
    fn init_is_strided() {
        assert_eq!(init_positions(10, 4), vec![1, 3, 6, 8]);
        assert_eq!(init_positions(8192 * 4, 2048)[..3], [8, 24, 40]);
        assert_eq!(*init_positions(1000, 1000).last().unwrap_or(&0), 999);
    }

    /// Deterministic; every token assigned; sizes sum to n; centroids are the members' means.
    #[test]
    fn invariants() -> Result<()> {
        let d = 32;
        let mut x = rnd(1003 * d, 9);
        mean_center(&mut x, d);
        let p = KmeansParams {
            n_clusters: 64,
            n_segments: 4,
            iters: 10,
        };
        let a = segmented_kmeans(&x, d, &p)?;
        assert_eq!(a, segmented_kmeans(&x, d, &p)?, "deterministic");
        assert_eq!(a.assign.len(), 1003);
        assert!(a.assign.iter().all(|&c| c < 64));
        assert_eq!(a.sizes.iter().sum::<u32>(), 1003);
        for c in 0..64 {
            let members: Vec<usize> = (0..1003).filter(|&t| a.assign[t] == c as u32).collect();
            assert_eq!(members.len(), a.sizes[c] as usize);
            if members.is_empty() {
                continue;
            }
            for j in 0..d {
                let mean = members.iter().map(|&t| x[t * d + j] as f64).sum::<f64>()
                    / members.len() as f64;
                assert!(
                    (a.centroids[c * d + j] as f64 - mean).abs() < 1e-5,
                    "cluster {c} dim {j}"
                );
            }
        }
        assert!(segmented_kmeans(
            &x,
            d,
            &KmeansParams {
                n_clusters: 63,
                n_segments: 4,
                iters: 10
            }
        )
        .is_err());
        Ok(())
    }

    /// Planted blobs (8 per segment, 4 segments) are recovered both with 4 segments and with one
    /// global problem: every k-means cluster is pure (≥ 99% of its members from one blob) and
    /// every blob has a cluster. Then the global pass's repair: 3 points of a segment-0 blob
    /// moved to the end of segment 3 (where no centroid of their blob exists during the
    /// segmented iterations) end up in a cluster with their blob's other points.
    #[test]
    fn recovers_planted_clusters() -> Result<()> {
        let d = 64;
        let (mut x, mut lab) = planted(4, 8, 64, d, 3);
        let moved: Vec<usize> = (0..lab.len()).filter(|&t| lab[t] == 0).take(3).collect();
        for &t in moved.iter().rev() {
            let row: Vec<f32> = x.drain(t * d..(t + 1) * d).collect();
            x.extend(row);
            lab.remove(t);
            lab.push(0);
        }
        for segs in [1usize, 4] {
            let a = segmented_kmeans(
                &x,
                d,
                &KmeansParams {
                    n_clusters: 64,
                    n_segments: segs,
                    iters: 10,
                },
            )?;
            let mut covered = [false; 32];
            for c in 0..64u32 {
                let mut hist = [0usize; 32];
                for t in 0..lab.len() {
                    if a.assign[t] == c {
                        hist[lab[t]] += 1;
                    }
                }
                let (tot, top) = (
                    hist.iter().sum::<usize>(),
                    hist.iter().copied().max().unwrap_or(0),
                );
                if tot > 0 {
                    assert!(
                        top as f64 >= 0.99 * tot as f64,
                        "segs {segs}: cluster {c} impure {hist:?}"
                    );
                    covered[hist.iter().position(|&h| h == top).unwrap_or(0)] = true;
                }
            }
            assert!(
                covered.iter().all(|&c| c),
                "segs {segs}: a planted blob has no cluster"
            );
            let n = lab.len();
            for t in n - 3..n {
                let mates = (0..n - 3)
                    .filter(|&u| a.assign[u] == a.assign[t] && lab[u] == 0)
                    .count();
                assert!(
                    mates > 0,
                    "segs {segs}: moved point {t} did not rejoin its blob"
                );
            }
        }
        Ok(())
    }
}
