//! SIMD dot kernels for Q4_K and Q6_K against [`Q8KRow`] activations.
//!
//! As in llama.cpp, each 256-element super-block accumulates `Σ_j sc_j · Σ q·x` in i32 lanes
//! (scales applied in the integer domain by [`dps`]), subtracts the min (Q4_K) or offset
//! (Q6_K) term computed from the activation `bsums`, and converts to float once per super-block.
//!
//! # Safety (all kernels)
//! `w` holds exactly `a.d.len()` super-blocks, `a.qs.len() == 256·a.d.len()` and
//! `a.bsums.len() == 16·a.d.len()` (checked by [`super::dot_rows`]); avx2, fma and f16c (plus
//! what `I` needs) are enabled in the calling entry point.

use std::arch::x86_64::*;

use super::isa::{dps, f16_splat, hsum, load32, scale_pairs, Isa};
use crate::quant::kquants::q4k_scales_mins;
use crate::quant::q8::Q8KRow;

/// Q4_K × Q8_K.
#[inline(always)]
pub(super) unsafe fn q4_k<I: Isa>(w: &[u8], a: &Q8KRow<'_>) -> f32 {
    // SAFETY: see the module docs; pointers stay inside super-block `sb` of `w` and `a`.
    unsafe {
        let m4 = _mm256_set1_epi8(0x0F);
        let mut acc = _mm256_setzero_ps();
        let mut accm = _mm_setzero_ps();
        for sb in 0..a.d.len() {
            let p = w.as_ptr().add(144 * sb);
            let dx = _mm256_set1_ps(*a.d.get_unchecked(sb));
            let d = _mm256_mul_ps(f16_splat(p), dx);
            let dmin = _mm256_mul_ps(f16_splat(p.add(2)), dx);
            let u = q4k_scales_mins(std::slice::from_raw_parts(p.add(4), 12));
            // The 8 sub-block scales as i16 pairs (`s | s << 16` per i32) in a stack array, so
            // that each sub-block's scale vector is one broadcast load (a load-port µop, where
            // a register permute would queue on port 5 beside the byte shuffles).
            let sc16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(
                (u[0] as u64 | (u[1] as u64) << 32) as i64,
            ));
            let mut sc = [0i32; 8];
            _mm_storeu_si128(
                sc.as_mut_ptr() as *mut __m128i,
                _mm_unpacklo_epi16(sc16, sc16),
            );
            _mm_storeu_si128(
                sc.as_mut_ptr().add(4) as *mut __m128i,
                _mm_unpackhi_epi16(sc16, sc16),
            );
            let mins16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(
                (u[2] as u64 | (u[3] as u64) << 32) as i64,
            ));
            let bs = a.bsums.as_ptr().add(16 * sb) as *const __m128i;
            let q8s = _mm_hadd_epi16(_mm_loadu_si128(bs), _mm_loadu_si128(bs.add(1)));
            accm = _mm_fmadd_ps(
                _mm256_castps256_ps128(dmin),
                _mm_cvtepi32_ps(_mm_madd_epi16(mins16, q8s)),
                accm,
            );
            let x = a.qs.as_ptr().add(256 * sb) as *const u8;
            let qs = p.add(16);
            let mut sumi = _mm256_setzero_si256();
            for g in 0..4 {
                let q = load32(qs.add(32 * g));
                let lo = _mm256_and_si256(q, m4);
                let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                sumi = dps(
                    sumi,
                    lo,
                    load32(x.add(64 * g)),
                    _mm256_set1_epi32(sc[2 * g]),
                );
                sumi = dps(
                    sumi,
                    hi,
                    load32(x.add(64 * g + 32)),
                    _mm256_set1_epi32(sc[2 * g + 1]),
                );
            }
            acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
        }
        let m = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
        hsum(acc) - _mm_cvtss_f32(_mm_add_ss(m, _mm_movehdup_ps(m)))
    }
}

/// Q6_K × Q8_K.
#[inline(always)]
pub(super) unsafe fn q6_k<I: Isa>(w: &[u8], a: &Q8KRow<'_>) -> f32 {
    // SAFETY: see the module docs.
    unsafe {
        let m4 = _mm256_set1_epi8(0x0F);
        let m30 = _mm256_set1_epi8(0x30);
        let mut acc = _mm256_setzero_ps();
        for sb in 0..a.d.len() {
            let p = w.as_ptr().add(210 * sb);
            let d = _mm256_mul_ps(
                f16_splat(p.add(208)),
                _mm256_set1_ps(*a.d.get_unchecked(sb)),
            );
            let scales = _mm_loadu_si128(p.add(192) as *const __m128i);
            let bsums = _mm256_loadu_si256(a.bsums.as_ptr().add(16 * sb) as *const __m256i);
            let offset =
                _mm256_slli_epi32(_mm256_madd_epi16(bsums, _mm256_cvtepi8_epi16(scales)), 5);
            let x = a.qs.as_ptr().add(256 * sb) as *const u8;
            let mut sumi = _mm256_setzero_si256();
            for h in 0..2 {
                let ql = p.add(64 * h);
                let q0 = load32(ql);
                let q1 = load32(ql.add(32));
                let hb = load32(p.add(128 + 32 * h));
                let sc32 = _mm256_cvtepi8_epi32(if h == 0 {
                    scales
                } else {
                    _mm_srli_si128(scales, 8)
                });
                let v = [
                    _mm256_or_si256(
                        _mm256_and_si256(q0, m4),
                        _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(q1, m4),
                        _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(q0, 4), m4),
                        _mm256_and_si256(hb, m30),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(q1, 4), m4),
                        _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30),
                    ),
                ];
                for (t, vt) in v.into_iter().enumerate() {
                    let (i0, i1) = (2 * t as i32, 2 * t as i32 + 1);
                    let idx = _mm256_setr_epi32(i0, i0, i0, i0, i1, i1, i1, i1);
                    let sc = scale_pairs(_mm256_permutevar8x32_epi32(sc32, idx));
                    sumi = dps(sumi, vt, load32(x.add(128 * h + 32 * t)), sc);
                }
            }
            acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, offset)), acc);
        }
        hsum(acc)
    }
}
