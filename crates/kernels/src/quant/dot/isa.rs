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
        unsafe {
            _mm256_add_epi32(
                acc,
                _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)),
            )
        }
    }

    #[inline(always)]
    unsafe fn high_bits(bits: u32) -> __m256i {
        // SAFETY: avx2 enabled by the caller. llama.cpp's `bytes_from_bits_32`: byte j takes
        // byte j/8 of `bits`, is OR-ed with all bits but j%8 set, and compared with 0xFF.
        unsafe {
            let shuf = _mm256_set_epi64x(
                0x0303_0303_0303_0303,
                0x0202_0202_0202_0202,
                0x0101_0101_0101_0101,
                0,
            );
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
    unsafe fn high_bits(bits: u32) -> __m256i {
        // SAFETY: avx512bw + avx512vl enabled by the caller.
        unsafe { _mm256_maskz_mov_epi8(bits, _mm256_set1_epi8(0x10)) }
    }
}

/// `acc + sc·Σ_{2 bytes} a_u8·b_i8` per i32 lane, where every i32 lane of `sc` holds its i16
/// scale twice (`s | s << 16`, see [`scale_pairs`]): `vpmaddubsw` (u8×i8 → i16 pairs) then
/// `vpmaddwd` against the scales. Callers keep the i16 pair sums from saturating (K-quants:
/// ≤ 63·128·2). The same on both ISAs: with VNNI, `vpdpbusd` + `vpmulld` would be 4 µops with
/// a 10-cycle multiply on the chain instead of these 3.
///
/// # Safety
/// avx2 enabled in the caller.
#[inline(always)]
pub(super) unsafe fn dps(acc: __m256i, a: __m256i, b: __m256i, sc: __m256i) -> __m256i {
    // SAFETY: avx2 enabled by the caller.
    unsafe { _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), sc)) }
}

/// i32 lanes (values in −2^15..2^15) as [`dps`]'s scale form: each lane two copies of its low i16.
///
/// # Safety
/// avx2 enabled in the caller.
#[inline(always)]
pub(super) unsafe fn scale_pairs(sc32: __m256i) -> __m256i {
    // SAFETY: avx2 enabled by the caller.
    unsafe {
        _mm256_or_si256(
            _mm256_and_si256(sc32, _mm256_set1_epi32(0xFFFF)),
            _mm256_slli_epi32(sc32, 16),
        )
    }
}

/// The little-endian f16 at `p` as f32, broadcast to 8 lanes (F16C).
///
/// Kept as a vector on purpose: with a scalar result LLVM loads the f16 with a `vpinsrw` that
/// merges into an arbitrary live register (it picked the dot product's accumulator), a false
/// dependency that serialized every block of the dot product.
///
/// # Safety
/// `p..p+2` readable; avx2 and f16c enabled in the caller.
#[inline(always)]
pub(super) unsafe fn f16_splat(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees two readable bytes and the features.
    unsafe { _mm256_cvtph_ps(_mm_set1_epi16((p as *const u16).read_unaligned() as i16)) }
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

/// The 32 nibbles of the 16 bytes at `p` as bytes: low nibbles first (elements 0..16), then
/// the high ones. A 128-bit broadcast load and a per-lane shift (no cross-lane shuffle: port 5
/// is the bottleneck of these loops).
///
/// # Safety
/// `p..p+16` readable; avx2 enabled in the caller.
#[inline(always)]
pub(super) unsafe fn nibbles_at(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 16 readable bytes and avx2.
    unsafe {
        let q = _mm256_broadcastsi128_si256(_mm_loadu_si128(p as *const __m128i));
        let shifted = _mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4));
        _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F))
    }
}

/// `−c·s` spread over the 8 i32 lanes (each lane `−(c/8)·s`; `c` a multiple of 8), from `s`
/// in memory: a broadcast load and shifts instead of a GPR → vector move.
///
/// # Safety
/// `s` readable; avx2 enabled in the caller.
#[inline(always)]
pub(super) unsafe fn offset_seed<const SHIFT: i32>(s: *const i32) -> __m256i {
    // SAFETY: the caller guarantees `s` is readable and avx2.
    unsafe {
        _mm256_sub_epi32(
            _mm256_setzero_si256(),
            _mm256_slli_epi32::<SHIFT>(_mm256_set1_epi32(s.read())),
        )
    }
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
