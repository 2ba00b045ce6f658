//! The AVX-512 VNNI GEMM microkernel: one [`Panel`] of 16 weight rows against all activation
//! rows, `MR` at a time held in registers.
//!
//! Per sub-block g: `MR` i32 accumulators start at `−c·Σx` ([`ActTerms::init`]); for each group
//! of 4 elements one 64-byte panel load (4 quants × 16 rows) feeds `MR` `vpdpbusd` with the
//! activation row's 4 quants broadcast; then each accumulator is converted and scaled into an
//! f32 accumulator by `dw·dx` (and `mw·sx` for types with a min). After all sub-blocks, each f32
//! accumulator holds 16 consecutive outputs of one activation row: one (masked) store.

use std::arch::x86_64::*;

use super::pack::{ActTerms, Panel, Spec, NR};

/// Activation rows per register tile.
const MR: usize = 8;

/// Output of one panel: `y[i·n + r0 ..][..lanes]` for every activation row `i`.
#[derive(Clone, Copy)]
pub(super) struct PanelOut {
    /// `y`'s base pointer.
    pub y: *mut f32,
    /// Row stride of `y` (the matrix's row count).
    pub n: usize,
    /// First output column (weight row) of the panel.
    pub r0: usize,
    /// Valid output lanes (16, fewer in the last panel).
    pub lanes: usize,
}

/// `y[:, r0..r0+lanes]` for all `m` activation rows.
///
/// # Safety
/// avx512f/bw/vl/vnni available; `panel` and `terms` were built for the same weight type and
/// `spec` with `k` columns (`panel.q.len() == 16·k`, `terms.ng == k/spec.g`, `spec.g` is 16 or
/// 32); `xq.len() == m·k`; `terms` has `m` rows; `out.y` is valid for writes of
/// `y[i·n + r0 + l]` for `i < m`, `l < lanes ≤ 16`, and no other thread writes those elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn run_panel(
    panel: &Panel,
    terms: &ActTerms,
    spec: Spec,
    xq: &[i8],
    k: usize,
    m: usize,
    out: PanelOut,
) {
    let mask: u16 = if out.lanes >= NR {
        u16::MAX
    } else {
        (1u16 << out.lanes) - 1
    };
    let mut i0 = 0;
    while i0 < m {
        let rows = MR.min(m - i0);
        macro_rules! go {
            ($r:literal) => {
                // SAFETY: forwarded contract; rows i0..i0+$r < m.
                unsafe {
                    match (spec.g, spec.has_min) {
                        (16, false) => tile::<$r, 4, false>(panel, terms, xq, k, i0, out, mask),
                        (16, true) => tile::<$r, 4, true>(panel, terms, xq, k, i0, out, mask),
                        (_, false) => tile::<$r, 8, false>(panel, terms, xq, k, i0, out, mask),
                        (_, true) => tile::<$r, 8, true>(panel, terms, xq, k, i0, out, mask),
                    }
                }
            };
        }
        match rows {
            8 => go!(8),
            7 => go!(7),
            6 => go!(6),
            5 => go!(5),
            4 => go!(4),
            3 => go!(3),
            2 => go!(2),
            _ => go!(1),
        }
        i0 += rows;
    }
}

/// Rows `i0..i0+R` against the panel.
///
/// # Safety
/// As [`run_panel`], with `i0 + R ≤ m` and `4·G4` the sub-block size.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
#[inline]
unsafe fn tile<const R: usize, const G4: usize, const MIN: bool>(
    panel: &Panel,
    terms: &ActTerms,
    xq: &[i8],
    k: usize,
    i0: usize,
    out: PanelOut,
    mask: u16,
) {
    let ng = terms.ng;
    let q = panel.q.as_ptr();
    let dw = panel.dw.as_ptr();
    let mw = panel.mw.as_ptr();
    // SAFETY: by the contract every index below is in bounds: panel loads read 64 bytes at
    // (g·G4 + t)·64 < 16·k; activation loads 4 bytes at (i0+i)·k + 4·(g·G4 + t) < m·k; scale
    // loads 16 floats at g·16 < 16·ng; terms index (i0+i)·ng + g < m·ng; stores hit the
    // caller's y elements (masked to `lanes`).
    unsafe {
        let x: [*const u8; R] = std::array::from_fn(|i| xq.as_ptr().add((i0 + i) * k) as *const u8);
        let init: [*const i32; R] = std::array::from_fn(|i| terms.init.as_ptr().add((i0 + i) * ng));
        let dx: [*const f32; R] = std::array::from_fn(|i| terms.dx.as_ptr().add((i0 + i) * ng));
        let sx: [*const f32; R] =
            std::array::from_fn(|i| terms.sx.as_ptr().wrapping_add((i0 + i) * ng));
        let mut acc = [_mm512_setzero_ps(); R];
        for g in 0..ng {
            let mut isum: [__m512i; R] =
                std::array::from_fn(|i| _mm512_set1_epi32(*init[i].add(g)));
            for t in 0..G4 {
                let wv = _mm512_loadu_si512(q.add((g * G4 + t) * 64) as *const __m512i);
                let off = (g * G4 + t) * 4;
                for i in 0..R {
                    let xv = _mm512_set1_epi32((x[i].add(off) as *const i32).read_unaligned());
                    isum[i] = _mm512_dpbusd_epi32(isum[i], wv, xv);
                }
            }
            let dwv = _mm512_loadu_ps(dw.add(g * NR));
            for i in 0..R {
                let s = _mm512_mul_ps(dwv, _mm512_set1_ps(*dx[i].add(g)));
                acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), s, acc[i]);
            }
            if MIN {
                let mwv = _mm512_loadu_ps(mw.add(g * NR));
                for i in 0..R {
                    acc[i] = _mm512_fmadd_ps(mwv, _mm512_set1_ps(*sx[i].add(g)), acc[i]);
                }
            }
        }
        for (i, &a) in acc.iter().enumerate() {
            let o = out.y.add((i0 + i) * out.n + out.r0);
            if mask == u16::MAX {
                _mm512_storeu_ps(o, a);
            } else {
                _mm512_mask_storeu_ps(o, mask, a);
            }
        }
    }
}
