//! x86 kernels of the float-weight paths ([`super::float`]).

use std::arch::x86_64::*;

use super::QMatrix;
use crate::GgmlType;

/// Activation rows per GEMM register tile.
const MR: usize = 8;

/// `Σ w·x` over `x.len()` elements of `ty` stored in `w` (AVX-512).
///
/// # Safety
/// avx512f available; `w` holds exactly `x.len()` elements of `ty` (F32, F16 or BF16).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) unsafe fn dot_avx512(ty: GgmlType, w: &[u8], x: &[f32]) -> f32 {
    let n = x.len();
    let (pw, px) = (w.as_ptr(), x.as_ptr());
    let mut acc0 = _mm512_setzero_ps();
    let mut acc1 = _mm512_setzero_ps();
    let mut i = 0;
    // SAFETY: every load covers elements i..i+16 (or a masked tail) of w and x, < n.
    unsafe {
        let load = |i: usize, m: __mmask16| -> __m512 {
            match ty {
                GgmlType::F16 => {
                    _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, pw.add(2 * i) as *const i16))
                }
                GgmlType::BF16 => {
                    let h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(
                        m,
                        pw.add(2 * i) as *const i16,
                    ));
                    _mm512_castsi512_ps(_mm512_slli_epi32(h, 16))
                }
                _ => _mm512_maskz_loadu_ps(m, pw.add(4 * i) as *const f32),
            }
        };
        while i + 32 <= n {
            acc0 = _mm512_fmadd_ps(load(i, u16::MAX), _mm512_loadu_ps(px.add(i)), acc0);
            acc1 = _mm512_fmadd_ps(
                load(i + 16, u16::MAX),
                _mm512_loadu_ps(px.add(i + 16)),
                acc1,
            );
            i += 32;
        }
        while i < n {
            let m: __mmask16 = if n - i >= 16 {
                u16::MAX
            } else {
                (1u16 << (n - i)) - 1
            };
            acc0 = _mm512_fmadd_ps(load(i, m), _mm512_maskz_loadu_ps(m, px.add(i)), acc0);
            i += 16;
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
}

/// `Σ w·x` (AVX2 + F16C).
///
/// # Safety
/// avx2, fma and f16c available; `w` holds exactly `x.len()` elements of `ty`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn dot_avx2(ty: GgmlType, w: &[u8], x: &[f32]) -> f32 {
    let n = x.len();
    let (pw, px) = (w.as_ptr(), x.as_ptr());
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    // SAFETY: loads cover elements i..i+8 < n.
    unsafe {
        while i + 8 <= n {
            let wv = match ty {
                GgmlType::F16 => _mm256_cvtph_ps(_mm_loadu_si128(pw.add(2 * i) as *const __m128i)),
                GgmlType::BF16 => {
                    let h = _mm256_cvtepu16_epi32(_mm_loadu_si128(pw.add(2 * i) as *const __m128i));
                    _mm256_castsi256_ps(_mm256_slli_epi32(h, 16))
                }
                _ => _mm256_loadu_ps(pw.add(4 * i) as *const f32),
            };
            acc = _mm256_fmadd_ps(wv, _mm256_loadu_ps(px.add(i)), acc);
            i += 8;
        }
    }
    let lo = _mm256_castps256_ps128(acc);
    let s = _mm_add_ps(lo, _mm256_extractf128_ps(acc, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let mut sum = _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
    let mut tail = [0.0f32; 8];
    if i < n
        && crate::quant::dequantize_row(ty, &w[ty.type_size() * i..], &mut tail[..n - i]).is_ok()
    {
        sum += tail[..n - i]
            .iter()
            .zip(&x[i..])
            .map(|(a, b)| a * b)
            .sum::<f32>();
    }
    sum
}

/// Rows `r0..r0+16` of `w` as f32 in `[k][16]` order (rows past the end: zeros).
///
/// # Safety
/// avx512f and f16c available; `w` is F32, F16 or BF16; `r0 < w.rows()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) unsafe fn fill_panel(panel: &mut Vec<f32>, w: &QMatrix, r0: usize) {
    let k = w.cols();
    panel.clear();
    panel.resize(16 * k + 16, 0.0);
    let rb = w.stride();
    let lanes = 16.min(w.rows() - r0);
    let live: u16 = if lanes == 16 {
        u16::MAX
    } else {
        (1u16 << lanes) - 1
    };
    let base = w.data()[r0 * rb..].as_ptr() as *const i32;
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let idx = _mm512_mullo_epi32(
        _mm512_min_epi32(iota, _mm512_set1_epi32(lanes as i32 - 1)),
        _mm512_set1_epi32(rb as i32),
    );
    let p = panel.as_mut_ptr();
    let es = w.ty().type_size();
    // SAFETY: gathers read 4 bytes inside rows r0..r0+lanes (F32: element kk; F16/BF16:
    // elements kk and kk+1 < k); the odd last 2-byte element is read by slices; stores write
    // p[kk·16 .. kk·16+32] ≤ 16k + 16.
    unsafe {
        let gather = |off: usize| {
            _mm512_mask_i32gather_epi32::<1>(
                _mm512_setzero_si512(),
                live,
                _mm512_add_epi32(idx, _mm512_set1_epi32(off as i32)),
                base,
            )
        };
        let mut kk = 0;
        while kk < k {
            match w.ty() {
                GgmlType::F32 => {
                    _mm512_storeu_ps(p.add(16 * kk), _mm512_castsi512_ps(gather(4 * kk)));
                    kk += 1;
                }
                _ if kk + 1 < k => {
                    let v = gather(es * kk);
                    let (a, b) = if w.ty() == GgmlType::F16 {
                        (
                            _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)),
                            _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16))),
                        )
                    } else {
                        (
                            _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)),
                            _mm512_castsi512_ps(_mm512_and_si512(
                                v,
                                _mm512_set1_epi32(0xFFFF_0000u32 as i32),
                            )),
                        )
                    };
                    _mm512_storeu_ps(p.add(16 * kk), a);
                    _mm512_storeu_ps(p.add(16 * kk + 16), b);
                    kk += 2;
                }
                _ => {
                    // The odd last element of a 2-byte type.
                    for r in 0..lanes {
                        let b = &w.row_bytes(r0 + r)[es * kk..es * kk + 2];
                        let bits = u16::from_le_bytes([b[0], b[1]]);
                        *p.add(16 * kk + r) = if w.ty() == GgmlType::F16 {
                            crate::quant::f16_to_f32(bits)
                        } else {
                            crate::quant::bf16_to_f32(bits)
                        };
                    }
                    kk += 1;
                }
            }
        }
    }
}

/// `y[i·n + r0 + l] = Σ_kk panel[kk][l] · x[i·k + kk]` for all `m` rows, `l < min(16, n − r0)`.
///
/// # Safety
/// avx512f available; `panel` from [`fill_panel`] for `k` columns; `x.len() == m·k`; `y` valid
/// for those writes and no other thread writes them.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) unsafe fn panel_gemm(
    panel: &[f32],
    x: &[f32],
    k: usize,
    m: usize,
    y: *mut f32,
    n: usize,
    r0: usize,
) {
    let lanes = 16.min(n - r0);
    let mask: u16 = if lanes == 16 {
        u16::MAX
    } else {
        (1u16 << lanes) - 1
    };
    let mut i0 = 0;
    while i0 < m {
        let rows = MR.min(m - i0);
        // SAFETY: forwarded contract with rows i0..i0+R < m.
        unsafe {
            match rows {
                8 => tile::<8>(panel, x, k, i0, y, n, r0, mask),
                7 => tile::<7>(panel, x, k, i0, y, n, r0, mask),
                6 => tile::<6>(panel, x, k, i0, y, n, r0, mask),
                5 => tile::<5>(panel, x, k, i0, y, n, r0, mask),
                4 => tile::<4>(panel, x, k, i0, y, n, r0, mask),
                3 => tile::<3>(panel, x, k, i0, y, n, r0, mask),
                2 => tile::<2>(panel, x, k, i0, y, n, r0, mask),
                _ => tile::<1>(panel, x, k, i0, y, n, r0, mask),
            }
        }
        i0 += rows;
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const R: usize>(
    panel: &[f32],
    x: &[f32],
    k: usize,
    i0: usize,
    y: *mut f32,
    n: usize,
    r0: usize,
    mask: u16,
) {
    let mut acc = [_mm512_setzero_ps(); R];
    // SAFETY: panel loads at kk·16 < 16k; x reads (i0+i)·k + kk < m·k; stores per the caller.
    unsafe {
        let xp: [*const f32; R] = std::array::from_fn(|i| x.as_ptr().add((i0 + i) * k));
        for kk in 0..k {
            let wv = _mm512_loadu_ps(panel.as_ptr().add(16 * kk));
            for i in 0..R {
                acc[i] = _mm512_fmadd_ps(wv, _mm512_set1_ps(*xp[i].add(kk)), acc[i]);
            }
        }
        for (i, &a) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(y.add((i0 + i) * n + r0), mask, a);
        }
    }
}
