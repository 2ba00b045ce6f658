//! The portable matmul: dequantize a tile of W rows to f32, then f32 dot products. It is the
//! fallback on CPUs without AVX2 and the oracle of the fast paths' tests.

use rayon::prelude::*;

use super::QMatrix;
use crate::Result;

/// Portable path: dequantize a tile of W rows once, dot with every x row.
pub fn reference_matmul(w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    const TILE: usize = 16;
    let (n, k) = (w.rows(), w.cols());
    let tiles: Vec<(usize, Vec<f32>)> = (0..n.div_ceil(TILE))
        .into_par_iter()
        .map(|t| -> Result<(usize, Vec<f32>)> {
            let r0 = t * TILE;
            let r1 = (r0 + TILE).min(n);
            let mut wt = vec![0.0f32; (r1 - r0) * k];
            for (i, row) in wt.chunks_exact_mut(k).enumerate() {
                w.dequantize_row(r0 + i, row)?;
            }
            let mut out = vec![0.0f32; m * (r1 - r0)];
            for (i, xr) in x.chunks_exact(k).enumerate() {
                for (j, wr) in wt.chunks_exact(k).enumerate() {
                    out[i * (r1 - r0) + j] = crate::ops::dot(xr, wr);
                }
            }
            Ok((r0, out))
        })
        .collect::<Result<_>>()?;
    for (r0, out) in tiles {
        let w_t = out.len() / m.max(1);
        for i in 0..m {
            y[i * n + r0..i * n + r0 + w_t].copy_from_slice(&out[i * w_t..(i + 1) * w_t]);
        }
    }
    Ok(())
}
