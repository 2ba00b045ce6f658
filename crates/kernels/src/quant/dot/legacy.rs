//! SIMD dot kernels for the 32-element types against [`Q8Row`] activations.
//!
//! Unsigned quants (Q4_0, Q5_0 before their offset; Q4_1, Q5_1) go straight into the u8 side of
//! the byte multiply; the symmetric types' offset (8 or 16) is subtracted in the integer domain
//! by seeding the block's 8 i32 lanes with `−(offset/8)·Σx` each, so each block's integer sum is
//! exactly llama.cpp's. Q8_0 uses the sign trick (|w| × sign(x, w)).
//!
//! Blocks are summed into 4 independent accumulators ([`sum_blocks`]): with one, the FMA
//! latency (4 cycles per 18–24-byte block) caps a kernel near 13 GB/s per core. Per-type block
//! decoding is a trait with `#[inline(always)]` methods, not a closure: LLVM declined to inline
//! the closures, which turned every intrinsic inside them into a call.
//!
//! # Safety (all kernels)
//! `w` holds exactly `a.d.len()` blocks of the type, `a.qs.len() == 32·a.d.len()` and
//! `a.sum`, `a.s` have `a.d.len()` entries (checked by [`super::dot_rows`]); avx2, fma and f16c
//! (plus what `I` needs) are enabled in the calling entry point.

use std::arch::x86_64::*;

use super::isa::{f16_splat, hsum, load32, nibbles_at, offset_seed, Isa};
use crate::quant::q8::Q8Row;

/// One block's float terms: `(v, s, m, sx)` with the block's value `v·s (+ m·sx)` (all lanes of
/// `m` and `sx` equal).
type Terms = (__m256, __m256, __m256, __m256);

/// Per-type block decoding.
trait Block<I: Isa> {
    /// Whether [`Terms`]' min part is used.
    const MIN: bool;
    /// The terms of block `b`.
    ///
    /// # Safety
    /// `b` < the row's block count; the module's contract.
    unsafe fn terms(&self, b: usize) -> Terms;
}

/// Σ over `nb` blocks of `v·s (+ m·sx)` in four independent accumulators; the horizontal total.
#[inline(always)]
unsafe fn sum_blocks<I: Isa, B: Block<I>>(nb: usize, blk: &B) -> f32 {
    // SAFETY: avx2 + fma enabled in the calling entry point; b < nb.
    unsafe {
        let z = _mm256_setzero_ps();
        let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
        let (mut m0, mut m1, mut m2, mut m3) = (z, z, z, z);
        macro_rules! step {
            ($b:expr, $a:ident, $m:ident) => {{
                let (v, s, m, sx) = blk.terms($b);
                $a = _mm256_fmadd_ps(v, s, $a);
                if B::MIN {
                    $m = _mm256_fmadd_ps(m, sx, $m);
                }
            }};
        }
        let mut b = 0;
        while b + 4 <= nb {
            step!(b, a0, m0);
            step!(b + 1, a1, m1);
            step!(b + 2, a2, m2);
            step!(b + 3, a3, m3);
            b += 4;
        }
        while b < nb {
            step!(b, a0, m0);
            b += 1;
        }
        let mut total = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        if B::MIN {
            // Every lane of the m accumulators holds the same Σ m·sx (broadcast operands).
            total += _mm256_cvtss_f32(_mm256_add_ps(_mm256_add_ps(m0, m1), _mm256_add_ps(m2, m3)));
        }
        total
    }
}

/// A weight row and an activation row.
struct Rows<'a, 'b> {
    w: *const u8,
    a: &'a Q8Row<'b>,
}

impl Rows<'_, '_> {
    /// Activation quants of block b.
    #[inline(always)]
    unsafe fn x(&self, b: usize) -> __m256i {
        // SAFETY: b < block count (caller).
        unsafe { load32(self.a.qs.as_ptr().add(32 * b) as *const u8) }
    }

    /// `d_w·d_x` of block b whose weight block starts at `p`.
    #[inline(always)]
    unsafe fn scale(&self, p: *const u8, b: usize) -> __m256 {
        // SAFETY: as above.
        unsafe { _mm256_mul_ps(f16_splat(p), _mm256_set1_ps(*self.a.d.get_unchecked(b))) }
    }
}

struct Q40<'a, 'b>(Rows<'a, 'b>);
struct Q50<'a, 'b>(Rows<'a, 'b>);
struct Q41<'a, 'b>(Rows<'a, 'b>);
struct Q51<'a, 'b>(Rows<'a, 'b>);
struct Q80<'a, 'b>(Rows<'a, 'b>);

impl<I: Isa> Block<I> for Q40<'_, '_> {
    const MIN: bool = false;
    #[inline(always)]
    unsafe fn terms(&self, b: usize) -> Terms {
        // SAFETY: the module's contract; block b lies inside the row.
        unsafe {
            let p = self.0.w.add(18 * b);
            let isum = I::dp(
                offset_seed::<0>(self.0.a.sum.as_ptr().add(b)),
                nibbles_at(p.add(2)),
                self.0.x(b),
            );
            let s = self.0.scale(p, b);
            (_mm256_cvtepi32_ps(isum), s, s, s)
        }
    }
}

impl<I: Isa> Block<I> for Q50<'_, '_> {
    const MIN: bool = false;
    #[inline(always)]
    unsafe fn terms(&self, b: usize) -> Terms {
        // SAFETY: the module's contract.
        unsafe {
            let p = self.0.w.add(22 * b);
            let qh = (p.add(2) as *const u32).read_unaligned();
            let q = _mm256_or_si256(nibbles_at(p.add(6)), I::high_bits(qh));
            let isum = I::dp(
                offset_seed::<1>(self.0.a.sum.as_ptr().add(b)),
                q,
                self.0.x(b),
            );
            let s = self.0.scale(p, b);
            (_mm256_cvtepi32_ps(isum), s, s, s)
        }
    }
}

impl<I: Isa> Block<I> for Q41<'_, '_> {
    const MIN: bool = true;
    #[inline(always)]
    unsafe fn terms(&self, b: usize) -> Terms {
        // SAFETY: the module's contract.
        unsafe {
            let p = self.0.w.add(20 * b);
            let isum = I::dp(_mm256_setzero_si256(), nibbles_at(p.add(4)), self.0.x(b));
            let sx = _mm256_set1_ps(*self.0.a.s.get_unchecked(b));
            (
                _mm256_cvtepi32_ps(isum),
                self.0.scale(p, b),
                f16_splat(p.add(2)),
                sx,
            )
        }
    }
}

impl<I: Isa> Block<I> for Q51<'_, '_> {
    const MIN: bool = true;
    #[inline(always)]
    unsafe fn terms(&self, b: usize) -> Terms {
        // SAFETY: the module's contract.
        unsafe {
            let p = self.0.w.add(24 * b);
            let qh = (p.add(4) as *const u32).read_unaligned();
            let q = _mm256_or_si256(nibbles_at(p.add(8)), I::high_bits(qh));
            let isum = I::dp(_mm256_setzero_si256(), q, self.0.x(b));
            let sx = _mm256_set1_ps(*self.0.a.s.get_unchecked(b));
            (
                _mm256_cvtepi32_ps(isum),
                self.0.scale(p, b),
                f16_splat(p.add(2)),
                sx,
            )
        }
    }
}

impl<I: Isa> Block<I> for Q80<'_, '_> {
    const MIN: bool = false;
    #[inline(always)]
    unsafe fn terms(&self, b: usize) -> Terms {
        // SAFETY: the module's contract. Sign trick: |w| is a valid u8 even for −128, and
        // x ∈ [−127, 127] negates safely.
        unsafe {
            let p = self.0.w.add(34 * b);
            let wq = load32(p.add(2));
            let isum = I::dp(
                _mm256_setzero_si256(),
                _mm256_abs_epi8(wq),
                _mm256_sign_epi8(self.0.x(b), wq),
            );
            let s = self.0.scale(p, b);
            (_mm256_cvtepi32_ps(isum), s, s, s)
        }
    }
}

/// Q4_0 × Q8_0.
#[inline(always)]
pub(super) unsafe fn q4_0<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: the module's contract.
    unsafe { sum_blocks::<I, _>(a.d.len(), &Q40(Rows { w: w.as_ptr(), a })) }
}

/// Q5_0 × Q8_0.
#[inline(always)]
pub(super) unsafe fn q5_0<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: the module's contract.
    unsafe { sum_blocks::<I, _>(a.d.len(), &Q50(Rows { w: w.as_ptr(), a })) }
}

/// Q4_1 × Q8_1.
#[inline(always)]
pub(super) unsafe fn q4_1<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: the module's contract.
    unsafe { sum_blocks::<I, _>(a.d.len(), &Q41(Rows { w: w.as_ptr(), a })) }
}

/// Q5_1 × Q8_1.
#[inline(always)]
pub(super) unsafe fn q5_1<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: the module's contract.
    unsafe { sum_blocks::<I, _>(a.d.len(), &Q51(Rows { w: w.as_ptr(), a })) }
}

/// Q8_0 × Q8_0.
#[inline(always)]
pub(super) unsafe fn q8_0<I: Isa>(w: &[u8], a: &Q8Row<'_>) -> f32 {
    // SAFETY: the module's contract.
    unsafe { sum_blocks::<I, _>(a.d.len(), &Q80(Rows { w: w.as_ptr(), a })) }
}
