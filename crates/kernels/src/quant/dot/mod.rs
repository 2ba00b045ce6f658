//! Quantized weight-row × quantized-activation dot products (the GEMV inner loop).
//!
//! Each weight type is multiplied against the activation format llama.cpp pairs it with
//! ([`act_kind`]): integer block dot products, then float scaling per block. Implementations:
//! [`scalar`] (the f64 model and oracle), and x86 kernels written once over an [`isa::Isa`]
//! trait with two instantiations: AVX2 (`vpmaddubsw` + `vpmaddwd`) and AVX-512 VNNI
//! (`vpdpbusd`, 256-bit EVEX). [`dot_rows`] runs one activation row against a range of weight
//! rows with the implementation the caller names; [`DotImpl::best`] picks from
//! [`crate::cpu::features`].

#[cfg(target_arch = "x86_64")]
mod entry;
#[cfg(target_arch = "x86_64")]
mod isa;
#[cfg(target_arch = "x86_64")]
mod kquants;
#[cfg(target_arch = "x86_64")]
mod legacy;
pub mod scalar;
#[cfg(test)]
pub(crate) mod tests;

use super::q8::{Q8KRow, Q8KRows, Q8Row, Q8Rows};
use crate::{Error, GgmlType, Result};

/// The activation format a weight type is multiplied against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum ActKind {
    /// `block_q8_0` (Q4_0, Q5_0, Q8_0 weights).
    Q8_0,
    /// `block_q8_1` (Q4_1, Q5_1 weights).
    Q8_1,
    /// `block_q8_K` (Q4_K, Q6_K weights).
    Q8_K,
}

/// The activation format for `ty`, or `None` for the float types (which take f32 activations).
pub fn act_kind(ty: GgmlType) -> Option<ActKind> {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => Some(ActKind::Q8_0),
        GgmlType::Q4_1 | GgmlType::Q5_1 => Some(ActKind::Q8_1),
        GgmlType::Q4_K | GgmlType::Q6_K => Some(ActKind::Q8_K),
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => None,
    }
}

/// One quantized activation row.
#[derive(Debug, Clone, Copy)]
pub enum ActRow<'a> {
    /// Blocks of 32 (serves both Q8_0 and Q8_1 weights).
    Q8(Q8Row<'a>),
    /// Super-blocks of 256.
    Q8K(Q8KRow<'a>),
}

impl<'a> ActRow<'a> {
    /// Elements.
    pub fn len(&self) -> usize {
        match self {
            Self::Q8(r) => r.qs.len(),
            Self::Q8K(r) => r.qs.len(),
        }
    }

    /// The quants.
    pub fn qs(self) -> &'a [i8] {
        match self {
            Self::Q8(r) => r.qs,
            Self::Q8K(r) => r.qs,
        }
    }

    /// True for an empty row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this row is in the format `ty` is multiplied against.
    pub fn serves(&self, ty: GgmlType) -> bool {
        matches!(
            (self, act_kind(ty)),
            (Self::Q8(_), Some(ActKind::Q8_0 | ActKind::Q8_1))
                | (Self::Q8K(_), Some(ActKind::Q8_K))
        )
    }
}

/// Activation rows quantized in the format a weight type needs.
#[derive(Debug, Clone)]
pub enum QActs {
    /// Blocks of 32 (Q8_0 / Q8_1).
    Q8(Q8Rows),
    /// Super-blocks of 256 (Q8_K).
    Q8K(Q8KRows),
}

impl QActs {
    /// Quantize `m` rows of `k` f32 activations for weights of type `ty`.
    pub fn quantize(ty: GgmlType, x: &[f32], m: usize, k: usize) -> Result<Self> {
        Ok(match act_kind(ty) {
            Some(ActKind::Q8_K) => Self::Q8K(Q8KRows::quantize(x, m, k)?),
            Some(_) => Self::Q8(Q8Rows::quantize(x, m, k)?),
            None => {
                return Err(Error::UnsupportedType(format!(
                    "{} takes f32 activations",
                    ty.name()
                )))
            }
        })
    }

    /// Rows.
    pub fn m(&self) -> usize {
        match self {
            Self::Q8(q) => q.m(),
            Self::Q8K(q) => q.m(),
        }
    }

    /// All rows' quants, row-major (`m·k`).
    pub fn all_qs(&self) -> &[i8] {
        match self {
            Self::Q8(q) => q.all_qs(),
            Self::Q8K(q) => q.all_qs(),
        }
    }

    /// Row `i` (< [`Self::m`]).
    pub fn row(&self, i: usize) -> ActRow<'_> {
        match self {
            Self::Q8(q) => ActRow::Q8(q.row(i)),
            Self::Q8K(q) => ActRow::Q8K(q.row(i)),
        }
    }
}

/// A dot-product implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DotImpl {
    /// The scalar model (f64 scaling): portable, slow, exact integer parts.
    Scalar,
    /// AVX2 + FMA + F16C (`vpmaddubsw`).
    Avx2,
    /// AVX-512 BW/VL + VNNI (`vpdpbusd`).
    Avx512,
}

impl DotImpl {
    /// The fastest implementation this CPU runs.
    pub fn best() -> Self {
        let f = crate::cpu::features();
        if f.avx512_vnni {
            Self::Avx512
        } else if f.avx2 {
            Self::Avx2
        } else {
            Self::Scalar
        }
    }

    /// Whether this CPU can run it.
    pub fn available(self) -> bool {
        let f = crate::cpu::features();
        match self {
            Self::Scalar => true,
            Self::Avx2 => f.avx2,
            Self::Avx512 => f.avx512_vnni,
        }
    }
}

/// `y[r] = W_r · a` for the `y.len()` rows stored back to back in `w` (`row_bytes` each).
pub fn dot_rows(
    imp: DotImpl,
    ty: GgmlType,
    w: &[u8],
    row_bytes: usize,
    a: ActRow<'_>,
    y: &mut [f32],
) -> Result<()> {
    if !a.serves(ty) || ty.row_bytes(a.len())? != row_bytes || w.len() != row_bytes * y.len() {
        return Err(Error::Shape(format!(
            "dot_rows: {} rows of {} ({} bytes each) in {} bytes against {} activations",
            y.len(),
            ty.name(),
            row_bytes,
            w.len(),
            a.len()
        )));
    }
    if !imp.available() {
        return Err(Error::Device(format!(
            "{imp:?} is not supported by this CPU"
        )));
    }
    if row_bytes == 0 {
        y.fill(0.0);
        return Ok(());
    }
    match imp {
        DotImpl::Scalar => {
            for (o, wr) in y.iter_mut().zip(w.chunks_exact(row_bytes)) {
                *o = scalar::dot_model(ty, wr, a)?.value as f32;
            }
            Ok(())
        }
        #[cfg(target_arch = "x86_64")]
        DotImpl::Avx2 => {
            // SAFETY: avx2+fma+f16c checked by `available`; shapes checked above.
            unsafe { entry::rows_avx2(ty, w, row_bytes, a, y) };
            Ok(())
        }
        #[cfg(target_arch = "x86_64")]
        DotImpl::Avx512 => {
            // SAFETY: avx512 bw/vl/vnni (and avx2) checked by `available`; shapes checked above.
            unsafe { entry::rows_avx512(ty, w, row_bytes, a, y) };
            Ok(())
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => Err(Error::Device(format!("{imp:?} needs x86_64"))),
    }
}
