//! The one instruction-set difference between the AVX2 and AVX-512 VNNI dot kernels: how bytes
//! are multiplied and summed into i32 lanes. Everything else in the kernels is AVX2-level code
//! shared by both instantiations.
//!
//! All functions here are `#[inline(always)]` helpers meant to be inlined into a
//! `#[target_feature]` entry point of [`super::entry`] that enables the needed features; they
//! are `unsafe` because they execute those instructions.

use std::arch::x86_64::*;

/// Byte multiply-accumulate primitives.
pub(super) trait Isa {
    /// `acc + Σ_{4 bytes} a_u8·b_i8` per i32 lane. Callers keep `|a·b|` pair sums below 2^15
    /// (true for unsigned quants ≤ 128 against |b| ≤ 127), so the AVX2 form never saturates.
    unsafe fn dp(acc: __m256i, a: __m256i, b: __m256i) -> __m256i;

    /// An i32-lane scale vector (values in −2^15..2^15) in the form [`Isa::dps`] takes.
    unsafe fn scale(sc32: __m256i) -> __m256i;

    /// `acc + sc·Σ_{4 bytes} a_u8·b_i8` per i32 lane, `sc` from [`Isa::scale`].
    unsafe fn dps(acc: __m256i, a: __m256i, b: __m256i, sc: __m256i) -> __m256i;

    /// 32 bytes holding 0x10 where bit j of `bits` is set (the fifth bit of Q5 quants).
    unsafe fn high_bits(bits: u32) -> __m256i;
}

/// AVX2: `vpmaddubsw` (u8×i8 → i16 pairs) then `vpmaddwd` (i16 pairs → i32).
pub(super) struct Avx2;

/// AVX-512 VNNI on 256-bit vectors: `vpdpbusd`.
pub(super) struct Vnni;

impl Isa for Avx2 {
    #[inline(always)]
    unsafe fn dp(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the caller runs with avx2 enabled.
        unsafe { _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1))) }
    }

    #[inline(always)]
    unsafe fn scale(sc32: __m256i) -> __m256i {
        // SAFETY: avx2 enabled by the caller. Each i32 lane becomes two copies of its low i16.
        unsafe { _mm256_or_si256(_mm256_and_si256(sc32, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(sc32, 16)) }
    }

    #[inline(always)]
    unsafe fn dps(acc: __m256i, a: __m256i, b: __m256i, sc: __m256i) -> __m256i {
        // SAFETY: avx2 enabled by the caller.
        unsafe { _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), sc)) }
    }

    #[inline(always)]
    unsafe fn high_bits(bits: u32) -> __m256i {
        // SAFETY: avx2 enabled by the caller. llama.cpp's `bytes_from_bits_32`: byte j takes
        // byte j/8 of `bits`, is OR-ed with all bits but j%8 set, and compared with 0xFF.
        unsafe {
            let shuf = _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202, 0x0101_0101_0101_0101, 0);
            let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuf);
            let mask = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
            let set = _mm256_cmpeq_epi8(_mm256_or_si256(bytes, mask), _mm256_set1_epi64x(-1));
            _mm256_and_si256(set, _mm256_set1_epi8(0x10))
        }
    }
}

impl Isa for Vnni {
    #[inline(always)]
    unsafe fn dp(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the caller runs with avx512vnni + avx512vl enabled.
        unsafe { _mm256_dpbusd_epi32(acc, a, b) }
    }

    #[inline(always)]
    unsafe fn scale(sc32: __m256i) -> __m256i {
        sc32
    }

    #[inline(always)]
    unsafe fn dps(acc: __m256i, a: __m256i, b: __m256i, sc: __m256i) -> __m256i {
        // SAFETY: avx512vnni + avx512vl (and avx2) enabled by the caller.
        unsafe { _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), a, b), sc)) }
    }

    #[inline(always)]
    unsafe fn high_bits(bits: u32) -> __m256i {
        // SAFETY: avx512bw + avx512vl enabled by the caller.
        unsafe { _mm256_maskz_mov_epi8(bits, _mm256_set1_epi8(0x10)) }
    }
}

/// The little-endian f16 at `p` as f32 (F16C).
///
/// # Safety
/// `p..p+2` readable; f16c enabled in the caller.
#[inline(always)]
pub(super) unsafe fn f16_at(p: *const u8) -> f32 {
    // SAFETY: the caller guarantees two readable bytes and f16c.
    unsafe {
        let bits = (p as *const u16).read_unaligned();
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
    }
}

/// 32 bytes at `p` (unaligned).
///
/// # Safety
/// `p..p+32` readable; avx enabled in the caller.
#[inline(always)]
pub(super) unsafe fn load32(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes.
    unsafe { _mm256_loadu_si256(p as *const __m256i) }
}

/// 16 bytes at `p` (unaligned).
///
/// # Safety
/// `p..p+16` readable.
#[inline(always)]
pub(super) unsafe fn load16(p: *const u8) -> __m128i {
    // SAFETY: the caller guarantees 16 readable bytes.
    unsafe { _mm_loadu_si128(p as *const __m128i) }
}

/// The 32 nibbles of 16 bytes as bytes: low nibbles first (elements 0..16), then high ones.
///
/// # Safety
/// avx2 enabled in the caller.
#[inline(always)]
pub(super) unsafe fn nibbles(q: __m128i) -> __m256i {
    // SAFETY: avx2 enabled by the caller.
    unsafe { _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F)) }
}

/// Horizontal sum of 8 f32 lanes.
///
/// # Safety
/// avx enabled in the caller.
#[inline(always)]
pub(super) unsafe fn hsum(v: __m256) -> f32 {
    // SAFETY: avx enabled by the caller.
    unsafe {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }
}

/// An i32 in lane 0, zeros elsewhere.
///
/// # Safety
/// avx enabled in the caller.
#[inline(always)]
pub(super) unsafe fn lane0(v: i32) -> __m256i {
    // SAFETY: avx enabled by the caller.
    unsafe { _mm256_setr_epi32(v, 0, 0, 0, 0, 0, 0, 0) }
}
