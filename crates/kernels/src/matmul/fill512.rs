//! AVX-512 panel fill: builds exactly what [`Panel::fill`] builds, 16 rows at a time.
//!
//! `vpgatherdd` with one offset per row fetches the same 4-byte field of all 16 rows, which is
//! already the panel's `[16 rows][4 bytes]` interleave; nibbles, fifth/sixth bits and scales are
//! then decoded in registers. The scalar [`Panel::fill`] is the oracle (tests compare bytes).
//!
//! Quant mapping of a gathered dword (bytes 4t..4t+4 of a field):
//! - Q4/Q5 `qs`: low nibbles are elements 4t..4t+4 (panel group t), high nibbles elements
//!   16+4t.. (group 4+t); Q5's bits come from `qh` bits 4t..4t+4 / 16+4t...
//! - Q8_0 `qs`: elements 4t..4t+4, stored `q ^ 0x80`.
//! - Q4_K `qs[32p..32p+32]`: low nibbles are sub-block 2p, high nibbles sub-block 2p+1.
//! - Q6_K: `ql` dwords at 64h+4t and 64h+32+4t with the `qh` dword at 128+32h+4t give elements
//!   128h + {4t, 32+4t, 64+4t, 96+4t}.

use std::arch::x86_64::*;

use super::pack::{Panel, Spec, NR};
use super::QMatrix;
use crate::GgmlType;

/// Fill `panel` with rows `r0..r0+16` of `w` (missing rows: zeros), like [`Panel::fill`].
///
/// # Safety
/// avx512f/bw/vl and f16c available; `w` is quantized with `spec == Spec::of(w.ty())`,
/// `r0 < w.rows()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) unsafe fn fill(panel: &mut Panel, w: &QMatrix, spec: Spec, r0: usize) {
    let k = w.cols();
    let ng = k / spec.g;
    panel.reset(k, ng, spec.has_min);
    let rb = w.stride();
    let lanes = NR.min(w.rows() - r0);
    let base = w.data()[r0 * rb..].as_ptr();
    // Rows past the end re-read the last row (in bounds); their lanes are masked off.
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let idx = _mm512_mullo_epi32(
        _mm512_min_epi32(iota, _mm512_set1_epi32(lanes as i32 - 1)),
        _mm512_set1_epi32(rb as i32),
    );
    let live: u16 = if lanes == NR {
        u16::MAX
    } else {
        (1u16 << lanes) - 1
    };
    let g = Gather { base, idx, live };
    let q = panel.q.as_mut_ptr();
    let dw = panel.dw.as_mut_ptr();
    let mw = panel.mw.as_mut_ptr();
    let ts = w.ty().type_size();
    // SAFETY: gathers read offsets below 16·rb from `base` inside `w`'s data (field offsets are
    // within a block; Q6_K's d is read at 206..210); stores write q[0..16k], dw/mw[0..16·ng].
    unsafe {
        match w.ty() {
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 => {
                let (qs_at, qh_at) = match w.ty() {
                    GgmlType::Q4_0 => (2, None),
                    GgmlType::Q4_1 => (4, None),
                    GgmlType::Q5_0 => (6, Some(2)),
                    _ => (8, Some(4)),
                };
                for b in 0..ng {
                    let off = b * ts;
                    let dm = g.at(off);
                    _mm512_storeu_ps(dw.add(b * NR), f16_lo(dm));
                    if spec.has_min {
                        _mm512_storeu_ps(mw.add(b * NR), f16_lo(_mm512_srli_epi32(dm, 16)));
                    }
                    let qh = qh_at.map(|a| g.at(off + a));
                    for t in 0..4 {
                        let v = g.at(off + qs_at + 4 * t);
                        let mut lo = _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
                        let mut hi =
                            _mm512_and_si512(_mm512_srli_epi32(v, 4), _mm512_set1_epi8(0x0F));
                        if let Some(h) = qh {
                            lo = _mm512_or_si512(lo, fifth_bits(h, 4 * t));
                            hi = _mm512_or_si512(hi, fifth_bits(h, 16 + 4 * t));
                        }
                        _mm512_storeu_si512(q.add((b * 8 + t) * 64) as *mut __m512i, lo);
                        _mm512_storeu_si512(q.add((b * 8 + 4 + t) * 64) as *mut __m512i, hi);
                    }
                }
            }
            GgmlType::Q8_0 => {
                for b in 0..ng {
                    let off = b * ts;
                    _mm512_storeu_ps(dw.add(b * NR), f16_lo(g.at(off)));
                    for t in 0..8 {
                        let v = _mm512_maskz_xor_epi32(
                            g.live,
                            g.at(off + 2 + 4 * t),
                            _mm512_set1_epi8(0x80u8 as i8),
                        );
                        _mm512_storeu_si512(q.add((b * 8 + t) * 64) as *mut __m512i, v);
                    }
                }
            }
            GgmlType::Q4_K => {
                for sb in 0..k / 256 {
                    let off = sb * 144;
                    let dm = g.at(off);
                    let d = f16_lo(dm);
                    let dmin = f16_lo(_mm512_srli_epi32(dm, 16));
                    let u = q4k_scales_mins(g.at(off + 4), g.at(off + 8), g.at(off + 12));
                    for j in 0..8 {
                        let sc = byte_as_f32(u[j / 4], j % 4);
                        let mn = byte_as_f32(u[2 + j / 4], j % 4);
                        _mm512_storeu_ps(dw.add((8 * sb + j) * NR), _mm512_mul_ps(d, sc));
                        _mm512_storeu_ps(
                            mw.add((8 * sb + j) * NR),
                            _mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), dmin), mn),
                        );
                    }
                    for p in 0..4 {
                        for t in 0..8 {
                            let v = g.at(off + 16 + 32 * p + 4 * t);
                            let lo = _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
                            let hi =
                                _mm512_and_si512(_mm512_srli_epi32(v, 4), _mm512_set1_epi8(0x0F));
                            let j0 = 8 * sb + 2 * p;
                            _mm512_storeu_si512(q.add((j0 * 8 + t) * 64) as *mut __m512i, lo);
                            _mm512_storeu_si512(q.add(((j0 + 1) * 8 + t) * 64) as *mut __m512i, hi);
                        }
                    }
                }
            }
            GgmlType::Q6_K => {
                let m4 = _mm512_set1_epi8(0x0F);
                let m30 = _mm512_set1_epi8(0x30);
                for sb in 0..k / 256 {
                    let off = sb * 210;
                    let d = f16_lo(_mm512_srli_epi32(g.at(off + 206), 16));
                    for c in 0..4 {
                        let sc4 = g.at(off + 192 + 4 * c);
                        for i in 0..4 {
                            let sc = _mm512_cvtepi32_ps(_mm512_srai_epi32::<24>(
                                _mm512_sllv_epi32(sc4, _mm512_set1_epi32(24 - 8 * i as i32)),
                            ));
                            _mm512_storeu_ps(
                                dw.add((16 * sb + 4 * c + i) * NR),
                                _mm512_mul_ps(d, sc),
                            );
                        }
                    }
                    for h in 0..2 {
                        for t in 0..8 {
                            let l0 = g.at(off + 64 * h + 4 * t);
                            let l1 = g.at(off + 64 * h + 32 + 4 * t);
                            let qh = g.at(off + 128 + 32 * h + 4 * t);
                            let v = [
                                _mm512_or_si512(
                                    _mm512_and_si512(l0, m4),
                                    _mm512_and_si512(_mm512_slli_epi32(qh, 4), m30),
                                ),
                                _mm512_or_si512(
                                    _mm512_and_si512(l1, m4),
                                    _mm512_and_si512(_mm512_slli_epi32(qh, 2), m30),
                                ),
                                _mm512_or_si512(
                                    _mm512_and_si512(_mm512_srli_epi32(l0, 4), m4),
                                    _mm512_and_si512(qh, m30),
                                ),
                                _mm512_or_si512(
                                    _mm512_and_si512(_mm512_srli_epi32(l1, 4), m4),
                                    _mm512_and_si512(_mm512_srli_epi32(qh, 2), m30),
                                ),
                            ];
                            for (s, vs) in v.into_iter().enumerate() {
                                // Element 256sb + 128h + 32s + 4t, i.e. panel group (that)/4.
                                let grp = 64 * sb + 32 * h + 8 * s + t;
                                _mm512_storeu_si512(q.add(grp * 64) as *mut __m512i, vs);
                            }
                        }
                    }
                }
            }
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {}
        }
    }
}

/// Gathers of one 4-byte field from 16 rows.
struct Gather {
    base: *const u8,
    idx: __m512i,
    live: u16,
}

impl Gather {
    /// The dword at byte `off` of each row (dead lanes zero).
    #[inline(always)]
    unsafe fn at(&self, off: usize) -> __m512i {
        // SAFETY: the caller keeps `off + 4` within a row; avx512f is enabled in `fill`.
        unsafe {
            let o = _mm512_add_epi32(self.idx, _mm512_set1_epi32(off as i32));
            _mm512_mask_i32gather_epi32::<1>(
                _mm512_setzero_si512(),
                self.live,
                o,
                self.base as *const i32,
            )
        }
    }
}

/// The low f16 of each dword as f32.
#[inline(always)]
unsafe fn f16_lo(v: __m512i) -> __m512 {
    // SAFETY: avx512f enabled in the caller.
    unsafe { _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)) }
}

/// Byte `i` of each dword as f32 (unsigned).
#[inline(always)]
unsafe fn byte_as_f32(v: __m512i, i: usize) -> __m512 {
    // SAFETY: avx512f enabled in the caller.
    unsafe {
        _mm512_cvtepi32_ps(_mm512_and_si512(
            _mm512_srlv_epi32(v, _mm512_set1_epi32(8 * i as i32)),
            _mm512_set1_epi32(0xFF),
        ))
    }
}

/// 0x10 in byte i of each dword where bit `first + i` of that dword of `qh` is set.
#[inline(always)]
unsafe fn fifth_bits(qh: __m512i, first: usize) -> __m512i {
    // SAFETY: avx512bw enabled in the caller.
    unsafe {
        // Byte i of each dword takes the qh byte holding bit first+i (the same byte for all four,
        // as first % 8 is 0 or 4), then tests that bit.
        let src = (first / 8) as i32;
        let sel = src * 0x0101_0101;
        let shuf = _mm512_add_epi32(
            _mm512_set1_epi32(sel),
            _mm512_setr_epi32(
                0,
                0x0404_0404,
                0x0808_0808,
                0x0c0c_0c0c,
                0,
                0x0404_0404,
                0x0808_0808,
                0x0c0c_0c0c,
                0,
                0x0404_0404,
                0x0808_0808,
                0x0c0c_0c0c,
                0,
                0x0404_0404,
                0x0808_0808,
                0x0c0c_0c0c,
            ),
        );
        let bit = (first % 8) as u32;
        let bits = _mm512_set1_epi32(i32::from_le_bytes([
            1u8 << bit,
            1u8 << (bit + 1),
            1u8 << (bit + 2),
            1u8 << (bit + 3),
        ]));
        let bytes = _mm512_shuffle_epi8(qh, shuf);
        _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(bytes, bits), _mm512_set1_epi8(0x10))
    }
}

/// llama.cpp's `utmp` shuffle on 16 lanes: scales (u[0], u[1]) and mins (u[2], u[3]) bytes.
#[inline(always)]
unsafe fn q4k_scales_mins(u0: __m512i, u1: __m512i, u2: __m512i) -> [__m512i; 4] {
    // SAFETY: avx512f enabled in the caller.
    unsafe {
        let k1 = _mm512_set1_epi32(0x3f3f_3f3f);
        let k2 = _mm512_set1_epi32(0x0f0f_0f0f);
        let k3 = _mm512_set1_epi32(0x0303_0303);
        let t3 = _mm512_or_si512(
            _mm512_and_si512(_mm512_srli_epi32(u2, 4), k2),
            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), k3), 4),
        );
        let t1 = _mm512_or_si512(
            _mm512_and_si512(u2, k2),
            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), k3), 4),
        );
        [_mm512_and_si512(u0, k1), t1, _mm512_and_si512(u1, k1), t3]
    }
}
