//! The AVX-512 GEMM microkernel: one [`Panel`] of 16 weight rows against all activation rows,
//! `MR` at a time held in registers.
//!
//! Per sub-block g: `MR` i32 accumulators start at `−c·Σx` ([`ActTerms::init`]); for each group
//! of 4 elements one 64-byte panel load (4 quants × 16 rows) feeds `MR` byte dot products
//! (`u8·i8`, 4 per i32 lane) with the activation row's 4 quants broadcast; then each accumulator
//! is converted and scaled into an f32 accumulator by `dw·dx` (and `mw·sx` for types with a
//! min). After all sub-blocks, each f32 accumulator holds 16 consecutive outputs of one
//! activation row: one (masked) store.
//!
//! The byte dot product is one `vpdpbusd` with VNNI ([`run_panel_vnni`]); AVX-512 CPUs without
//! it (Skylake-SP/X, the first Xeon Scalable) get the same kernel with `vpmaddubsw` +
//! `vpmaddwd` ([`run_panel_bw`]), which keeps the GEMM's weight reuse that the per-row GEMV
//! fallback lacks. `vpmaddubsw` saturates its i16 pair sums, so how many groups may be summed
//! in i16 before `vpmaddwd` widens them depends on the type's largest quant ([`Bw`]: up to 8
//! for 4-bit quants, ~1.4 instructions per group instead of 3); Q8_0's quants (0..255 after
//! the offset) are split into their low 7 bits and top bit ([`BwWide`]). Every sum is exact.

use std::arch::x86_64::*;

use super::pack::{ActTerms, Panel, Spec, NR};

/// The byte dot products of a sub-block, in chunks: a chunk of [`Dp::CHUNK`] groups of 4
/// elements accumulates into a `part` started by [`Dp::start`] and is folded into the i32
/// accumulator by [`Dp::flush`].
trait Dp {
    /// Whether the implementation needs VNNI (which [`tile`] wrapper runs it).
    const VNNI: bool;
    /// Groups of 4 elements per chunk.
    const CHUNK: usize;

    /// A chunk's starting partial sum, given the i32 accumulator (by default the accumulator
    /// itself: `dp` adds straight into it).
    ///
    /// # Safety
    /// The CPU features of the implementation are enabled in the caller.
    #[inline(always)]
    unsafe fn start(isum: __m512i) -> __m512i {
        isum
    }

    /// `part` plus the products of one group: `Σ_{4 bytes} w_u8·x_i8` per i32 lane.
    ///
    /// # Safety
    /// As [`Dp::start`].
    unsafe fn dp(part: __m512i, w: __m512i, x: __m512i) -> __m512i;

    /// The accumulator after a chunk (by default the partial sum, which started as it).
    ///
    /// # Safety
    /// As [`Dp::start`].
    #[inline(always)]
    unsafe fn flush(_isum: __m512i, part: __m512i) -> __m512i {
        part
    }
}

/// `vpdpbusd` straight into the i32 accumulator.
struct Vnni;

/// `vpmaddubsw` into i16 pair sums, `C` groups added in i16 before one `vpmaddwd`: exact for
/// quants ≤ 32767 / (2·128·C) (C = 8: 4-bit quants, 4: 5-bit, 2: 6-bit, 1: 7-bit).
struct Bw<const C: usize>;

/// 8-bit quants: `w = lo7 + 128·top`, each half through [`Bw`]'s instructions, straight into
/// the i32 accumulator.
struct BwWide;

impl Dp for Vnni {
    const VNNI: bool = true;
    const CHUNK: usize = 8;

    #[inline(always)]
    unsafe fn dp(part: __m512i, w: __m512i, x: __m512i) -> __m512i {
        // SAFETY: the caller runs with avx512vnni enabled.
        unsafe { _mm512_dpbusd_epi32(part, w, x) }
    }
}

impl<const C: usize> Dp for Bw<C> {
    const VNNI: bool = false;
    const CHUNK: usize = C;

    #[inline(always)]
    unsafe fn start(_isum: __m512i) -> __m512i {
        // SAFETY: the caller runs with avx512f enabled.
        unsafe { _mm512_setzero_si512() }
    }

    #[inline(always)]
    unsafe fn dp(part: __m512i, w: __m512i, x: __m512i) -> __m512i {
        // SAFETY: the caller runs with avx512bw enabled.
        unsafe { _mm512_add_epi16(part, _mm512_maddubs_epi16(w, x)) }
    }

    #[inline(always)]
    unsafe fn flush(isum: __m512i, part: __m512i) -> __m512i {
        // SAFETY: the caller runs with avx512bw enabled.
        unsafe { _mm512_add_epi32(isum, _mm512_madd_epi16(part, _mm512_set1_epi16(1))) }
    }
}

impl Dp for BwWide {
    const VNNI: bool = false;
    const CHUNK: usize = 8;

    #[inline(always)]
    unsafe fn dp(part: __m512i, w: __m512i, x: __m512i) -> __m512i {
        // SAFETY: the caller runs with avx512bw enabled.
        unsafe {
            let lo = _mm512_and_si512(w, _mm512_set1_epi8(0x7f));
            let top = _mm512_and_si512(_mm512_srli_epi16(w, 7), _mm512_set1_epi8(1));
            let ones = _mm512_set1_epi16(1);
            let s_lo = _mm512_madd_epi16(_mm512_maddubs_epi16(lo, x), ones);
            let s_top = _mm512_madd_epi16(_mm512_maddubs_epi16(top, x), ones);
            _mm512_add_epi32(part, _mm512_add_epi32(s_lo, _mm512_slli_epi32(s_top, 7)))
        }
    }
}

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

/// `y[:, r0..r0+lanes]` for all `m` activation rows, with `vpdpbusd`.
///
/// # Safety
/// avx512f/bw/vl/vnni available; `panel` and `terms` were built for the same weight type and
/// `spec` with `k` columns (`panel.q.len() == 16·k`, `terms.ng == k/spec.g`, `spec.g` is 16 or
/// 32); `xq.len() == m·k`; `terms` has `m` rows; `out.y` is valid for writes of
/// `y[i·n + r0 + l]` for `i < m`, `l < lanes ≤ 16`, and no other thread writes those elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(super) unsafe fn run_panel_vnni(
    panel: &Panel,
    terms: &ActTerms,
    spec: Spec,
    xq: &[i8],
    k: usize,
    m: usize,
    out: PanelOut,
) {
    // SAFETY: forwarded contract, vnni enabled here.
    unsafe { run_panel::<Vnni>(panel, terms, spec, xq, k, m, out) }
}

/// [`run_panel_vnni`] without VNNI: `vpmaddubsw` + `vpmaddwd`.
///
/// # Safety
/// avx512f/bw/vl available; the rest as [`run_panel_vnni`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
pub(super) unsafe fn run_panel_bw(
    panel: &Panel,
    terms: &ActTerms,
    spec: Spec,
    xq: &[i8],
    k: usize,
    m: usize,
    out: PanelOut,
) {
    // SAFETY: forwarded contract, avx512bw enabled here; each chunk size is exact for the
    // type's largest quant (`Bw`).
    unsafe {
        match spec.qmax {
            0..=15 => run_panel::<Bw<8>>(panel, terms, spec, xq, k, m, out),
            16..=31 => run_panel::<Bw<4>>(panel, terms, spec, xq, k, m, out),
            32..=63 => run_panel::<Bw<2>>(panel, terms, spec, xq, k, m, out),
            64..=127 => run_panel::<Bw<1>>(panel, terms, spec, xq, k, m, out),
            _ => run_panel::<BwWide>(panel, terms, spec, xq, k, m, out),
        }
    }
}

/// The tiling loop, inlined into the entry point that enables `D`'s features.
///
/// # Safety
/// As [`run_panel_vnni`], with `D`'s features enabled in the caller.
#[inline(always)]
unsafe fn run_panel<D: Dp>(
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
        // One out-of-line tile per shape, compiled with the features of `D` alone.
        macro_rules! t {
            ($r:literal, $g4:literal, $min:literal) => {
                if D::VNNI {
                    tile_vnni::<D, $r, $g4, $min>(panel, terms, xq, k, i0, out, mask)
                } else {
                    tile_bw::<D, $r, $g4, $min>(panel, terms, xq, k, i0, out, mask)
                }
            };
        }
        macro_rules! go {
            ($r:literal) => {
                // SAFETY: forwarded contract; rows i0..i0+$r < m.
                unsafe {
                    match (spec.g, spec.has_min) {
                        (16, false) => t!($r, 4, false),
                        (16, true) => t!($r, 4, true),
                        (_, false) => t!($r, 8, false),
                        (_, true) => t!($r, 8, true),
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

/// [`tile`] as a function of its own compiled for one instruction set.
macro_rules! tile_for {
    ($name:ident, $features:literal) => {
        /// # Safety
        /// As [`tile`], with these features available.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn $name<D: Dp, const R: usize, const G4: usize, const MIN: bool>(
            panel: &Panel,
            terms: &ActTerms,
            xq: &[i8],
            k: usize,
            i0: usize,
            out: PanelOut,
            mask: u16,
        ) {
            // SAFETY: forwarded contract.
            unsafe { tile::<D, R, G4, MIN>(panel, terms, xq, k, i0, out, mask) }
        }
    };
}
tile_for!(tile_vnni, "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma");
tile_for!(tile_bw, "avx512f,avx512bw,avx512vl,avx2,fma");

/// Rows `i0..i0+R` against the panel.
///
/// # Safety
/// As [`run_panel`], with `i0 + R ≤ m` and `4·G4` the sub-block size.
#[inline(always)]
unsafe fn tile<D: Dp, const R: usize, const G4: usize, const MIN: bool>(
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
            let chunk = D::CHUNK.min(G4);
            for t0 in (0..G4).step_by(chunk) {
                let mut part: [__m512i; R] = std::array::from_fn(|i| D::start(isum[i]));
                for t in t0..t0 + chunk {
                    let wv = _mm512_loadu_si512(q.add((g * G4 + t) * 64) as *const __m512i);
                    let off = (g * G4 + t) * 4;
                    for i in 0..R {
                        let xv = _mm512_set1_epi32((x[i].add(off) as *const i32).read_unaligned());
                        part[i] = D::dp(part[i], wv, xv);
                    }
                }
                for i in 0..R {
                    isum[i] = D::flush(isum[i], part[i]);
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
