//! Building one (layer, kv head)'s clusters from its K/V rows (spec §3.5 steps 4–6): mean-centre
//! the keys, cluster them ([`segmented_kmeans`]), and lay out the tokens cluster-contiguously
//! ([`record`]) with the meta entries of each cluster: centroid (`+ μ`, back in key space),
//! value sum and size (f32/u32, never a half type: bf16 sizes lose exactness above 256).
//!
//! Members of a cluster are ordered by position (a stable counting sort), so the layout is
//! deterministic.

use vkv_kernels::attention::KvElem;
use vkv_kernels::ops::axpy;

use super::kmeans::{mean_center, segmented_kmeans, KmeansParams};
use super::record::push_record;
use crate::{Error, Result};

/// The clusters of one token set.
#[derive(Debug, Clone)]
pub struct BuiltClusters<E> {
    /// Centroids in key space, `[C, d]`.
    pub centroids: Vec<f32>,
    /// Σ of member values, `[C, d]`.
    pub value_sums: Vec<f32>,
    /// Members per cluster, `[C]`.
    pub sizes: Vec<u32>,
    /// Token positions in record order (cluster 0's members, then cluster 1's, …), `[n]`.
    pub positions: Vec<u32>,
    /// The records, concatenated in cluster order (`2·n·d` elements).
    pub records: Vec<E>,
}

/// Cluster the tokens `keys, values: [n, d]` at `positions: [n]`.
pub fn build_clusters<E: KvElem>(
    keys: &[f32],
    values: &[f32],
    positions: &[u32],
    d: usize,
    p: &KmeansParams,
) -> Result<BuiltClusters<E>> {
    let n = positions.len();
    if keys.len() != n * d || values.len() != n * d {
        return Err(Error::Shape(format!(
            "cluster build: {} key and {} value elements for {n} tokens of {d}",
            keys.len(),
            values.len()
        )));
    }
    let mut x = keys.to_vec();
    let mu = mean_center(&mut x, d);
    let cl = segmented_kmeans(&x, d, p)?;
    drop(x);
    let c = p.n_clusters;
    // Counting sort by cluster, stable in position order.
    let mut start = vec![0usize; c + 1];
    for &a in &cl.assign {
        start[a as usize + 1] += 1;
    }
    for i in 0..c {
        start[i + 1] += start[i];
    }
    let mut order = vec![0u32; n];
    let mut fill = start.clone();
    for (t, &a) in cl.assign.iter().enumerate() {
        order[fill[a as usize]] = t as u32;
        fill[a as usize] += 1;
    }
    let mut records = Vec::with_capacity(2 * n * d);
    let mut value_sums = vec![0.0f32; c * d];
    let mut centroids = cl.centroids;
    for k in 0..c {
        let rows = &order[start[k]..start[k + 1]];
        push_record(&mut records, keys, values, rows, d);
        for &r in rows {
            axpy(
                &mut value_sums[k * d..(k + 1) * d],
                1.0,
                &values[r as usize * d..(r as usize + 1) * d],
            );
        }
        for (x, m) in centroids[k * d..(k + 1) * d].iter_mut().zip(&mu) {
            *x += m;
        }
    }
    let positions = order.iter().map(|&r| positions[r as usize]).collect();
    Ok(BuiltClusters {
        centroids,
        value_sums,
        sizes: cl.sizes,
        positions,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::super::record::unpack;
    use super::*;
    use crate::testutil::rnd;

    /// Records hold exactly the members (in position order), value sums and centroids match the
    /// members (centroid = mean key, the `+μ` restored), every token appears once.
    #[test]
    fn layout_and_meta_are_consistent() -> Result<()> {
        let (n, d) = (700, 16);
        let keys: Vec<f32> = rnd(n * d, 1).iter().map(|x| x + 2.0).collect(); // far from the origin: μ matters
        let values = rnd(n * d, 2);
        let positions: Vec<u32> = (0..n as u32).map(|t| 100 + t).collect();
        let b: BuiltClusters<f32> = build_clusters(
            &keys,
            &values,
            &positions,
            d,
            &KmeansParams {
                n_clusters: 40,
                n_segments: 2,
                iters: 10,
            },
        )?;
        let mut seen = vec![false; n];
        let mut off = 0;
        for k in 0..40 {
            let sz = b.sizes[k] as usize;
            let pos = &b.positions[off..off + sz];
            assert!(
                pos.windows(2).all(|w| w[0] < w[1]),
                "members in position order"
            );
            let (rk, rv) = unpack(&b.records[2 * off * d..], sz, d);
            for (j, &p) in pos.iter().enumerate() {
                let t = (p - 100) as usize;
                assert!(!seen[t]);
                seen[t] = true;
                assert_eq!(rk[j * d..(j + 1) * d], keys[t * d..(t + 1) * d]);
                assert_eq!(rv[j * d..(j + 1) * d], values[t * d..(t + 1) * d]);
            }
            for i in 0..d {
                let vs: f32 = pos
                    .iter()
                    .map(|&p| values[(p as usize - 100) * d + i])
                    .sum();
                assert!((b.value_sums[k * d + i] - vs).abs() < 1e-4);
                if sz > 0 {
                    let mk = pos
                        .iter()
                        .map(|&p| keys[(p as usize - 100) * d + i])
                        .sum::<f32>()
                        / sz as f32;
                    assert!(
                        (b.centroids[k * d + i] - mk).abs() < 1e-4,
                        "centroid {k} dim {i}: {} vs {mk}",
                        b.centroids[k * d + i]
                    );
                }
            }
            off += sz;
        }
        assert!(seen.iter().all(|&s| s) && off == n && b.records.len() == 2 * n * d);
        Ok(())
    }
}
