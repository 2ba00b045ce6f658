//! RMSNorm: `y = x / sqrt(mean(x²) + eps) · w`, with ggml's exact arithmetic (see [`rms_scale`]).

use crate::{Error, Result};

/// `1/sqrt(mean(x²) + eps)` as ggml computes it: squares in f32, summed in f64, the mean and
/// the root in f32 (so that scales match llama.cpp's to the last bit).
#[inline]
fn rms_scale(x: &[f32], eps: f32) -> f32 {
    let ss: f64 = x.iter().map(|v| (v * v) as f64).sum();
    let mean = (ss / x.len() as f64) as f32;
    1.0 / (mean + eps).sqrt()
}

/// RMSNorm of every row of `x` (`[m, w.len()]`) into `y`.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, y: &mut [f32]) -> Result<()> {
    let n = w.len();
    if n == 0 || !x.len().is_multiple_of(n) || y.len() != x.len() {
        return Err(Error::Shape(format!(
            "rms_norm: x {} w {n} y {}",
            x.len(),
            y.len()
        )));
    }
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let scale = rms_scale(xr, eps);
        for ((o, v), g) in yr.iter_mut().zip(xr).zip(w) {
            *o = v * scale * g;
        }
    }
    Ok(())
}

/// RMSNorm in place (per-head QK-norm, final norm).
pub fn rms_norm_inplace(x: &mut [f32], w: &[f32], eps: f32) -> Result<()> {
    let n = w.len();
    if n == 0 || !x.len().is_multiple_of(n) {
        return Err(Error::Shape(format!("rms_norm: x {} w {n}", x.len())));
    }
    for xr in x.chunks_exact_mut(n) {
        let scale = rms_scale(xr, eps);
        for (v, g) in xr.iter_mut().zip(w) {
            *v *= scale * g;
        }
    }
    Ok(())
}
