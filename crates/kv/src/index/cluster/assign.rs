//! The k-means assignment step: for every token, the centroid of largest inner product.
//!
//! This is the hot loop of index construction (`n × C/S × d` multiply-adds per segmented
//! iteration), so it is a register-blocked GEMM, not a loop of dot products: centroids are kept
//! in the kernels' blocked key layout and tokens play the role of queries in the SIMD score
//! micro-kernel ([`vkv_kernels::attention::micro::scores`]): one 16-centroid load feeds eight
//! tokens' FMAs. A running argmax over centroid tiles keeps the score buffer in L1/L2.

use vkv_kernels::attention::layout;
use vkv_kernels::attention::micro;

/// Tokens per score tile (a multiple of the micro-kernel's 8 rows).
const ROWS: usize = 32;
/// Centroids per score tile (a multiple of the 16-token block).
const COLS: usize = 256;

/// Centroids `[n, d]` in the blocked layout.
#[derive(Debug, Clone, Default)]
pub struct BlockedCentroids {
    /// Blocked elements (`key_len(n, d)`).
    pub data: Vec<f32>,
    /// Centroids.
    pub n: usize,
    /// Dimension.
    pub d: usize,
}

impl BlockedCentroids {
    /// From row-major centroids `[n, d]`.
    pub fn from_rows(rows: &[f32], d: usize) -> Self {
        Self {
            data: layout::to_blocked(rows, d),
            n: rows.len() / d.max(1),
            d,
        }
    }
}

/// Largest value of `x` and its first index (`−∞, 0` when empty). Sixteen independent lanes
/// (strict `>` keeps each lane's first maximum), so the loop vectorizes to compares and blends.
fn row_argmax(x: &[f32]) -> (f32, u32) {
    const L: usize = 16;
    let mut bv = [f32::NEG_INFINITY; L];
    let mut bi = [0u32; L];
    let chunks = x.chunks_exact(L);
    let rem = chunks.remainder();
    for (c, ch) in chunks.enumerate() {
        for l in 0..L {
            let better = ch[l] > bv[l];
            bv[l] = if better { ch[l] } else { bv[l] };
            bi[l] = if better { (c * L + l) as u32 } else { bi[l] };
        }
    }
    let base = x.len() - rem.len();
    let (mut v, mut i) = (f32::NEG_INFINITY, 0u32);
    for l in 0..L {
        if bv[l] > v || (bv[l] == v && bi[l] < i) {
            (v, i) = (bv[l], bi[l]);
        }
    }
    for (j, &y) in rem.iter().enumerate() {
        if y > v {
            (v, i) = (y, (base + j) as u32);
        }
    }
    (v, i)
}

/// `out[t] = argmax_c ⟨x_t, c⟩` over the centroids (first on ties) for the rows `x: [m, d]`.
pub fn assign_argmax(x: &[f32], cb: &BlockedCentroids, out: &mut [u32]) {
    let d = cb.d;
    let m = (x.len() / d.max(1)).min(out.len());
    if cb.n == 0 || d == 0 {
        out[..m].fill(0);
        return;
    }
    let mut s = vec![0.0f32; ROWS * COLS];
    let mut best = [f32::NEG_INFINITY; ROWS];
    let mut r0 = 0;
    while r0 < m {
        let rows = (m - r0).min(ROWS);
        best[..rows].fill(f32::NEG_INFINITY);
        out[r0..r0 + rows].fill(0);
        let mut c0 = 0;
        while c0 < cb.n {
            let cols = (cb.n - c0).min(COLS);
            let nb = cols.div_ceil(layout::BLOCK);
            micro::scores::<f32>(
                &x[r0 * d..(r0 + rows) * d],
                rows,
                d,
                &cb.data[c0 * d..],
                nb,
                &mut s,
                COLS,
            );
            for r in 0..rows {
                let (bv, bi) = row_argmax(&s[r * COLS..r * COLS + cols]);
                if bv > best[r] {
                    best[r] = bv;
                    out[r0 + r] = c0 as u32 + bi;
                }
            }
            c0 += cols;
        }
        r0 += rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rnd;

    #[test]
    fn row_argmax_first_maximum() {
        let mut x = vec![0.0f32; 50];
        x[7] = 3.0;
        x[23] = 3.0;
        x[40] = 2.0;
        assert_eq!(row_argmax(&x), (3.0, 7));
        x[49] = 5.0;
        assert_eq!(row_argmax(&x), (5.0, 49));
        assert_eq!(row_argmax(&[]), (f32::NEG_INFINITY, 0));
    }

    /// Against a scalar argmax, with centroid counts that cross tiles and blocks (1, 17, 300,
    /// 513) and token counts that are not multiples of the row tile.
    #[test]
    fn matches_scalar_argmax() {
        let d = 64;
        for &(m, n) in &[(1usize, 1usize), (45, 17), (100, 300), (33, 513)] {
            let x = rnd(m * d, m as u64);
            let c = rnd(n * d, n as u64 + 7);
            let cb = BlockedCentroids::from_rows(&c, d);
            let mut got = vec![0u32; m];
            assign_argmax(&x, &cb, &mut got);
            for t in 0..m {
                let sc: Vec<f32> = (0..n)
                    .map(|j| vkv_kernels::ops::dot(&x[t * d..(t + 1) * d], &c[j * d..(j + 1) * d]))
                    .collect();
                let want = sc
                    .iter()
                    .enumerate()
                    .fold(0, |b, (j, v)| if *v > sc[b] { j } else { b });
                // Summation order differs from the dot product: accept a near-tie.
                assert!(
                    got[t] as usize == want || (sc[got[t] as usize] - sc[want]).abs() < 1e-5,
                    "m={m} n={n} t={t}"
                );
            }
        }
    }
}
