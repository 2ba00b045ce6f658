//! GGML tensor types: ids as written in GGUF files and their block geometry.

use crate::{Error, Result};

/// The tensor element types we can load. Quantized types store blocks of `block_size()` elements
/// in `type_size()` bytes; a row's length must be a multiple of the block size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
    /// 32 × 4-bit, one f16 scale; x = (q − 8)·d.
    Q4_0,
    /// 32 × 4-bit, f16 scale and min; x = q·d + m.
    Q4_1,
    /// 32 × 5-bit, one f16 scale; x = (q − 16)·d.
    Q5_0,
    /// 32 × 5-bit, f16 scale and min.
    Q5_1,
    /// 32 × 8-bit, one f16 scale.
    Q8_0,
    /// 256 × 4-bit super-block with 8 sub-blocks of 6-bit scales and mins.
    Q4_K,
    /// 256 × 6-bit super-block with 16 sub-blocks of 8-bit scales.
    Q6_K,
}

impl GgmlType {
    /// The type for a GGML type id, or a clear error naming the id.
    pub fn from_id(id: u32) -> Result<Self> {
        Ok(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            12 => Self::Q4_K,
            14 => Self::Q6_K,
            30 => Self::BF16,
            other => {
                return Err(Error::UnsupportedType(format!(
                    "{} (ggml type id {other})",
                    id_name(other)
                )))
            }
        })
    }

    /// The GGML type id.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q4_K => 12,
            Self::Q6_K => 14,
            Self::BF16 => 30,
        }
    }

    /// Elements per block.
    pub fn block_size(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 => 32,
            Self::Q4_K | Self::Q6_K => 256,
        }
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q4_K => 144,
            Self::Q6_K => 210,
        }
    }

    /// Bytes of a row of `n` elements, or an error when `n` is not a whole number of blocks.
    pub fn row_bytes(self, n: usize) -> Result<usize> {
        let bs = self.block_size();
        if !n.is_multiple_of(bs) {
            return Err(Error::Shape(format!(
                "row of {n} elements is not a multiple of the {self:?} block size {bs}"
            )));
        }
        Ok(n / bs * self.type_size())
    }

    /// Display name as llama.cpp prints it.
    pub fn name(self) -> &'static str {
        id_name(self.id())
    }
}

/// llama.cpp's name of a type id, known or not (for error messages).
pub fn id_name(id: u32) -> &'static str {
    const NAMES: [&str; 43] = [
        "F32",
        "F16",
        "Q4_0",
        "Q4_1",
        "Q4_2",
        "Q4_3",
        "Q5_0",
        "Q5_1",
        "Q8_0",
        "Q8_1",
        "Q2_K",
        "Q3_K",
        "Q4_K",
        "Q5_K",
        "Q6_K",
        "Q8_K",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ3_XXS",
        "IQ1_S",
        "IQ4_NL",
        "IQ3_S",
        "IQ2_S",
        "IQ4_XS",
        "I8",
        "I16",
        "I32",
        "I64",
        "F64",
        "IQ1_M",
        "BF16",
        "Q4_0_4_4",
        "Q4_0_4_8",
        "Q4_0_8_8",
        "TQ1_0",
        "TQ2_0",
        "IQ4_NL_4_4",
        "IQ4_NL_4_8",
        "IQ4_NL_8_8",
        "MXFP4",
        "NVFP4",
        "Q1_0",
        "Q2_0",
    ];
    NAMES.get(id as usize).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_is_an_error() {
        for t in [
            GgmlType::F32,
            GgmlType::F16,
            GgmlType::BF16,
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q5_1,
            GgmlType::Q8_0,
            GgmlType::Q4_K,
            GgmlType::Q6_K,
        ] {
            assert_eq!(GgmlType::from_id(t.id()).ok(), Some(t));
        }
        let e = GgmlType::from_id(16)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("IQ2_XXS"), "{e}");
        assert!(GgmlType::from_id(9999).is_err());
    }

    #[test]
    fn row_bytes_checks_blocks() {
        assert_eq!(GgmlType::Q4_K.row_bytes(512).ok(), Some(288));
        assert!(GgmlType::Q4_K.row_bytes(100).is_err());
    }
}
