//! Micro-kernels of [`super::flash`]: blocked scores, P·V, and a vectorized exp2.
//!
//! Each has a portable body (`*_portable`, the reference in tests and the fallback) and an
//! AVX-512 body chosen at run time. The AVX-512 bodies keep per-row accumulators in registers:
//! scores use one 16-lane accumulator per row for 8 rows at a time (one key load feeds 8 FMAs);
//! P·V keeps a `rows × d` output tile in registers (6 rows × 64 or 3 rows × 128) and loads each
//! value row once per tile.

use half::f16;

use super::KvElem;
#[cfg(target_arch = "x86_64")]
use crate::cpu::features;

/// Element types with a known in-register conversion.
pub trait SimdElem: KvElem {
    /// True for f16 (converted with `vcvtph2ps`), false for f32.
    const IS_F16: bool;
}

impl SimdElem for f32 {
    const IS_F16: bool = false;
}

impl SimdElem for f16 {
    const IS_F16: bool = true;
}

/// `s[r·ld + 16b + c] = Σ_i q[r·d + i] · kb[b·16·d + i·16 + c]` for `rows` rows and `nb` blocks.
pub fn scores<E: SimdElem>(
    q: &[f32],
    rows: usize,
    d: usize,
    kb: &[E],
    nb: usize,
    s: &mut [f32],
    ld: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if features().avx512
            && q.len() >= rows * d
            && kb.len() >= nb * 16 * d
            && s.len() >= rows.saturating_sub(1) * ld + nb * 16
        {
            // SAFETY: AVX-512 detected; bounds checked just above.
            unsafe { x86::scores::<E>(q, rows, d, kb, nb, s, ld) };
            return;
        }
    }
    scores_portable(q, rows, d, kb, nb, s, ld);
}

/// Reference for [`scores`].
pub fn scores_portable<E: SimdElem>(
    q: &[f32],
    rows: usize,
    d: usize,
    kb: &[E],
    nb: usize,
    s: &mut [f32],
    ld: usize,
) {
    let mut kf = vec![0.0f32; 16 * d];
    for b in 0..nb {
        E::to_f32_slice(&kb[b * 16 * d..(b + 1) * 16 * d], &mut kf);
        for r in 0..rows {
            let mut acc = [0.0f32; 16];
            for i in 0..d {
                let qi = q[r * d + i];
                for c in 0..16 {
                    acc[c] += qi * kf[i * 16 + c];
                }
            }
            s[r * ld + b * 16..r * ld + b * 16 + 16].copy_from_slice(&acc);
        }
    }
}

/// Scores of one ragged key block: `m ≤ 16` keys stored dimension-major `kt: [d, m]`
/// (`s[r·ld + c] = Σ_i q[r·d + i] · kt[i·m + c]` for `c < m`). Writes 16 columns per row,
/// the last `16 − m` of them zero (callers leave slack for them).
pub fn scores_ragged<E: SimdElem>(
    q: &[f32],
    rows: usize,
    d: usize,
    kt: &[E],
    m: usize,
    s: &mut [f32],
    ld: usize,
) {
    if m == 0 || m > 16 || rows == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if features().avx512
            && q.len() >= rows * d
            && kt.len() >= m * d
            && s.len() >= (rows - 1) * ld + 16
        {
            // SAFETY: AVX-512 detected; bounds checked just above.
            unsafe { x86::scores_ragged::<E>(q, rows, d, kt, m, s, ld) };
            return;
        }
    }
    scores_ragged_portable(q, rows, d, kt, m, s, ld);
}

/// Reference for [`scores_ragged`].
pub fn scores_ragged_portable<E: SimdElem>(
    q: &[f32],
    rows: usize,
    d: usize,
    kt: &[E],
    m: usize,
    s: &mut [f32],
    ld: usize,
) {
    let mut kf = vec![0.0f32; m * d];
    E::to_f32_slice(&kt[..m * d], &mut kf);
    for r in 0..rows {
        let mut acc = [0.0f32; 16];
        for i in 0..d {
            let qi = q[r * d + i];
            for c in 0..m {
                acc[c] += qi * kf[i * m + c];
            }
        }
        s[r * ld..r * ld + 16].copy_from_slice(&acc);
    }
}

/// `o[r·d ..] += Σ_{j<kt} p[r·ld + j] · v[j·d ..]` for `rows` rows.
pub fn pv<E: SimdElem>(
    p: &[f32],
    ld: usize,
    rows: usize,
    kt: usize,
    v: &[E],
    d: usize,
    o: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        let ok =
            p.len() >= rows.saturating_sub(1) * ld + kt && v.len() >= kt * d && o.len() >= rows * d;
        if features().avx512 && ok && (d == 64 || d == 128) {
            // SAFETY: AVX-512 detected; bounds checked just above.
            unsafe {
                if d == 64 {
                    x86::pv::<E, 4>(p, ld, rows, kt, v, o)
                } else {
                    x86::pv::<E, 8>(p, ld, rows, kt, v, o)
                }
            };
            return;
        }
    }
    pv_portable(p, ld, rows, kt, v, d, o);
}

/// Reference for [`pv`].
pub fn pv_portable<E: SimdElem>(
    p: &[f32],
    ld: usize,
    rows: usize,
    kt: usize,
    v: &[E],
    d: usize,
    o: &mut [f32],
) {
    let mut vf = vec![0.0f32; d];
    for j in 0..kt {
        E::to_f32_slice(&v[j * d..(j + 1) * d], &mut vf);
        for r in 0..rows {
            let pj = p[r * ld + j];
            if pj != 0.0 {
                for (a, b) in o[r * d..(r + 1) * d].iter_mut().zip(&vf) {
                    *a += pj * b;
                }
            }
        }
    }
}

/// The maximum of `x` (−∞ for an empty slice; NaN-free inputs assumed).
pub fn max_of(x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if features().avx512 {
            // SAFETY: AVX-512 detected.
            return unsafe { x86::max_of(x) };
        }
    }
    x.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// 2^x (scalar).
#[inline]
pub fn exp2_scalar(x: f32) -> f32 {
    x.exp2()
}

/// `x[i] = 2^(x[i] − m)`; returns the sum. `−∞` maps to 0.
pub fn exp2_inplace(x: &mut [f32], m: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if features().avx512 {
            // SAFETY: AVX-512 detected.
            return unsafe { x86::exp2_inplace(x, m) };
        }
    }
    let mut s = 0.0;
    for v in x.iter_mut() {
        *v = (*v - m).exp2();
        s += *v;
    }
    s
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    use super::SimdElem;

    /// `$f::<E, RS>(args)` over the row groups `r0..r0 + RS` of `rows` rows, RS = 8 until the
    /// last group (the score kernels keep one accumulator per row in registers).
    macro_rules! in_row_groups {
        ($rows:expr, $r0:ident, $f:ident::<$e:ty>($($arg:expr),*)) => {{
            let mut $r0 = 0;
            while $r0 < $rows {
                let rs = ($rows - $r0).min(8);
                match rs {
                    8 => $f::<$e, 8>($($arg),*),
                    7 => $f::<$e, 7>($($arg),*),
                    6 => $f::<$e, 6>($($arg),*),
                    5 => $f::<$e, 5>($($arg),*),
                    4 => $f::<$e, 4>($($arg),*),
                    3 => $f::<$e, 3>($($arg),*),
                    2 => $f::<$e, 2>($($arg),*),
                    _ => $f::<$e, 1>($($arg),*),
                }
                $r0 += rs;
            }
        }};
    }

    /// Long streams (centroid tables, dense key tiles, value rows) are prefetched this many
    /// bytes ahead of use. Left to the hardware prefetchers, which stop at every 4 KiB page and
    /// restart at each switch between the key and value streams, a stream from DRAM ran at
    /// ~6 GB/s per thread on the development VM, against ~15 GB/s with software prefetch.
    const PREFETCH_BYTES: usize = 8192;

    /// Streams shorter than this many bytes are not prefetched: a short stream is usually one
    /// of many scattered records (a cluster's keys), whose callers prefetch the next record
    /// themselves; reading past it would only waste bandwidth.
    const PREFETCH_MIN_BYTES: usize = 16384;

    /// Prefetch `bytes` bytes at `off_bytes` past `p` (possibly past the caller's slice: see
    /// [`crate::cpu::prefetch_range`]).
    #[inline(always)]
    fn prefetch_ahead<E>(p: *const E, off_bytes: usize, bytes: usize) {
        crate::cpu::prefetch_range((p as *const u8).wrapping_add(off_bytes), bytes);
    }

    #[inline(always)]
    unsafe fn load16<E: SimdElem>(p: *const E) -> __m512 {
        // SAFETY: callers guarantee 16 readable elements at p and AVX-512 support.
        unsafe {
            if E::IS_F16 {
                _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i))
            } else {
                _mm512_loadu_ps(p as *const f32)
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn scores<E: SimdElem>(
        q: &[f32],
        rows: usize,
        d: usize,
        kb: &[E],
        nb: usize,
        s: &mut [f32],
        ld: usize,
    ) {
        // SAFETY: bounds were checked by the caller for all rows and blocks.
        unsafe { in_row_groups!(rows, r0, scores_rows::<E>(q, r0, d, kb, nb, s, ld)) }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn scores_rows<E: SimdElem, const RS: usize>(
        q: &[f32],
        r0: usize,
        d: usize,
        kb: &[E],
        nb: usize,
        s: &mut [f32],
        ld: usize,
    ) {
        let qp = q.as_ptr();
        let kp = kb.as_ptr();
        let sp = s.as_mut_ptr();
        let mut b = 0;
        // A pass reads 32·d elements; its i-th step prefetches its share of the pass that
        // starts PREFETCH_BYTES ahead (one line per step for f16, two for f32). Only the first
        // row group prefetches: the later ones find the keys in cache.
        let size = std::mem::size_of::<E>();
        let pf_step = if r0 == 0 && nb * 16 * d * size >= PREFETCH_MIN_BYTES {
            32 * size
        } else {
            0
        };
        // Two key blocks per pass: each broadcast query element feeds 2·RS FMAs, so the loop is
        // FMA-bound rather than bound by the load ports (one broadcast per FMA with one block).
        while b + 2 <= nb {
            let mut acc0 = [_mm512_setzero_ps(); RS];
            let mut acc1 = [_mm512_setzero_ps(); RS];
            // SAFETY: indices stay below rows·d (q), nb·16·d (kb), rows·ld (s) by construction.
            unsafe {
                let kb0 = kp.add(b * 16 * d);
                let kb1 = kp.add((b + 1) * 16 * d);
                for i in 0..d {
                    prefetch_ahead(kb0, PREFETCH_BYTES + i * pf_step, pf_step);
                    let k0 = load16(kb0.add(i * 16));
                    let k1 = load16(kb1.add(i * 16));
                    for j in 0..RS {
                        let qv = _mm512_set1_ps(*qp.add((r0 + j) * d + i));
                        acc0[j] = _mm512_fmadd_ps(qv, k0, acc0[j]);
                        acc1[j] = _mm512_fmadd_ps(qv, k1, acc1[j]);
                    }
                }
                for j in 0..RS {
                    _mm512_storeu_ps(sp.add((r0 + j) * ld + b * 16), acc0[j]);
                    _mm512_storeu_ps(sp.add((r0 + j) * ld + b * 16 + 16), acc1[j]);
                }
            }
            b += 2;
        }
        if b < nb {
            // SAFETY: as above, for the last block.
            unsafe { block_rows::<E, RS>(q, r0, d, kp.add(b * 16 * d), 16, sp.add(b * 16), ld) }
        }
    }

    /// Scores of rows `r0..r0 + RS` against one block of `m ≤ 16` keys stored dimension-major
    /// with stride `m` (a whole block of the blocked layout for `m = 16`, a ragged block
    /// otherwise), written as 16 columns at `out` (row stride `ld`; columns ≥ `m` get 0).
    ///
    /// # Safety
    /// `q` holds rows `r0..r0 + RS` of `d`; `m·d` elements at `kblk`; 16 writable columns per
    /// row at `out`; AVX-512 F/BW/VL.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn block_rows<E: SimdElem, const RS: usize>(
        q: &[f32],
        r0: usize,
        d: usize,
        kblk: *const E,
        m: usize,
        out: *mut f32,
        ld: usize,
    ) {
        let k: __mmask16 = ((1u32 << m) - 1) as u16;
        let qp = q.as_ptr();
        let mut acc = [_mm512_setzero_ps(); RS];
        // SAFETY: i < d, c < m (masked), rows r0..r0+RS: the caller's contract.
        unsafe {
            for i in 0..d {
                let kv = load_masked(kblk.add(i * m), k);
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(*qp.add((r0 + j) * d + i)), kv, *a);
                }
            }
            for (j, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(out.add((r0 + j) * ld), *a);
            }
        }
    }

    /// `m` (≤ 16) lanes at `p`, the rest zero.
    #[inline(always)]
    unsafe fn load_masked<E: SimdElem>(p: *const E, k: __mmask16) -> __m512 {
        // SAFETY: callers guarantee the `m` unmasked elements at p are readable and AVX-512
        // F/BW/VL support (masked lanes never fault).
        unsafe {
            if E::IS_F16 {
                _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, p as *const i16))
            } else {
                _mm512_maskz_loadu_ps(k, p as *const f32)
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn scores_ragged<E: SimdElem>(
        q: &[f32],
        rows: usize,
        d: usize,
        kt: &[E],
        m: usize,
        s: &mut [f32],
        ld: usize,
    ) {
        // SAFETY: bounds were checked by the caller for all rows.
        let (kp, sp) = (kt.as_ptr(), s.as_mut_ptr());
        unsafe { in_row_groups!(rows, r0, block_rows::<E>(q, r0, d, kp, m, sp, ld)) }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn pv<E: SimdElem, const DV: usize>(
        p: &[f32],
        ld: usize,
        rows: usize,
        kt: usize,
        v: &[E],
        o: &mut [f32],
    ) {
        let rb_max = if DV == 4 { 6 } else { 3 };
        let mut r0 = 0;
        while r0 < rows {
            let rb = (rows - r0).min(rb_max);
            // SAFETY: bounds checked by the caller.
            unsafe {
                match rb {
                    6 => pv_rows::<E, DV, 6>(p, ld, r0, kt, v, o),
                    5 => pv_rows::<E, DV, 5>(p, ld, r0, kt, v, o),
                    4 => pv_rows::<E, DV, 4>(p, ld, r0, kt, v, o),
                    3 => pv_rows::<E, DV, 3>(p, ld, r0, kt, v, o),
                    2 => pv_rows::<E, DV, 2>(p, ld, r0, kt, v, o),
                    _ => pv_rows::<E, DV, 1>(p, ld, r0, kt, v, o),
                }
            }
            r0 += rb;
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn pv_rows<E: SimdElem, const DV: usize, const RB: usize>(
        p: &[f32],
        ld: usize,
        r0: usize,
        kt: usize,
        v: &[E],
        o: &mut [f32],
    ) {
        let d = DV * 16;
        let (pp, vp, op) = (p.as_ptr(), v.as_ptr(), o.as_mut_ptr());
        // Each value row prefetches the row PREFETCH_BYTES ahead (long streams, first row
        // group only: the later groups find the values in cache).
        let row = d * std::mem::size_of::<E>();
        let pf_row = if r0 == 0 && kt * row >= PREFETCH_MIN_BYTES {
            row
        } else {
            0
        };
        let mut acc = [[_mm512_setzero_ps(); DV]; RB];
        // SAFETY: rows r0..r0+RB < rows, j < kt, c < DV: all within the checked bounds.
        unsafe {
            for (r, a) in acc.iter_mut().enumerate() {
                for (c, x) in a.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(op.add((r0 + r) * d + c * 16));
                }
            }
            for j in 0..kt {
                prefetch_ahead(vp, PREFETCH_BYTES + j * row, pf_row);
                let mut vr = [_mm512_setzero_ps(); DV];
                for (c, x) in vr.iter_mut().enumerate() {
                    *x = load16(vp.add(j * d + c * 16));
                }
                for (r, a) in acc.iter_mut().enumerate() {
                    let pj = _mm512_set1_ps(*pp.add((r0 + r) * ld + j));
                    for c in 0..DV {
                        a[c] = _mm512_fmadd_ps(pj, vr[c], a[c]);
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                for (c, x) in a.iter().enumerate() {
                    _mm512_storeu_ps(op.add((r0 + r) * d + c * 16), *x);
                }
            }
        }
    }

    /// 2^x for |x| ≤ 126 via round-to-nearest range reduction and a degree-6 polynomial on
    /// [−½, ½] (relative error ≈ 1.2e-7); inputs below −126 flush to 0.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn exp2v(x: __m512) -> __m512 {
        let lo = _mm512_set1_ps(-126.0);
        let under = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, lo);
        let x = _mm512_max_ps(x, lo);
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x);
        let f = _mm512_sub_ps(x, n);
        let c = |v: f32| _mm512_set1_ps(v);
        let mut p = c(1.540_353_1e-4);
        p = _mm512_fmadd_ps(p, f, c(1.333_355_8e-3));
        p = _mm512_fmadd_ps(p, f, c(9.618_129e-3));
        p = _mm512_fmadd_ps(p, f, c(5.550_411e-2));
        p = _mm512_fmadd_ps(p, f, c(0.240_226_5));
        p = _mm512_fmadd_ps(p, f, c(std::f32::consts::LN_2));
        p = _mm512_fmadd_ps(p, f, c(1.0));
        _mm512_maskz_mov_ps(!under, _mm512_scalef_ps(p, n))
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn max_of(x: &[f32]) -> f32 {
        let n = x.len();
        let p = x.as_ptr();
        let mut acc = _mm512_set1_ps(f32::NEG_INFINITY);
        let mut i = 0;
        // SAFETY: full loads while i + 16 <= n; the tail is masked (masked lanes keep −∞).
        unsafe {
            while i + 16 <= n {
                acc = _mm512_max_ps(acc, _mm512_loadu_ps(p.add(i)));
                i += 16;
            }
            if i < n {
                let k: __mmask16 = ((1u32 << (n - i)) - 1) as u16;
                acc = _mm512_mask_max_ps(acc, k, acc, _mm512_maskz_loadu_ps(k, p.add(i)));
            }
        }
        _mm512_reduce_max_ps(acc)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn exp2_inplace(x: &mut [f32], m: f32) -> f32 {
        let n = x.len();
        let px = x.as_mut_ptr();
        let vm = _mm512_set1_ps(m);
        let mut sum = _mm512_setzero_ps();
        let mut i = 0;
        // SAFETY: i + 16 <= n in the loop; the tail uses a mask.
        unsafe {
            while i + 16 <= n {
                let e = exp2v(_mm512_sub_ps(_mm512_loadu_ps(px.add(i)), vm));
                _mm512_storeu_ps(px.add(i), e);
                sum = _mm512_add_ps(sum, e);
                i += 16;
            }
            if i < n {
                let k: __mmask16 = ((1u32 << (n - i)) - 1) as u16;
                let e = exp2v(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, px.add(i)), vm));
                let e = _mm512_maskz_mov_ps(k, e);
                _mm512_mask_storeu_ps(px.add(i), k, e);
                sum = _mm512_add_ps(sum, e);
            }
        }
        _mm512_reduce_add_ps(sum)
    }
}
