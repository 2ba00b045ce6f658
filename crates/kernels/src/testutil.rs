//! Deterministic random data for tests: activations, and weight matrices of any type either
//! quantized from random floats or made of random raw blocks (every bit pattern of the quants,
//! including Q8_0's −128 and full-range K-quant scales; only the f16 scale fields are tamed).

use crate::quant::quantize::quantize_matrix;
use crate::{GgmlType, Result};

/// xorshift64* generator.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// `n` values: uniform noise plus a few outliers, scaled by `scale`.
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let v = self.f32();
                let spike = if self.next_u64().is_multiple_of(61) {
                    6.0
                } else {
                    1.0
                };
                v * scale * spike
            })
            .collect()
    }
}

/// A `[rows, cols]` weight matrix of `ty`: quantized from random floats (`raw = false`) or
/// random raw blocks (`raw = true`).
pub fn weights(ty: GgmlType, rows: usize, cols: usize, seed: u64, raw: bool) -> Result<Vec<u8>> {
    let mut rng = Rng::new(seed);
    if !raw || matches!(ty, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16) {
        let x = rng.vec(rows * cols, 0.05);
        return quantize_matrix(ty, &x, rows, cols);
    }
    let n = ty.row_bytes(cols)? * rows;
    let mut b: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
    let f16_field = |blk: &mut [u8], at: usize, rng: &mut Rng, positive: bool| {
        let v = rng.f32() * 0.01;
        let v = if positive { v.abs() } else { v };
        blk[at..at + 2].copy_from_slice(&half::f16::from_f32(v).to_le_bytes());
    };
    for blk in b.chunks_exact_mut(ty.type_size()) {
        match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => f16_field(blk, 0, &mut rng, false),
            GgmlType::Q4_1 | GgmlType::Q5_1 => {
                f16_field(blk, 0, &mut rng, true);
                f16_field(blk, 2, &mut rng, false);
            }
            GgmlType::Q4_K => {
                f16_field(blk, 0, &mut rng, true);
                f16_field(blk, 2, &mut rng, true);
            }
            GgmlType::Q6_K => f16_field(blk, 208, &mut rng, false),
            _ => {}
        }
    }
    Ok(b)
}
