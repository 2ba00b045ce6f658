//! AVX-512 activation quantizers, bit-exact with the scalar ones in [`super::q8`]: the same
//! IEEE divisions and products, `vcvtps2dq` under the default round-to-nearest-even (what
//! `nearest_int` computes for |v| < 2^22), exact integer sums.

use std::arch::x86_64::*;

use super::q8::{round_f16, QK8, QKK};

/// [`super::q8::quantize_row_q8_scalar`] on AVX-512.
///
/// # Safety
/// avx512f/bw available; `x.len()` is a multiple of 32; `qs` as long as `x`; `d`, `sum`, `s`
/// hold `x.len()/32` entries.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) unsafe fn quantize_row_q8(
    x: &[f32],
    qs: &mut [i8],
    d: &mut [f32],
    sum: &mut [i32],
    s: &mut [f32],
) {
    for (b, ((d, sum), s)) in d
        .iter_mut()
        .zip(sum.iter_mut())
        .zip(s.iter_mut())
        .enumerate()
        .take(x.len() / QK8)
    {
        // SAFETY: elements 32b..32b+32 of x and qs exist (the contract).
        unsafe {
            let p = x.as_ptr().add(QK8 * b);
            let v0 = _mm512_loadu_ps(p);
            let v1 = _mm512_loadu_ps(p.add(16));
            let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            let df = amax / 127.0;
            let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
            let q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
            let q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
            let o = qs.as_mut_ptr().add(QK8 * b) as *mut __m128i;
            _mm_storeu_si128(o, _mm512_cvtsepi32_epi8(q0));
            _mm_storeu_si128(o.add(1), _mm512_cvtsepi32_epi8(q1));
            // |q| ≤ 127 here (x·127/amax rounds to at most 127), so the sum of the unclamped
            // integers equals the sum of the stored bytes.
            let acc = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
            *d = round_f16(df);
            *sum = acc;
            *s = round_f16(df * acc as f32);
        }
    }
}

/// [`super::q8::quantize_row_q8_k_scalar`] on AVX-512.
///
/// # Safety
/// avx512f/bw available; `x.len()` is a multiple of 256; `qs` as long as `x`; `d` holds
/// `x.len()/256` and `bsums` `x.len()/16` entries.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) unsafe fn quantize_row_q8_k(x: &[f32], qs: &mut [i8], d: &mut [f32], bsums: &mut [i16]) {
    for (b, d) in d.iter_mut().enumerate().take(x.len() / QKK) {
        // SAFETY: elements 256b..256b+256 of x and qs, and bsums 16b..16b+16 exist.
        unsafe {
            let p = x.as_ptr().add(QKK * b);
            let mut m = _mm512_setzero_ps();
            for j in 0..16 {
                m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(p.add(16 * j))));
            }
            let amax = _mm512_reduce_max_ps(m);
            let bs = bsums.as_mut_ptr().add(16 * b);
            let out = qs.as_mut_ptr().add(QKK * b);
            if amax == 0.0 {
                *d = 0.0;
                std::ptr::write_bytes(out, 0, QKK);
                std::ptr::write_bytes(bs, 0, 16);
                continue;
            }
            // The first element of largest magnitude, with its sign (as the scalar loop picks).
            let mut max = 0.0f32;
            for j in 0..16 {
                let v = _mm512_loadu_ps(p.add(16 * j));
                let hit = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(_mm512_abs_ps(v), _mm512_set1_ps(amax));
                if hit != 0 {
                    max = *p.add(16 * j + hit.trailing_zeros() as usize);
                    break;
                }
            }
            let iscale = -127.0 / max;
            for j in 0..16 {
                let v = _mm512_mul_ps(_mm512_set1_ps(iscale), _mm512_loadu_ps(p.add(16 * j)));
                let q = _mm512_min_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(127));
                _mm_storeu_si128(out.add(16 * j) as *mut __m128i, _mm512_cvtsepi32_epi8(q));
                *bs.add(j) = _mm512_reduce_add_epi32(q) as i16;
            }
            *d = 1.0 / iscale;
        }
    }
}
