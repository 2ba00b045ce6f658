//! Scalar model of the quantized dot products: integer block sums in exact arithmetic, the float
//! scaling in f64. Every SIMD kernel (GEMV and GEMM) computes the same quantity up to f32
//! rounding of the per-block float terms, so comparing against this model with a tolerance of a
//! few ulp of Σ|term| catches lane-order and unpacking bugs that would hide inside the much
//! larger activation-quantization tolerance.
//!
//! The per-type arithmetic is llama.cpp's (`ggml_vec_dot_*_generic` in `ggml-cpu/quants.c`):
//! - Q4_0 / Q5_0 / Q8_0 × Q8_0: `Σ_b d_w·d_x·Σ (q−offset)·x`
//! - Q4_1 / Q5_1 × Q8_1: `Σ_b d_w·d_x·Σ q·x + m_w·s_x`
//! - Q4_K × Q8_K: `Σ_sb d·d_x·Σ_j sc_j·Σ q·x − dmin·d_x·Σ_j m_j·bsum32_j`
//! - Q6_K × Q8_K: `Σ_sb d·d_x·Σ_j sc_j·Σ (q−32)·x`

use super::ActRow;
use crate::quant::{rd_f16, scale_min_k4};
use crate::{Error, GgmlType, Result};

/// The model's value of `W_row · x` and a magnitude against which f32 rounding differences are
/// measured: Σ over blocks of |scale| · Σ_l (|q_l| + c)·|x_l|, with `q_l` the signed weight quant,
/// `c` the type's offset (8, 16, 32; 0 for Q8_0 and the types with a min) because the kernels
/// sum the offset term separately, plus |min term| where there is one. It bounds every partial
/// sum a kernel rounds (lane partials, the offset and min terms), i.e. Σ|w·x| in quantized units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelDot {
    /// The dot product.
    pub value: f64,
    /// Σ|w·x|-like scale of the partial sums (see the type docs).
    pub magnitude: f64,
}

/// Scalar model of one weight row (`w`, exactly one row of `ty`) against one quantized
/// activation row of the matching kind.
pub fn dot_model(ty: GgmlType, w: &[u8], a: ActRow<'_>) -> Result<ModelDot> {
    let k = a.len();
    let need = ty.row_bytes(k)?;
    if w.len() != need || !a.serves(ty) {
        return Err(Error::Shape(format!(
            "dot_model: {} row of {} bytes vs {k} activations",
            ty.name(),
            w.len()
        )));
    }
    let mut acc = Acc::default();
    match (ty, a) {
        (
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 | GgmlType::Q4_1 | GgmlType::Q5_1,
            ActRow::Q8(a),
        ) => {
            let ts = ty.type_size();
            for (b, blk) in w.chunks_exact(ts).enumerate() {
                let (d, m, q) = legacy_block(ty, blk);
                let c = match ty {
                    GgmlType::Q4_0 => 8,
                    GgmlType::Q5_0 => 16,
                    _ => 0,
                };
                let x = &a.qs[32 * b..32 * b + 32];
                let isum: i64 = q.iter().zip(x).map(|(&q, &x)| q as i64 * x as i64).sum();
                let abs: i64 = q
                    .iter()
                    .zip(x)
                    .map(|(&q, &x)| (q.abs() + c) as i64 * (x as i64).abs())
                    .sum();
                let s = d as f64 * a.d[b] as f64;
                acc.add(s * isum as f64, s.abs() * abs as f64);
                if let Some(m) = m {
                    let t = m as f64 * a.s[b] as f64;
                    acc.add(t, t.abs());
                }
            }
        }
        (GgmlType::Q4_K, ActRow::Q8K(a)) => {
            for (sb, blk) in w.chunks_exact(144).enumerate() {
                let d = rd_f16(blk, 0) as f64 * a.d[sb] as f64;
                let dmin = rd_f16(blk, 2) as f64 * a.d[sb] as f64;
                let x = &a.qs[256 * sb..256 * sb + 256];
                for j in 0..8 {
                    let (sc, mn) = scale_min_k4(j, &blk[4..16]);
                    let g = j / 2;
                    let qs = &blk[16 + 32 * g..16 + 32 * g + 32];
                    let (mut isum, mut abs) = (0i64, 0i64);
                    for l in 0..32 {
                        let q = if j % 2 == 0 { qs[l] & 0xF } else { qs[l] >> 4 } as i64;
                        isum += q * x[32 * j + l] as i64;
                        abs += q * (x[32 * j + l] as i64).abs();
                    }
                    let bsum =
                        a.bsums[16 * sb + 2 * j] as i64 + a.bsums[16 * sb + 2 * j + 1] as i64;
                    acc.add(
                        d * (sc as i64 * isum) as f64,
                        (d * (sc as i64 * abs) as f64).abs(),
                    );
                    let t = -dmin * (mn as i64 * bsum) as f64;
                    acc.add(t, t.abs());
                }
            }
        }
        (GgmlType::Q6_K, ActRow::Q8K(a)) => {
            for (sb, blk) in w.chunks_exact(210).enumerate() {
                let d = rd_f16(blk, 208) as f64 * a.d[sb] as f64;
                let q = q6k_quants(blk);
                let x = &a.qs[256 * sb..256 * sb + 256];
                for j in 0..16 {
                    let sc = blk[192 + j] as i8 as i64;
                    let isum: i64 = (16 * j..16 * j + 16)
                        .map(|l| (q[l] as i64 - 32) * x[l] as i64)
                        .sum();
                    let abs: i64 = (16 * j..16 * j + 16)
                        .map(|l| ((q[l] as i64 - 32).abs() + 32) * (x[l] as i64).abs())
                        .sum();
                    acc.add(d * (sc * isum) as f64, (d * (sc * abs) as f64).abs());
                }
            }
        }
        _ => {
            return Err(Error::UnsupportedType(format!(
                "dot_model for {}",
                ty.name()
            )))
        }
    }
    Ok(ModelDot {
        value: acc.value,
        magnitude: acc.magnitude,
    })
}

#[derive(Default)]
struct Acc {
    value: f64,
    magnitude: f64,
}

impl Acc {
    fn add(&mut self, t: f64, magnitude: f64) {
        self.value += t;
        self.magnitude += magnitude;
    }
}

/// A 32-block's scale, optional min and signed-offset quants (offset already subtracted for the
/// symmetric types, raw unsigned quants for the types with a min).
fn legacy_block(ty: GgmlType, blk: &[u8]) -> (f32, Option<f32>, [i32; 32]) {
    let mut q = [0i32; 32];
    let d = rd_f16(blk, 0);
    let nibbles = |qs: &[u8], q: &mut [i32; 32]| {
        for j in 0..16 {
            q[j] = (qs[j] & 0xF) as i32;
            q[j + 16] = (qs[j] >> 4) as i32;
        }
    };
    let high = |qh: u32, q: &mut [i32; 32]| {
        for (j, v) in q.iter_mut().enumerate() {
            *v |= (((qh >> j) & 1) << 4) as i32;
        }
    };
    let u32_at = |i: usize| u32::from_le_bytes([blk[i], blk[i + 1], blk[i + 2], blk[i + 3]]);
    match ty {
        GgmlType::Q4_0 => {
            nibbles(&blk[2..18], &mut q);
            q.iter_mut().for_each(|v| *v -= 8);
            (d, None, q)
        }
        GgmlType::Q5_0 => {
            nibbles(&blk[6..22], &mut q);
            high(u32_at(2), &mut q);
            q.iter_mut().for_each(|v| *v -= 16);
            (d, None, q)
        }
        GgmlType::Q8_0 => {
            for (v, &b) in q.iter_mut().zip(&blk[2..34]) {
                *v = b as i8 as i32;
            }
            (d, None, q)
        }
        GgmlType::Q4_1 => {
            nibbles(&blk[4..20], &mut q);
            (d, Some(rd_f16(blk, 2)), q)
        }
        _ => {
            // Q5_1
            nibbles(&blk[8..24], &mut q);
            high(u32_at(4), &mut q);
            (d, Some(rd_f16(blk, 2)), q)
        }
    }
}

/// The 256 unsigned 6-bit quants of a Q6_K block in element order.
pub(crate) fn q6k_quants(blk: &[u8]) -> [u8; 256] {
    let mut q = [0u8; 256];
    for half in 0..2 {
        let ql = &blk[64 * half..64 * half + 64];
        let qh = &blk[128 + 32 * half..128 + 32 * half + 32];
        let o = &mut q[128 * half..128 * half + 128];
        for l in 0..32 {
            o[l] = (ql[l] & 0xF) | ((qh[l] & 3) << 4);
            o[l + 32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
            o[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            o[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    q
}
