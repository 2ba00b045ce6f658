//! [`QMatrix`]: a quantized weight matrix and `y = x · Wᵀ`.
//!
//! W has `rows` output features of `cols` inputs each, stored row by row in its GGML type.
//! `x` is `[m, cols]` f32 (m = 1 for decode, a prefill chunk otherwise); `y` is `[m, rows]`.
//! The work is split over output rows with rayon, so each thread streams a disjoint slice of W.

use std::sync::Arc;

use rayon::prelude::*;

use crate::{quant, Error, GgmlType, Result, Tensor};

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
    pub fn new(owner: Arc<dyn AsRef<[u8]> + Send + Sync>, start: usize, len: usize) -> Result<Self> {
        let total = (*owner).as_ref().len();
        if start.checked_add(len).is_none_or(|end| end > total) {
            return Err(Error::DataSize { what: "byte range".into(), got: total, expected: start.saturating_add(len) });
        }
        Ok(Self { owner, start, len })
    }

    /// Owned bytes.
    pub fn from_vec(v: Vec<u8>) -> Self {
        let len = v.len();
        Self { owner: Arc::new(v), start: 0, len }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.start..self.start + self.len]
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
            return Err(Error::DataSize { what: format!("{} matrix {rows}x{cols}", ty.name()), got: data.as_slice().len(), expected });
        }
        Ok(Self { ty, rows, cols, row_bytes, data })
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
            return Err(Error::Shape(format!("row {i} of {}x{} into {}", self.rows, self.cols, out.len())));
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
            return Err(Error::Shape(format!("matmul: x has {k} columns, W is {}x{}", self.rows, self.cols)));
        }
        let mut y = Tensor::zeros(&[m, self.rows]);
        self.matmul_into(x.as_slice()?, m, y.as_mut_slice()?)?;
        Ok(y)
    }

    /// `y[m, rows] = x[m, cols] · Wᵀ` into a caller buffer.
    pub fn matmul_into(&self, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
        if x.len() != m * self.cols || y.len() != m * self.rows {
            return Err(Error::Shape(format!("matmul_into: x {} y {} for m={m} W {}x{}", x.len(), y.len(), self.rows, self.cols)));
        }
        reference_matmul(self, x, m, y)
    }
}

/// Portable path: dequantize a tile of W rows once, dot with every x row.
fn reference_matmul(w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    const TILE: usize = 16;
    let (n, k) = (w.rows, w.cols);
    let tiles: Vec<(usize, Vec<f32>)> = (0..n.div_ceil(TILE))
        .into_par_iter()
        .map(|t| -> Result<(usize, Vec<f32>)> {
            let r0 = t * TILE;
            let r1 = (r0 + TILE).min(n);
            let mut wt = vec![0.0f32; (r1 - r0) * k];
            for (i, row) in wt.chunks_exact_mut(k).enumerate() {
                w.dequantize_row(r0 + i, row)?;
            }
            let mut out = vec![0.0f32; m * (r1 - r0)];
            for (i, xr) in x.chunks_exact(k).enumerate() {
                for (j, wr) in wt.chunks_exact(k).enumerate() {
                    out[i * (r1 - r0) + j] = crate::ops::dot(xr, wr);
                }
            }
            Ok((r0, out))
        })
        .collect::<Result<_>>()?;
    for (r0, out) in tiles {
        let w_t = out.len() / m.max(1);
        for i in 0..m {
            y[i * n + r0..i * n + r0 + w_t].copy_from_slice(&out[i * w_t..(i + 1) * w_t]);
        }
    }
    Ok(())
}
