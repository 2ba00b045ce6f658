//! [`QMatrix`]: a quantized weight matrix and `y = x · Wᵀ`.
//!
//! W has `rows` output features of `cols` inputs each, stored row by row in its GGML type.
//! `x` is `[m, cols]` f32 (m = 1 for decode, a prefill chunk otherwise); `y` is `[m, rows]`.
//!
//! Paths, chosen per call by [`Path::select`]:
//! - [`gemv`]: quantized types with few activation rows. The activations are quantized once
//!   (Q8_0/Q8_1/Q8_K as llama.cpp does), then integer dot kernels stream W; rows are split
//!   over rayon threads so each thread streams a disjoint slice of W.
//! - [`gemm`]: quantized types with many activation rows (prefill) on AVX-512 VNNI: weight
//!   panels unpacked once ([`pack`], [`fill512`]) and a register-tiled microkernel
//!   ([`kernel512`]).
//! - [`float`]: F32 / F16 / BF16 weights: SIMD dot products or an f32 FMA GEMM.
//! - [`reference`]: the portable fallback and test oracle: dequantize a tile of W rows to f32,
//!   f32 dots.

#[cfg(target_arch = "x86_64")]
mod fill512;
mod float;
#[cfg(target_arch = "x86_64")]
mod float_x86;
mod gemm;
mod gemv;
#[cfg(target_arch = "x86_64")]
mod kernel512;
mod multi;
mod pack;
mod reference;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::quant::dot::{act_kind, DotImpl};
use crate::{quant, Error, GgmlType, Result, Tensor};

pub use reference::reference_matmul;

/// Activation rows from which the GEMM beats repeated GEMV.
const GEMM_MIN_M: usize = 3;
/// The same for float weights (no unpacking to amortize, but the panel conversion).
const FLOAT_GEMM_MIN_M: usize = 4;

/// An implementation of `matmul_into`, for tests and benchmarks that want a specific one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Dequantize to f32 and use f32 dots (portable; the test oracle).
    Reference,
    /// Per-row dot kernels of the given implementation (quantized types: after quantizing the
    /// activations; float types: f32 activations).
    Gemv(DotImpl),
    /// The register-tiled AVX-512 GEMM (quantized types: on quantized activations, with VNNI
    /// where the CPU has it, else `vpmaddubsw`).
    Gemm,
}

impl Path {
    /// The fastest path on this CPU for `ty` and `m` activation rows.
    pub fn select(ty: GgmlType, m: usize) -> Self {
        let imp = DotImpl::best();
        if imp == DotImpl::Scalar {
            return Self::Reference;
        }
        let gemm = match act_kind(ty) {
            Some(_) => m >= GEMM_MIN_M && gemm::available(),
            None => m >= FLOAT_GEMM_MIN_M && float::gemm_available(),
        };
        if gemm {
            Self::Gemm
        } else {
            Self::Gemv(imp)
        }
    }
}

/// A shared, immutable byte range: a slice of a memory-mapped file or an owned buffer.
#[derive(Clone)]
pub struct Bytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    start: usize,
    len: usize,
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({}..{})", self.start, self.start + self.len)
    }
}

impl Bytes {
    /// `owner[start..start+len]`, checked.
    pub fn new(
        owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
        start: usize,
        len: usize,
    ) -> Result<Self> {
        let total = (*owner).as_ref().len();
        if start.checked_add(len).is_none_or(|end| end > total) {
            return Err(Error::DataSize {
                what: "byte range".into(),
                got: total,
                expected: start.saturating_add(len),
            });
        }
        Ok(Self { owner, start, len })
    }

    /// Owned bytes.
    pub fn from_vec(v: Vec<u8>) -> Self {
        let len = v.len();
        Self {
            owner: Arc::new(v),
            start: 0,
            len,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.start..self.start + self.len]
    }
}

/// `y`'s pointer shared by the GEMM panel tasks, each of which writes only its own columns.
#[derive(Clone, Copy)]
pub(crate) struct SharedY(*mut f32);

// SAFETY: tasks write disjoint elements (distinct panels own distinct columns) and the pointer
// never outlives the `&mut` borrow of `y` it was made from (the GEMMs use it only inside their
// parallel loop).
unsafe impl Send for SharedY {}
// SAFETY: as above.
unsafe impl Sync for SharedY {}

impl SharedY {
    /// Share `y` for the duration of a parallel loop.
    pub(crate) fn new(y: &mut [f32]) -> Self {
        Self(y.as_mut_ptr())
    }

    /// The pointer (a method, so closures capture the whole `Sync` wrapper).
    pub(crate) fn ptr(self) -> *mut f32 {
        self.0
    }
}

/// A weight matrix `[rows, cols]` in a GGML type.
#[derive(Debug, Clone)]
pub struct QMatrix {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    row_bytes: usize,
    data: Bytes,
}

impl QMatrix {
    /// Wrap `data`, checking that it holds exactly `rows` rows of `cols` elements of `ty`.
    pub fn new(ty: GgmlType, rows: usize, cols: usize, data: Bytes) -> Result<Self> {
        let row_bytes = ty.row_bytes(cols)?;
        let expected = row_bytes * rows;
        if data.as_slice().len() != expected {
            return Err(Error::DataSize {
                what: format!("{} matrix {rows}x{cols}", ty.name()),
                got: data.as_slice().len(),
                expected,
            });
        }
        Ok(Self {
            ty,
            rows,
            cols,
            row_bytes,
            data,
        })
    }

    /// Element type.
    pub fn ty(&self) -> GgmlType {
        self.ty
    }

    /// Output features.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of the whole matrix.
    pub fn n_bytes(&self) -> usize {
        self.row_bytes * self.rows
    }

    /// The raw bytes of row `i`.
    pub fn row_bytes(&self, i: usize) -> &[u8] {
        &self.data.as_slice()[i * self.row_bytes..(i + 1) * self.row_bytes]
    }

    /// Dequantize row `i` into `out` (`cols` elements): embedding lookup.
    pub fn dequantize_row(&self, i: usize, out: &mut [f32]) -> Result<()> {
        if i >= self.rows || out.len() != self.cols {
            return Err(Error::Shape(format!(
                "row {i} of {}x{} into {}",
                self.rows,
                self.cols,
                out.len()
            )));
        }
        quant::dequantize_row(self.ty, self.row_bytes(i), out)
    }

    /// The whole matrix as f32 (tests and small tensors).
    pub fn dequantize(&self) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.rows * self.cols];
        for (i, o) in out.chunks_exact_mut(self.cols.max(1)).enumerate() {
            self.dequantize_row(i, o)?;
        }
        Ok(out)
    }

    /// `y = x · Wᵀ` for `x: [m, cols]`, returning `[m, rows]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (m, k) = x.dims2();
        if k != self.cols {
            return Err(Error::Shape(format!(
                "matmul: x has {k} columns, W is {}x{}",
                self.rows, self.cols
            )));
        }
        let mut y = Tensor::zeros(&[m, self.rows]);
        self.matmul_into(x.as_slice()?, m, y.as_mut_slice()?)?;
        Ok(y)
    }

    /// `ys[j] = x · mats[j]ᵀ` for matrices that share their input (Q/K/V; gate/up). For one
    /// activation row the input is quantized once per format and all matrices run in one
    /// parallel region; otherwise each product runs on its own.
    pub fn matmul_many(
        mats: &[&QMatrix],
        x: &[f32],
        m: usize,
        ys: &mut [&mut [f32]],
    ) -> Result<()> {
        if m == 1 && multi::gemv_many(mats, x, ys)? {
            return Ok(());
        }
        if mats.len() != ys.len() {
            return Err(Error::Shape("matmul_many: one output per matrix".into()));
        }
        for (w, y) in mats.iter().zip(ys.iter_mut()) {
            w.matmul_into(x, m, y)?;
        }
        Ok(())
    }

    /// `y[m, rows] = x[m, cols] · Wᵀ` into a caller buffer, by the fastest path for this CPU.
    pub fn matmul_into(&self, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
        self.matmul_with(Path::select(self.ty, m), x, m, y)
    }

    /// `y = x · Wᵀ` by a named path (tests, benchmarks). Errors if the CPU cannot run it.
    pub fn matmul_with(&self, path: Path, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
        if x.len() != m * self.cols || y.len() != m * self.rows {
            return Err(Error::Shape(format!(
                "matmul_into: x {} y {} for m={m} W {}x{}",
                x.len(),
                y.len(),
                self.rows,
                self.cols
            )));
        }
        if m == 0 || self.rows == 0 {
            return Ok(());
        }
        if self.cols == 0 {
            y.fill(0.0);
            return Ok(());
        }
        match path {
            Path::Reference => reference_matmul(self, x, m, y),
            Path::Gemv(imp) if act_kind(self.ty).is_none() => float::gemv(self, imp, x, m, y),
            Path::Gemv(imp) => gemv::gemv(self, imp, x, m, y),
            Path::Gemm if act_kind(self.ty).is_none() => float::gemm(self, x, m, y),
            Path::Gemm => gemm::gemm(self, x, m, y),
        }
    }

    /// All the weight bytes, rows back to back.
    pub(crate) fn data(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// Bytes per row.
    pub(crate) fn stride(&self) -> usize {
        self.row_bytes
    }
}
