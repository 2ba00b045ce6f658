//! Elementwise and row ops on f32 activations: norms, RoPE, activations, vector primitives.
//!
//! Vector primitives (`dot`, `axpy`) dispatch at run time to AVX-512/AVX2 bodies in [`simd`];
//! the portable bodies next to them are the reference the SIMD tests compare against.

mod norm;
mod rope;
pub mod simd;

pub use norm::{rms_norm, rms_norm_inplace};
pub use rope::{RopeCache, RopeStyle};
pub use simd::{axpy, axpy_f16, dot, dot_f16};

use crate::{Error, Result};

/// `a += b`, elementwise.
pub fn add_assign(a: &mut [f32], b: &[f32]) -> Result<()> {
    if a.len() != b.len() {
        return Err(Error::Shape(format!("add: {} vs {}", a.len(), b.len())));
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    Ok(())
}

/// Add a bias row to every row of `x` (`x: [m, bias.len()]`).
pub fn add_bias(x: &mut [f32], bias: &[f32]) -> Result<()> {
    if bias.is_empty() || !x.len().is_multiple_of(bias.len()) {
        return Err(Error::Shape(format!(
            "bias of {} over {}",
            bias.len(),
            x.len()
        )));
    }
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
    Ok(())
}

/// SwiGLU: `gate[i] = silu(gate[i]) * up[i]`, `silu(x) = x / (1 + e^(−x))`.
pub fn silu_mul(gate: &mut [f32], up: &[f32]) -> Result<()> {
    if gate.len() != up.len() {
        return Err(Error::Shape(format!(
            "silu_mul: {} vs {}",
            gate.len(),
            up.len()
        )));
    }
    #[cfg(target_arch = "x86_64")]
    {
        if crate::cpu::features().avx512 {
            // SAFETY: AVX-512 detected; lengths are equal.
            unsafe { simd::silu_mul_avx512(gate, up) };
            return Ok(());
        }
    }
    silu_mul_scalar(gate, up);
    Ok(())
}

/// Reference for [`silu_mul`].
pub fn silu_mul_scalar(gate: &mut [f32], up: &[f32]) {
    for (g, u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}

/// Index of the largest element (first on ties), or 0 for an empty slice.
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in x.iter().enumerate() {
        if *v > x[best] {
            best = i;
        }
    }
    best
}

/// In-place softmax; returns log-sum-exp. An empty slice returns −∞.
pub fn softmax_inplace(x: &mut [f32]) -> f32 {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return m;
    }
    let mut s = 0.0f64;
    for v in x.iter_mut() {
        *v = (*v - m).exp();
        s += *v as f64;
    }
    let inv = (1.0 / s) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
    m + (s as f32).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_lse_matches_f64() {
        let mut x = vec![1.0f32, -2.0, 3.5, 0.25, 3.5];
        let lse64 = x.iter().map(|v| (*v as f64).exp()).sum::<f64>().ln();
        let lse = softmax_inplace(&mut x);
        assert!((lse as f64 - lse64).abs() < 1e-6);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&x), 2);
    }

    /// Vector SwiGLU vs scalar: relative error ≤ 1e-6 (exp2 polynomial ~1.2e-7) over a wide
    /// range, including large |x| where e^(−x) over/underflows.
    #[test]
    fn silu_mul_matches_scalar() -> Result<()> {
        let x: Vec<f32> = (0..1037).map(|i| (i as f32 - 518.0) * 0.37).collect();
        let u: Vec<f32> = (0..1037).map(|i| 1.0 + (i % 7) as f32 * 0.25).collect();
        let mut a = x.clone();
        let mut b = x.clone();
        silu_mul(&mut a, &u)?;
        silu_mul_scalar(&mut b, &u);
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 1e-6 * q.abs().max(1e-3), "{p} vs {q}");
        }
        Ok(())
    }

    #[test]
    fn shape_errors() {
        assert!(add_assign(&mut [1.0], &[1.0, 2.0]).is_err());
        assert!(silu_mul(&mut [1.0], &[]).is_err());
        assert!(add_bias(&mut [1.0, 2.0, 3.0], &[1.0, 2.0]).is_err());
    }
}
