//! Block layouts of the GGML quantized types and their scalar reference dequantization.
//!
//! The scalar functions here are the oracle: every SIMD path in [`crate::matmul`] is tested
//! against `dequantize_row` followed by an f64 dot product. Layouts follow llama.cpp's
//! `ggml-common.h` / `ggml-quants.c` byte for byte (little-endian, packed blocks).
//!
//! Also here: activation quantization ([`q8`]), reference weight quantizers ([`quantize`]) and
//! the quantized dot-product kernels ([`dot`]).

pub mod dot;
mod float;
pub(crate) mod kquants;
mod legacy;
pub mod q8;
#[cfg(target_arch = "x86_64")]
mod q8_x86;
pub mod quantize;

use crate::{Error, GgmlType, Result};

pub use float::{bf16_to_f32, f16_to_f32};
pub use kquants::scale_min_k4;

/// Dequantize one row of `out.len()` elements stored as `ty` in `bytes`.
pub fn dequantize_row(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    let need = ty.row_bytes(out.len())?;
    if bytes.len() < need {
        return Err(Error::DataSize {
            what: format!("{} row", ty.name()),
            got: bytes.len(),
            expected: need,
        });
    }
    let bytes = &bytes[..need];
    match ty {
        GgmlType::F32 => float::f32_row(bytes, out),
        GgmlType::F16 => float::f16_row(bytes, out),
        GgmlType::BF16 => float::bf16_row(bytes, out),
        GgmlType::Q4_0 => legacy::q4_0(bytes, out),
        GgmlType::Q4_1 => legacy::q4_1(bytes, out),
        GgmlType::Q5_0 => legacy::q5_0(bytes, out),
        GgmlType::Q5_1 => legacy::q5_1(bytes, out),
        GgmlType::Q8_0 => legacy::q8_0(bytes, out),
        GgmlType::Q4_K => kquants::q4_k(bytes, out),
        GgmlType::Q6_K => kquants::q6_k(bytes, out),
    }
    Ok(())
}

/// Read a little-endian f16 at `b[i..i+2]` as f32.
#[inline]
pub(crate) fn rd_f16(b: &[u8], i: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[i], b[i + 1]]))
}
