//! Unpacking weights and activations into the GEMM microkernel's layouts.
//!
//! Every quantized type is brought to one form: per sub-block `g` of `G` elements (32, or 16
//! for Q6_K) an unsigned 8-bit quant per element, a float scale `dw` and, for the types with a
//! min, a float `mw`, such that
//!
//! ```text
//! W·x = Σ_g dx_g · dw_g · (Σ_{l∈g} q_l·x_l − c·Σ_{l∈g} x_l) + mw_g · sx_g
//! ```
//!
//! with the type's offset `c` (Q4_0: 8, Q5_0: 16, Q8_0: 128 after `q ^ 0x80`, Q6_K: 32, else 0)
//! and the activation-side `dx_g`, `sx_g` (Q8_1's `s`, or `d·bsum32` for Q8_K). The offset term
//! is integer and folded into the i32 accumulator's initial value, so each sub-block's integer
//! sum is exact, as in llama.cpp.
//!
//! A [`Panel`] holds [`NR`] = 16 weight rows with their quants interleaved as
//! `[k/4][16 rows][4 bytes]`: one 64-byte load gives `vpdpbusd` four consecutive quants of each
//! of the 16 rows, so each i32 lane accumulates one row's dot product.

use super::QMatrix;
use crate::quant::dot::scalar::q6k_quants;
use crate::quant::dot::{ActRow, QActs};
use crate::quant::kquants::q4k_scales_mins;
use crate::quant::rd_f16;
use crate::GgmlType;

/// Weight rows per panel (one zmm of i32 lanes).
pub(super) const NR: usize = 16;

/// How a weight type maps onto the common form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spec {
    /// Elements per sub-block (scale granularity).
    pub g: usize,
    /// The integer offset `c` subtracted from every quant.
    pub offset: i32,
    /// Whether the type has a min term (`mw · sx`).
    pub has_min: bool,
    /// The largest unsigned quant (the GEMM without VNNI sizes its i16 sums by it).
    pub qmax: u8,
}

impl Spec {
    /// The spec of a quantized type (None for float types).
    pub(super) fn of(ty: GgmlType) -> Option<Self> {
        let s = |g, offset, has_min, qmax| {
            Some(Self {
                g,
                offset,
                has_min,
                qmax,
            })
        };
        match ty {
            GgmlType::Q4_0 => s(32, 8, false, 15),
            GgmlType::Q5_0 => s(32, 16, false, 31),
            GgmlType::Q8_0 => s(32, 128, false, 255),
            GgmlType::Q4_1 | GgmlType::Q4_K => s(32, 0, true, 15),
            GgmlType::Q5_1 => s(32, 0, true, 31),
            GgmlType::Q6_K => s(16, 32, false, 63),
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => None,
        }
    }
}

/// 16 weight rows in the microkernel layout.
#[derive(Debug, Default)]
pub(super) struct Panel {
    /// `[k/4][NR][4]` unsigned quants.
    pub q: Vec<u8>,
    /// `[k/g][NR]` scales.
    pub dw: Vec<f32>,
    /// `[k/g][NR]` min coefficients (empty unless the type has a min).
    pub mw: Vec<f32>,
    /// Scratch: one row's quants in element order.
    row_q: Vec<u8>,
    /// Scratch: one row's scales / mins.
    row_dw: Vec<f32>,
    row_mw: Vec<f32>,
}

impl Panel {
    /// Size for `k` columns and `ng` sub-blocks, zeroed.
    pub(super) fn reset(&mut self, k: usize, ng: usize, has_min: bool) {
        self.q.clear();
        self.q.resize(k * NR, 0);
        self.dw.clear();
        self.dw.resize(ng * NR, 0.0);
        self.mw.clear();
        if has_min {
            self.mw.resize(ng * NR, 0.0);
        }
    }

    /// Fill with rows `r0..r0+NR` of `w` (rows past the end become zeros), with the fastest
    /// implementation this CPU has.
    pub(super) fn fill(&mut self, w: &QMatrix, spec: Spec, r0: usize) {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::features().avx512 {
            // SAFETY: avx512 f/bw/vl (and f16c, part of our avx2 level) detected; the caller
            // passes the spec of w's type and r0 < rows.
            return unsafe { super::fill512::fill(self, w, spec, r0) };
        }
        self.fill_scalar(w, spec, r0);
    }

    /// Portable [`Panel::fill`] (and the oracle of the SIMD one).
    pub(super) fn fill_scalar(&mut self, w: &QMatrix, spec: Spec, r0: usize) {
        let k = w.cols();
        let ng = k / spec.g;
        self.reset(k, ng, spec.has_min);
        self.row_q.resize(k, 0);
        self.row_dw.resize(ng, 0.0);
        self.row_mw.resize(ng, 0.0);
        for r in 0..NR.min(w.rows().saturating_sub(r0)) {
            unpack_row(
                w.ty(),
                w.row_bytes(r0 + r),
                &mut self.row_q,
                &mut self.row_dw,
                &mut self.row_mw,
            );
            for (k4, quad) in self.row_q.chunks_exact(4).enumerate() {
                self.q[k4 * 4 * NR + 4 * r..k4 * 4 * NR + 4 * r + 4].copy_from_slice(quad);
            }
            for g in 0..ng {
                self.dw[g * NR + r] = self.row_dw[g];
            }
            if spec.has_min {
                for g in 0..ng {
                    self.mw[g * NR + r] = self.row_mw[g];
                }
            }
        }
    }
}

/// One row of `ty` → unsigned quants in element order, per-sub-block `dw` and `mw`.
fn unpack_row(ty: GgmlType, row: &[u8], q: &mut [u8], dw: &mut [f32], mw: &mut [f32]) {
    let nibbles = |qs: &[u8], q: &mut [u8]| {
        for j in 0..16 {
            q[j] = qs[j] & 0xF;
            q[j + 16] = qs[j] >> 4;
        }
    };
    let high = |qh: &[u8], q: &mut [u8]| {
        let bits = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
        for (j, v) in q.iter_mut().enumerate() {
            *v |= (((bits >> j) & 1) << 4) as u8;
        }
    };
    match ty {
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
            let ts = ty.type_size();
            for (b, (blk, qb)) in row.chunks_exact(ts).zip(q.chunks_exact_mut(32)).enumerate() {
                dw[b] = rd_f16(blk, 0);
                match ty {
                    GgmlType::Q4_0 => nibbles(&blk[2..18], qb),
                    GgmlType::Q5_0 => {
                        nibbles(&blk[6..22], qb);
                        high(&blk[2..6], qb);
                    }
                    GgmlType::Q4_1 => {
                        mw[b] = rd_f16(blk, 2);
                        nibbles(&blk[4..20], qb);
                    }
                    GgmlType::Q5_1 => {
                        mw[b] = rd_f16(blk, 2);
                        nibbles(&blk[8..24], qb);
                        high(&blk[4..8], qb);
                    }
                    _ => {
                        for (o, &v) in qb.iter_mut().zip(&blk[2..34]) {
                            *o = v ^ 0x80;
                        }
                    }
                }
            }
        }
        GgmlType::Q4_K => {
            for (sb, (blk, qb)) in row
                .chunks_exact(144)
                .zip(q.chunks_exact_mut(256))
                .enumerate()
            {
                let d = rd_f16(blk, 0);
                let dmin = rd_f16(blk, 2);
                let u = q4k_scales_mins(&blk[4..16]);
                let sc: [u8; 8] = bytes8(u[0], u[1]);
                let mn: [u8; 8] = bytes8(u[2], u[3]);
                for j in 0..8 {
                    dw[8 * sb + j] = d * sc[j] as f32;
                    mw[8 * sb + j] = -dmin * mn[j] as f32;
                }
                for g in 0..4 {
                    let qs = &blk[16 + 32 * g..48 + 32 * g];
                    for l in 0..32 {
                        qb[64 * g + l] = qs[l] & 0xF;
                        qb[64 * g + 32 + l] = qs[l] >> 4;
                    }
                }
            }
        }
        GgmlType::Q6_K => {
            for (sb, (blk, qb)) in row
                .chunks_exact(210)
                .zip(q.chunks_exact_mut(256))
                .enumerate()
            {
                let d = rd_f16(blk, 208);
                qb.copy_from_slice(&q6k_quants(blk));
                for j in 0..16 {
                    dw[16 * sb + j] = d * (blk[192 + j] as i8) as f32;
                }
            }
        }
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {}
    }
}

fn bytes8(lo: u32, hi: u32) -> [u8; 8] {
    let (a, b) = (lo.to_le_bytes(), hi.to_le_bytes());
    [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
}

/// Activation-side per-sub-block terms for `m` rows: `[m][k/g]` each.
#[derive(Debug, Default)]
pub(super) struct ActTerms {
    /// Sub-blocks per row.
    pub ng: usize,
    /// Activation scale of the sub-block.
    pub dx: Vec<f32>,
    /// `−c · Σ x` (integer quants) of the sub-block.
    pub init: Vec<i32>,
    /// The min-term partner `sx` (empty unless the type has a min).
    pub sx: Vec<f32>,
}

impl ActTerms {
    /// The terms of `acts` for weights of `spec`.
    pub(super) fn new(acts: &QActs, spec: Spec, k: usize) -> Self {
        let ng = k / spec.g;
        let m = acts.m();
        let mut t = Self {
            ng,
            dx: Vec::with_capacity(m * ng),
            init: Vec::with_capacity(m * ng),
            sx: Vec::new(),
        };
        for i in 0..m {
            match acts.row(i) {
                ActRow::Q8(a) => {
                    t.dx.extend_from_slice(a.d);
                    t.init.extend(a.sum.iter().map(|&s| -spec.offset * s));
                    if spec.has_min {
                        t.sx.extend_from_slice(a.s);
                    }
                }
                ActRow::Q8K(a) => {
                    let per16 = spec.g / 16;
                    for g in 0..ng {
                        let d = a.d[g * spec.g / 256];
                        let bsum: i32 = a.bsums[g * per16..(g + 1) * per16]
                            .iter()
                            .map(|&v| v as i32)
                            .sum();
                        t.dx.push(d);
                        t.init.push(-spec.offset * bsum);
                        if spec.has_min {
                            t.sx.push(d * bsum as f32);
                        }
                    }
                }
            }
        }
        t
    }
}
