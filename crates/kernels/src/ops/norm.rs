//! RMSNorm: `y = x / sqrt(mean(x²) + eps) · w`, accumulated in f64 as llama.cpp does.

use crate::{Error, Result};

/// RMSNorm of every row of `x` (`[m, w.len()]`) into `y`.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, y: &mut [f32]) -> Result<()> {
    let n = w.len();
    if n == 0 || x.len() % n != 0 || y.len() != x.len() {
        return Err(Error::Shape(format!("rms_norm: x {} w {n} y {}", x.len(), y.len())));
    }
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let ss: f64 = xr.iter().map(|v| (*v as f64) * (*v as f64)).sum();
        let scale = (1.0 / (ss / n as f64 + eps as f64).sqrt()) as f32;
        for ((o, v), g) in yr.iter_mut().zip(xr).zip(w) {
            *o = v * scale * g;
        }
    }
    Ok(())
}

/// RMSNorm in place (per-head QK-norm, final norm).
pub fn rms_norm_inplace(x: &mut [f32], w: &[f32], eps: f32) -> Result<()> {
    let n = w.len();
    if n == 0 || x.len() % n != 0 {
        return Err(Error::Shape(format!("rms_norm: x {} w {n}", x.len())));
    }
    for xr in x.chunks_exact_mut(n) {
        let ss: f64 = xr.iter().map(|v| (*v as f64) * (*v as f64)).sum();
        let scale = (1.0 / (ss / n as f64 + eps as f64).sqrt()) as f32;
        for (v, g) in xr.iter_mut().zip(w) {
            *v *= scale * g;
        }
    }
    Ok(())
}
