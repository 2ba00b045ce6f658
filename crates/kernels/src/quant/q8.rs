//! Activation quantization to 8 bits, exactly as llama.cpp's CPU backend does it on x86.
//!
//! - [`Q8Rows`]: blocks of 32 (`block_q8_0` / `block_q8_1`), used against Q4_0, Q5_0, Q8_0
//!   (Q8_0 activations) and Q4_1, Q5_1 (Q8_1 activations). Both share the quants and the f16
//!   scale; Q8_1 adds `s = f16(d · Σq)`. We compute both so one quantization serves all five.
//! - [`Q8KRows`]: blocks of 256 (`block_q8_K`) with an f32 scale and sums of every 16 quants,
//!   used against Q4_K and Q6_K.
//!
//! Semantics (checked against `ggml-cpu/arch/x86/quants.c` and `ggml-quants.c`):
//! - Q8_0/Q8_1 follow the AVX2 `quantize_row_q8_0/1` that llama.cpp runs on this class of CPU:
//!   `d = amax/127` (stored as f16, round-to-nearest-even), `id = 127/amax` (0 when amax = 0),
//!   `q = round_half_even(x·id)`. The portable `_ref` variant differs only in using
//!   `id = 1/d` and `roundf` (ties away from zero), i.e. on exact ties and one-ulp scale cases.
//! - Q8_K follows `quantize_row_q8_K_ref` (which x86 also runs): `max` = the first element of
//!   largest magnitude (signed), `iscale = −127/max`, `q = min(127, nearest_int(iscale·x))`,
//!   `d = 1/iscale`, `bsums[j] = Σ q[16j..16j+16]`; an all-zero block gets `d = 0`, `q = 0`.

use rayon::prelude::*;

use crate::{Error, Result};

/// Elements per Q8_0 / Q8_1 block.
pub const QK8: usize = 32;
/// Elements per Q8_K super-block.
pub const QKK: usize = 256;

/// Work (elements) above which quantizing several rows is split over rayon threads.
const PAR_MIN_ELEMS: usize = 1 << 16;

/// llama.cpp's `nearest_int`: round half to even via the 1.5·2^23 trick; valid for |v| < 2^22.
#[inline(always)]
pub fn nearest_int(v: f32) -> i32 {
    let t = v + 12_582_912.0;
    (t.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

/// f32 → f16 → f32 with round-to-nearest-even (`GGML_CPU_FP32_TO_FP16`).
#[inline]
pub fn round_f16(v: f32) -> f32 {
    half::f16::from_f32(v).to_f32()
}

/// Rows of activations quantized in blocks of 32 (structure of arrays, row-major).
#[derive(Debug, Clone, Default)]
pub struct Q8Rows {
    m: usize,
    k: usize,
    qs: Vec<i8>,
    d: Vec<f32>,
    sum: Vec<i32>,
    s: Vec<f32>,
}

/// One row of a [`Q8Rows`].
#[derive(Debug, Clone, Copy)]
pub struct Q8Row<'a> {
    /// `k` quants.
    pub qs: &'a [i8],
    /// Per block: the scale, already rounded through f16 (`block_q8_0.d`).
    pub d: &'a [f32],
    /// Per block: Σ of the 32 quants (exact).
    pub sum: &'a [i32],
    /// Per block: Q8_1's `s = f16(d_f32 · Σq)` as f32.
    pub s: &'a [f32],
}

impl Q8Rows {
    /// Quantize `m` rows of `k` elements (`x.len() == m·k`, `k` a multiple of 32).
    pub fn quantize(x: &[f32], m: usize, k: usize) -> Result<Self> {
        let mut q = Self::default();
        q.quantize_into(x, m, k)?;
        Ok(q)
    }

    /// Re-quantize into this buffer, reusing its allocations.
    pub fn quantize_into(&mut self, x: &[f32], m: usize, k: usize) -> Result<()> {
        if !k.is_multiple_of(QK8) || x.len() != m * k {
            return Err(Error::Shape(format!(
                "q8_0 quantize: {} values for {m} rows of {k} (k must be a multiple of 32)",
                x.len()
            )));
        }
        let nb = k / QK8;
        self.m = m;
        self.k = k;
        self.qs.resize(m * k, 0);
        self.d.resize(m * nb, 0.0);
        self.sum.resize(m * nb, 0);
        self.s.resize(m * nb, 0.0);
        if k == 0 {
            return Ok(());
        }
        type Item<'a> = (
            (((&'a [f32], &'a mut [i8]), &'a mut [f32]), &'a mut [i32]),
            &'a mut [f32],
        );
        let work = |((((xr, qs), d), sum), s): Item<'_>| quantize_row_q8(xr, qs, d, sum, s);
        if m > 1 && m * k >= PAR_MIN_ELEMS {
            x.par_chunks_exact(k)
                .zip(self.qs.par_chunks_exact_mut(k))
                .zip(self.d.par_chunks_exact_mut(nb))
                .zip(self.sum.par_chunks_exact_mut(nb))
                .zip(self.s.par_chunks_exact_mut(nb))
                .for_each(work);
        } else {
            x.chunks_exact(k)
                .zip(self.qs.chunks_exact_mut(k))
                .zip(self.d.chunks_exact_mut(nb))
                .zip(self.sum.chunks_exact_mut(nb))
                .zip(self.s.chunks_exact_mut(nb))
                .for_each(work);
        }
        Ok(())
    }

    /// Rows.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Elements per row.
    pub fn k(&self) -> usize {
        self.k
    }

    /// All rows' quants, row-major (`m·k`).
    pub fn all_qs(&self) -> &[i8] {
        &self.qs
    }

    /// Row `i` (panics only on an out-of-range `i`, which callers size by [`Self::m`]).
    pub fn row(&self, i: usize) -> Q8Row<'_> {
        let nb = self.k / QK8;
        Q8Row {
            qs: &self.qs[i * self.k..(i + 1) * self.k],
            d: &self.d[i * nb..(i + 1) * nb],
            sum: &self.sum[i * nb..(i + 1) * nb],
            s: &self.s[i * nb..(i + 1) * nb],
        }
    }
}

/// Quantize one row to Q8_0/Q8_1 blocks: quants, f16-rounded scales, exact sums and Q8_1 `s`
/// (AVX-512 when available, bit-exact with [`quantize_row_q8_scalar`]).
pub fn quantize_row_q8(x: &[f32], qs: &mut [i8], d: &mut [f32], sum: &mut [i32], s: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        let nb = x.len() / QK8;
        if crate::cpu::features().avx512
            && x.len().is_multiple_of(QK8)
            && qs.len() >= x.len()
            && d.len() >= nb
            && sum.len() >= nb
            && s.len() >= nb
        {
            // SAFETY: avx512 f/bw detected; lengths checked just above.
            return unsafe { super::q8_x86::quantize_row_q8(x, qs, d, sum, s) };
        }
    }
    quantize_row_q8_scalar(x, qs, d, sum, s)
}

/// The portable [`quantize_row_q8`] (and its oracle).
pub fn quantize_row_q8_scalar(
    x: &[f32],
    qs: &mut [i8],
    d: &mut [f32],
    sum: &mut [i32],
    s: &mut [f32],
) {
    for ((((xb, qb), d), sum), s) in x
        .chunks_exact(QK8)
        .zip(qs.chunks_exact_mut(QK8))
        .zip(d.iter_mut())
        .zip(sum.iter_mut())
        .zip(s.iter_mut())
    {
        let amax = xb.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let df = amax / 127.0;
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let mut acc = 0i32;
        for (q, v) in qb.iter_mut().zip(xb) {
            let r = nearest_int(v * id).clamp(-128, 127);
            *q = r as i8;
            acc += r;
        }
        *d = round_f16(df);
        *sum = acc;
        *s = round_f16(df * acc as f32);
    }
}

/// Rows of activations quantized in super-blocks of 256 (`block_q8_K`).
#[derive(Debug, Clone, Default)]
pub struct Q8KRows {
    m: usize,
    k: usize,
    qs: Vec<i8>,
    d: Vec<f32>,
    bsums: Vec<i16>,
}

/// One row of a [`Q8KRows`].
#[derive(Debug, Clone, Copy)]
pub struct Q8KRow<'a> {
    /// `k` quants.
    pub qs: &'a [i8],
    /// Per super-block: the f32 scale.
    pub d: &'a [f32],
    /// Per 16 quants: their sum.
    pub bsums: &'a [i16],
}

impl Q8KRows {
    /// Quantize `m` rows of `k` elements (`k` a multiple of 256).
    pub fn quantize(x: &[f32], m: usize, k: usize) -> Result<Self> {
        let mut q = Self::default();
        q.quantize_into(x, m, k)?;
        Ok(q)
    }

    /// Re-quantize into this buffer, reusing its allocations.
    pub fn quantize_into(&mut self, x: &[f32], m: usize, k: usize) -> Result<()> {
        if !k.is_multiple_of(QKK) || x.len() != m * k {
            return Err(Error::Shape(format!(
                "q8_K quantize: {} values for {m} rows of {k} (k must be a multiple of 256)",
                x.len()
            )));
        }
        let nb = k / QKK;
        self.m = m;
        self.k = k;
        self.qs.resize(m * k, 0);
        self.d.resize(m * nb, 0.0);
        self.bsums.resize(m * k / 16, 0);
        if k == 0 {
            return Ok(());
        }
        type Item<'a> = (((&'a [f32], &'a mut [i8]), &'a mut [f32]), &'a mut [i16]);
        let work = |(((xr, qs), d), bs): Item<'_>| quantize_row_q8_k(xr, qs, d, bs);
        if m > 1 && m * k >= PAR_MIN_ELEMS {
            x.par_chunks_exact(k)
                .zip(self.qs.par_chunks_exact_mut(k))
                .zip(self.d.par_chunks_exact_mut(nb))
                .zip(self.bsums.par_chunks_exact_mut(k / 16))
                .for_each(work);
        } else {
            x.chunks_exact(k)
                .zip(self.qs.chunks_exact_mut(k))
                .zip(self.d.chunks_exact_mut(nb))
                .zip(self.bsums.chunks_exact_mut(k / 16))
                .for_each(work);
        }
        Ok(())
    }

    /// Rows.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Elements per row.
    pub fn k(&self) -> usize {
        self.k
    }

    /// All rows' quants, row-major (`m·k`).
    pub fn all_qs(&self) -> &[i8] {
        &self.qs
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> Q8KRow<'_> {
        let nb = self.k / QKK;
        let ns = self.k / 16;
        Q8KRow {
            qs: &self.qs[i * self.k..(i + 1) * self.k],
            d: &self.d[i * nb..(i + 1) * nb],
            bsums: &self.bsums[i * ns..(i + 1) * ns],
        }
    }
}

/// Quantize one row to Q8_K super-blocks (`quantize_row_q8_K_ref`; AVX-512 when available,
/// bit-exact with [`quantize_row_q8_k_scalar`]).
pub fn quantize_row_q8_k(x: &[f32], qs: &mut [i8], d: &mut [f32], bsums: &mut [i16]) {
    #[cfg(target_arch = "x86_64")]
    {
        let nb = x.len() / QKK;
        if crate::cpu::features().avx512
            && x.len().is_multiple_of(QKK)
            && qs.len() >= x.len()
            && d.len() >= nb
            && bsums.len() >= 16 * nb
        {
            // SAFETY: avx512 f/bw detected; lengths checked just above.
            return unsafe { super::q8_x86::quantize_row_q8_k(x, qs, d, bsums) };
        }
    }
    quantize_row_q8_k_scalar(x, qs, d, bsums)
}

/// The portable [`quantize_row_q8_k`] (and its oracle).
pub fn quantize_row_q8_k_scalar(x: &[f32], qs: &mut [i8], d: &mut [f32], bsums: &mut [i16]) {
    for (((xb, qb), d), bs) in x
        .chunks_exact(QKK)
        .zip(qs.chunks_exact_mut(QKK))
        .zip(d.iter_mut())
        .zip(bsums.chunks_exact_mut(QKK / 16))
    {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in xb {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            *d = 0.0;
            qb.fill(0);
            bs.fill(0);
            continue;
        }
        let iscale = -127.0 / max;
        for (q, v) in qb.iter_mut().zip(xb) {
            *q = nearest_int(iscale * v).clamp(-128, 127) as i8;
        }
        for (b, q16) in bs.iter_mut().zip(qb.chunks_exact(16)) {
            *b = q16.iter().map(|&q| q as i16).sum();
        }
        *d = 1.0 / iscale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 4.0
            })
            .collect()
    }

    #[test]
    fn nearest_int_is_round_half_even() {
        for (v, r) in [
            (0.5f32, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (126.49, 126),
            (-127.0, -127),
            (3.7, 4),
        ] {
            assert_eq!(nearest_int(v), r, "{v}");
        }
    }

    /// Round trip: |x − d·q| ≤ d/2 (plus the f16 rounding of d, ≤ 2^-11 relative, times 127).
    #[test]
    fn q8_0_round_trip_and_sums() -> Result<()> {
        let (m, k) = (3, 96);
        let mut x = data(m * k, 7);
        x[40..72].fill(0.0); // an all-zero block
        let q = Q8Rows::quantize(&x, m, k)?;
        for i in 0..m {
            let r = q.row(i);
            for b in 0..k / 32 {
                let xb = &x[i * k + 32 * b..i * k + 32 * b + 32];
                let qb = &r.qs[32 * b..32 * b + 32];
                let amax = xb.iter().fold(0.0f32, |a, v| a.max(v.abs()));
                let d = r.d[b];
                assert_eq!(d, round_f16(amax / 127.0));
                for (v, &qv) in xb.iter().zip(qb) {
                    let err = (v - d * qv as f32).abs();
                    assert!(
                        err <= 0.5 * amax / 127.0 + amax * 2f32.powi(-11) + 1e-7,
                        "err {err} amax {amax}"
                    );
                }
                let sum: i32 = qb.iter().map(|&v| v as i32).sum();
                assert_eq!(r.sum[b], sum);
                assert_eq!(r.s[b], round_f16(amax / 127.0 * sum as f32));
                if amax > 0.0 {
                    assert_eq!(qb.iter().map(|v| v.unsigned_abs()).max(), Some(127));
                } else {
                    assert!(qb.iter().all(|&v| v == 0) && d == 0.0);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn q8_0_ties_round_to_even() -> Result<()> {
        // amax = 127 ⇒ id = 1 exactly; 2.5 → 2, 3.5 → 4, −0.5 → 0.
        let mut x = vec![0.0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = 3.5;
        x[3] = -0.5;
        let q = Q8Rows::quantize(&x, 1, 32)?;
        assert_eq!(&q.row(0).qs[..4], &[127, 2, 4, 0]);
        Ok(())
    }

    #[test]
    fn q8_k_round_trip_and_exact_bsums() -> Result<()> {
        let (m, k) = (2, 512);
        let mut x = data(m * k, 11);
        x[256..512].fill(0.0); // an all-zero super-block
        x[5] = -9.0; // the largest magnitude always maps to −127 (iscale = −127/max); here d > 0
        let q = Q8KRows::quantize(&x, m, k)?;
        for i in 0..m {
            let r = q.row(i);
            for b in 0..k / 256 {
                let xb = &x[i * k + 256 * b..i * k + 256 * (b + 1)];
                let qb = &r.qs[256 * b..256 * (b + 1)];
                let amax = xb.iter().fold(0.0f32, |a, v| a.max(v.abs()));
                if amax == 0.0 {
                    assert!(r.d[b] == 0.0 && qb.iter().all(|&v| v == 0));
                }
                for (v, &qv) in xb.iter().zip(qb) {
                    assert!((v - r.d[b] * qv as f32).abs() <= 0.5 * amax / 127.0 * 1.0001 + 1e-7);
                }
                for j in 0..16 {
                    let s: i32 = qb[16 * j..16 * j + 16].iter().map(|&v| v as i32).sum();
                    assert_eq!(r.bsums[16 * b + j] as i32, s);
                }
            }
        }
        assert_eq!(q.row(0).qs[5], -127);
        assert!(q.row(0).d[0] > 0.0);
        Ok(())
    }

    /// The SIMD quantizers equal the scalar ones bit for bit (ties, zero blocks, a negative
    /// largest element, equal magnitudes of both signs).
    #[test]
    fn simd_quantizers_are_bit_exact() {
        let k = 1024;
        let mut x = data(k, 3);
        x[0..32].fill(0.0);
        x[256..512].fill(0.0);
        x[40] = 127.0;
        x[41] = 2.5;
        x[42] = -0.5;
        x[600] = -50.0;
        x[601] = 50.0;
        x[700] = 3.0;
        x[701] = -3.0;
        let nb = k / 32;
        let (mut qa, mut qb) = (vec![0i8; k], vec![0i8; k]);
        let (mut da, mut db) = (vec![0.0f32; nb], vec![0.0f32; nb]);
        let (mut sa, mut sb) = (vec![0i32; nb], vec![0i32; nb]);
        let (mut ea, mut eb) = (vec![0.0f32; nb], vec![0.0f32; nb]);
        quantize_row_q8(&x, &mut qa, &mut da, &mut sa, &mut ea);
        quantize_row_q8_scalar(&x, &mut qb, &mut db, &mut sb, &mut eb);
        assert_eq!((qa, da, sa, ea), (qb, db, sb, eb));
        let nk = k / 256;
        let (mut qa, mut qb) = (vec![0i8; k], vec![0i8; k]);
        let (mut da, mut db) = (vec![0.0f32; nk], vec![0.0f32; nk]);
        let (mut ba, mut bb) = (vec![0i16; k / 16], vec![0i16; k / 16]);
        quantize_row_q8_k(&x, &mut qa, &mut da, &mut ba);
        quantize_row_q8_k_scalar(&x, &mut qb, &mut db, &mut bb);
        assert_eq!((qa, da, ba), (qb, db, bb));
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Q8Rows::quantize(&[0.0; 48], 1, 48).is_err());
        assert!(Q8KRows::quantize(&[0.0; 128], 1, 128).is_err());
        assert!(Q8Rows::quantize(&[0.0; 64], 1, 32).is_err());
    }
}
