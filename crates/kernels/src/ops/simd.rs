//! Vector primitives with run-time dispatch: f32·f32 and f32·f16 dot products, and axpy.
//!
//! These are the inner loops of exact attention (scores against f16 keys, value accumulation)
//! and of the portable matmul. Each has a scalar body (`*_scalar`, the reference) and AVX2 /
//! AVX-512 bodies selected once per call from [`crate::cpu::features`].

use half::f16;

use crate::cpu::features;

/// Σ a[i]·b[i] over the common length.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    #[cfg(target_arch = "x86_64")]
    {
        let f = features();
        if f.avx512 {
            // SAFETY: avx512f was detected at run time; lengths are clamped to n.
            return unsafe { x86::dot_avx512(&a[..n], &b[..n]) };
        }
        if f.avx2 {
            // SAFETY: avx2+fma were detected at run time.
            return unsafe { x86::dot_avx2(&a[..n], &b[..n]) };
        }
    }
    dot_scalar(&a[..n], &b[..n])
}

/// Σ a[i]·b[i] with f16 `b`.
#[inline]
pub fn dot_f16(a: &[f32], b: &[f16]) -> f32 {
    let n = a.len().min(b.len());
    #[cfg(target_arch = "x86_64")]
    {
        let f = features();
        if f.avx512 {
            // SAFETY: avx512f was detected at run time.
            return unsafe { x86::dot_f16_avx512(&a[..n], &b[..n]) };
        }
        if f.avx2 {
            // SAFETY: avx2+fma+f16c were detected at run time.
            return unsafe { x86::dot_f16_avx2(&a[..n], &b[..n]) };
        }
    }
    dot_f16_scalar(&a[..n], &b[..n])
}

/// `y[i] += a · x[i]`.
#[inline]
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    let n = y.len().min(x.len());
    #[cfg(target_arch = "x86_64")]
    {
        if features().avx512 {
            // SAFETY: avx512f was detected at run time.
            return unsafe { x86::axpy_avx512(&mut y[..n], a, &x[..n]) };
        }
    }
    for (o, v) in y[..n].iter_mut().zip(&x[..n]) {
        *o += a * v;
    }
}

/// `y[i] += a · x[i]` with f16 `x`.
#[inline]
pub fn axpy_f16(y: &mut [f32], a: f32, x: &[f16]) {
    let n = y.len().min(x.len());
    #[cfg(target_arch = "x86_64")]
    {
        if features().avx512 {
            // SAFETY: avx512f was detected at run time.
            return unsafe { x86::axpy_f16_avx512(&mut y[..n], a, &x[..n]) };
        }
    }
    for (o, v) in y[..n].iter_mut().zip(&x[..n]) {
        *o += a * v.to_f32();
    }
}

/// Reference dot product (f64 accumulation would hide bugs in summation order, so f32 here).
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Reference f32·f16 dot product.
pub fn dot_f16_scalar(a: &[f32], b: &[f16]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y.to_f32()).sum()
}

/// AVX-512 SwiGLU: `g = g / (1 + 2^(−g·log₂e)) · u`.
///
/// # Safety
/// The CPU must support AVX-512F; `g.len() == u.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn silu_mul_avx512(g: &mut [f32], u: &[f32]) {
    use std::arch::x86_64::*;
    let n = g.len().min(u.len());
    let (pg, pu) = (g.as_mut_ptr(), u.as_ptr());
    let nl2e = _mm512_set1_ps(-std::f32::consts::LOG2_E);
    let one = _mm512_set1_ps(1.0);
    let mut i = 0;
    // SAFETY: i + 16 <= n in the loop; the tail is masked.
    unsafe {
        while i < n {
            let m: __mmask16 = if n - i >= 16 {
                0xFFFF
            } else {
                ((1u32 << (n - i)) - 1) as u16
            };
            let x = _mm512_maskz_loadu_ps(m, pg.add(i));
            let e = crate::attention::micro::x86::exp2v(_mm512_mul_ps(x, nl2e));
            let s = _mm512_div_ps(x, _mm512_add_ps(one, e));
            let y = _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, pu.add(i)));
            _mm512_mask_storeu_ps(pg.add(i), m, y);
            i += 16;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use half::f16;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads below): i + 32 <= n or i + 16 <= n checked by the loop bounds.
        unsafe {
            while i + 32 <= n {
                acc0 =
                    _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
                acc1 = _mm512_fmadd_ps(
                    _mm512_loadu_ps(pa.add(i + 16)),
                    _mm512_loadu_ps(pb.add(i + 16)),
                    acc1,
                );
                i += 32;
            }
            while i + 16 <= n {
                acc0 =
                    _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc0);
                i += 16;
            }
            if i < n {
                let m: __mmask16 = (1u32 << (n - i)) as u16 - 1;
                acc1 = _mm512_fmadd_ps(
                    _mm512_maskz_loadu_ps(m, pa.add(i)),
                    _mm512_maskz_loadu_ps(m, pb.add(i)),
                    acc1,
                );
            }
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: i + 8 <= n by the loop bound.
        unsafe {
            while i + 8 <= n {
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc);
                i += 8;
            }
        }
        // SAFETY: avx2 is enabled on this function.
        let mut s = unsafe { hsum256(acc) };
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn dot_f16_avx512(a: &[f32], b: &[f16]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr() as *const u16);
        let mut acc0 = _mm512_setzero_ps();
        let mut acc1 = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY: loads stay within n by the loop bounds and masks.
        unsafe {
            while i + 32 <= n {
                let b0 = _mm512_cvtph_ps(_mm256_loadu_si256(pb.add(i) as *const __m256i));
                let b1 = _mm512_cvtph_ps(_mm256_loadu_si256(pb.add(i + 16) as *const __m256i));
                acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), b0, acc0);
                acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i + 16)), b1, acc1);
                i += 32;
            }
            while i + 16 <= n {
                let b0 = _mm512_cvtph_ps(_mm256_loadu_si256(pb.add(i) as *const __m256i));
                acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), b0, acc0);
                i += 16;
            }
            if i < n {
                let m: __mmask16 = (1u32 << (n - i)) as u16 - 1;
                let b0 = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, pb.add(i) as *const i16));
                acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, pa.add(i)), b0, acc1);
            }
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_f16_avx2(a: &[f32], b: &[f16]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr() as *const u16);
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: i + 8 <= n by the loop bound.
        unsafe {
            while i + 8 <= n {
                let bv = _mm256_cvtph_ps(_mm_loadu_si128(pb.add(i) as *const __m128i));
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), bv, acc);
                i += 8;
            }
        }
        // SAFETY: avx2 is enabled on this function.
        let mut s = unsafe { hsum256(acc) };
        while i < n {
            s += a[i] * b[i].to_f32();
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn axpy_avx512(y: &mut [f32], a: f32, x: &[f32]) {
        let n = y.len();
        let (py, px) = (y.as_mut_ptr(), x.as_ptr());
        let va = _mm512_set1_ps(a);
        let mut i = 0;
        // SAFETY: accesses stay within n by the loop bound and mask.
        unsafe {
            while i + 16 <= n {
                let v = _mm512_fmadd_ps(va, _mm512_loadu_ps(px.add(i)), _mm512_loadu_ps(py.add(i)));
                _mm512_storeu_ps(py.add(i), v);
                i += 16;
            }
            if i < n {
                let m: __mmask16 = (1u32 << (n - i)) as u16 - 1;
                let v = _mm512_fmadd_ps(
                    va,
                    _mm512_maskz_loadu_ps(m, px.add(i)),
                    _mm512_maskz_loadu_ps(m, py.add(i)),
                );
                _mm512_mask_storeu_ps(py.add(i), m, v);
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn axpy_f16_avx512(y: &mut [f32], a: f32, x: &[f16]) {
        let n = y.len();
        let (py, px) = (y.as_mut_ptr(), x.as_ptr() as *const u16);
        let va = _mm512_set1_ps(a);
        let mut i = 0;
        // SAFETY: accesses stay within n by the loop bound and mask.
        unsafe {
            while i + 16 <= n {
                let xv = _mm512_cvtph_ps(_mm256_loadu_si256(px.add(i) as *const __m256i));
                _mm512_storeu_ps(
                    py.add(i),
                    _mm512_fmadd_ps(va, xv, _mm512_loadu_ps(py.add(i))),
                );
                i += 16;
            }
            if i < n {
                let m: __mmask16 = (1u32 << (n - i)) as u16 - 1;
                let xv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, px.add(i) as *const i16));
                let v = _mm512_fmadd_ps(va, xv, _mm512_maskz_loadu_ps(m, py.add(i)));
                _mm512_mask_storeu_ps(py.add(i), m, v);
            }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn hsum256(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / 8388608.0)
                    - 1.0
            })
            .collect()
    }

    /// SIMD vs scalar on awkward lengths; tolerance 1e-5 relative to Σ|a·b| (summation order).
    #[test]
    fn dot_and_axpy_match_scalar() {
        for n in [0usize, 1, 7, 15, 16, 17, 31, 33, 64, 129, 1000] {
            let a = data(n, 1);
            let b = data(n, 2);
            let bh: Vec<f16> = b.iter().map(|v| f16::from_f32(*v)).collect();
            let mag: f32 = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum::<f32>() + 1e-6;
            assert!(
                (dot(&a, &b) - dot_scalar(&a, &b)).abs() <= 1e-5 * mag,
                "dot n={n}"
            );
            assert!(
                (dot_f16(&a, &bh) - dot_f16_scalar(&a, &bh)).abs() <= 1e-5 * mag,
                "dot_f16 n={n}"
            );
            let mut y1 = data(n, 3);
            let mut y2 = y1.clone();
            axpy(&mut y1, 0.5, &a);
            for (o, v) in y2.iter_mut().zip(&a) {
                *o += 0.5 * v;
            }
            assert!(
                y1.iter().zip(&y2).all(|(p, q)| (p - q).abs() < 1e-6),
                "axpy n={n}"
            );
            let mut y3 = data(n, 3);
            axpy_f16(&mut y3, -0.25, &bh);
            let mut y4 = data(n, 3);
            for (o, v) in y4.iter_mut().zip(&bh) {
                *o += -0.25 * v.to_f32();
            }
            assert!(
                y3.iter().zip(&y4).all(|(p, q)| (p - q).abs() < 1e-6),
                "axpy_f16 n={n}"
            );
        }
    }
}
