//! SIMD dot kernels for the 32-element types against [`Q8Row`] activations.
//!
//! Unsigned quants (Q4_0, Q5_0 before their offset; Q4_1, Q5_1) go straight into the u8 side of
//! the byte multiply; the symmetric types' offset (8 or 16) is subtracted in the integer domain
//! by seeding the block's i32 accumulator with `−offset·Σx` in lane 0, so each block's integer
//! sum is exactly llama.cpp's. Q8_0 uses the sign trick (|w| × sign(x, w)).
//!
//! # Safety (all kernels)
//! `w` holds exactly `a.d.len()` blocks of the type, `a.qs.len() == 32·a.d.len()` and
//! `a.sum`, `a.s` have `a.d.len()` entries (checked by [`super::dot_rows`]); avx2, fma and f16c
//! (plus what `I` needs) are enabled in the calling entry point.

use std::arch::x86_64::*;

use super::isa::{f16_at, hsum, lane0, load16, load32, nibbles, Isa};
use crate::quant::q8::Q8Row;

/// Q4_0 × Q8_0.
#[inline(always)]
pub(super) unsafe fn q4_0<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: see the module docs; every pointer stays inside block b of `w` / `a`.
    unsafe {
        let mut acc = _mm256_setzero_ps();
        for b in 0..a.d.len() {
            let p = w.as_ptr().add(18 * b);
            let q = nibbles(load16(p.add(2)));
            let x = load32(a.qs.as_ptr().add(32 * b) as *const u8);
            let isum = I::dp(lane0(-8 * *a.sum.get_unchecked(b)), q, x);
            let s = f16_at(p) * *a.d.get_unchecked(b);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(s), acc);
        }
        hsum(acc)
    }
}

/// Q5_0 × Q8_0.
#[inline(always)]
pub(super) unsafe fn q5_0<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: see the module docs.
    unsafe {
        let mut acc = _mm256_setzero_ps();
        for b in 0..a.d.len() {
            let p = w.as_ptr().add(22 * b);
            let qh = (p.add(2) as *const u32).read_unaligned();
            let q = _mm256_or_si256(nibbles(load16(p.add(6))), I::high_bits(qh));
            let x = load32(a.qs.as_ptr().add(32 * b) as *const u8);
            let isum = I::dp(lane0(-16 * *a.sum.get_unchecked(b)), q, x);
            let s = f16_at(p) * *a.d.get_unchecked(b);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(s), acc);
        }
        hsum(acc)
    }
}

/// Q4_1 × Q8_1.
#[inline(always)]
pub(super) unsafe fn q4_1<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: see the module docs.
    unsafe {
        let mut acc = _mm256_setzero_ps();
        let mut accm = 0.0f32;
        for b in 0..a.d.len() {
            let p = w.as_ptr().add(20 * b);
            let q = nibbles(load16(p.add(4)));
            let x = load32(a.qs.as_ptr().add(32 * b) as *const u8);
            let isum = I::dp(_mm256_setzero_si256(), q, x);
            let s = f16_at(p) * *a.d.get_unchecked(b);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(s), acc);
            accm += f16_at(p.add(2)) * *a.s.get_unchecked(b);
        }
        hsum(acc) + accm
    }
}

/// Q5_1 × Q8_1.
#[inline(always)]
pub(super) unsafe fn q5_1<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: see the module docs.
    unsafe {
        let mut acc = _mm256_setzero_ps();
        let mut accm = 0.0f32;
        for b in 0..a.d.len() {
            let p = w.as_ptr().add(24 * b);
            let qh = (p.add(4) as *const u32).read_unaligned();
            let q = _mm256_or_si256(nibbles(load16(p.add(8))), I::high_bits(qh));
            let x = load32(a.qs.as_ptr().add(32 * b) as *const u8);
            let isum = I::dp(_mm256_setzero_si256(), q, x);
            let s = f16_at(p) * *a.d.get_unchecked(b);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(s), acc);
            accm += f16_at(p.add(2)) * *a.s.get_unchecked(b);
        }
        hsum(acc) + accm
    }
}

/// Q8_0 × Q8_0 (sign trick: |w| is a valid u8 even for −128, and x ∈ [−127, 127] negates safely).
#[inline(always)]
pub(super) unsafe fn q8_0<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: see the module docs.
    unsafe {
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let nb = a.d.len();
        let block = |b: usize, acc: __m256| {
            let p = w.as_ptr().add(34 * b);
            let wq = load32(p.add(2));
            let x = load32(a.qs.as_ptr().add(32 * b) as *const u8);
            let isum = I::dp(_mm256_setzero_si256(), _mm256_abs_epi8(wq), _mm256_sign_epi8(x, wq));
            let s = f16_at(p) * *a.d.get_unchecked(b);
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(s), acc)
        };
        let mut b = 0;
        while b + 2 <= nb {
            acc0 = block(b, acc0);
            acc1 = block(b + 1, acc1);
            b += 2;
        }
        if b < nb {
            acc0 = block(b, acc0);
        }
        hsum(_mm256_add_ps(acc0, acc1))
    }
}
