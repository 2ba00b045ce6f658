//! GGUF (v2/v3) reader: metadata, tensor table, alignment, and the data section mapped in memory.
//!
//! Layout: `"GGUF" u32:version u64:n_tensors u64:n_kv`, then `n_kv` × (string key, u32 type,
//! value), then `n_tensors` × (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type,
//! u64 offset), padding to `general.alignment` (default 32), then the data section. Offsets are
//! relative to the data section. `dims[0]` is the row length (fastest-varying).
//!
//! Every read is bounds-checked: a truncated or corrupt file is a clear [`Error::Gguf`], never a
//! panic or an out-of-bounds slice.

mod reader;
mod value;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use vkv_kernels::{Bytes, GgmlType, QMatrix};

pub use value::Value;

use crate::{Error, Result};

/// One tensor's entry in the tensor table.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, row length first.
    pub dims: Vec<u64>,
    /// GGML type id as written (may be a type we do not implement).
    pub type_id: u32,
    /// Offset from the start of the data section.
    pub offset: u64,
}

/// An opened GGUF file.
pub struct GgufFile {
    path: PathBuf,
    version: u32,
    metadata: BTreeMap<String, Value>,
    tensors: BTreeMap<String, TensorInfo>,
    data_start: usize,
    mmap: Arc<Mmap>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GgufFile({}, v{}, {} tensors)",
            self.path.display(),
            self.version,
            self.tensors.len()
        )
    }
}

impl GgufFile {
    /// Open and parse `path`, checking that every tensor lies inside the file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the file is opened read-only and we never write through the map. Another process
        // truncating it while we run is outside our contract (as for every mmap-based loader).
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let parsed = reader::parse(&mmap).map_err(|m| Error::Gguf {
            path: path.to_path_buf(),
            msg: m,
        })?;
        let g = Self {
            path: path.to_path_buf(),
            version: parsed.version,
            metadata: parsed.metadata,
            tensors: parsed
                .tensors
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
            data_start: parsed.data_start,
            mmap: Arc::new(mmap),
        };
        g.check_extents()?;
        Ok(g)
    }

    fn check_extents(&self) -> Result<()> {
        for t in self.tensors.values() {
            let Ok(ty) = GgmlType::from_id(t.type_id) else {
                continue;
            };
            let n = self.tensor_bytes(t, ty)?;
            let end = (self.data_start as u64)
                .checked_add(t.offset)
                .and_then(|s| s.checked_add(n as u64));
            if end.is_none_or(|e| e > self.mmap.len() as u64) {
                return Err(self.err(format!(
                    "tensor {} ends past the end of the file ({} bytes): the file is truncated",
                    t.name,
                    self.mmap.len()
                )));
            }
        }
        Ok(())
    }

    fn tensor_bytes(&self, t: &TensorInfo, ty: GgmlType) -> Result<usize> {
        let row = *t.dims.first().unwrap_or(&1) as usize;
        let rows: u64 = t.dims.iter().skip(1).product();
        let rb = ty
            .row_bytes(row)
            .map_err(|e| self.err(format!("tensor {}: {e}", t.name)))?;
        (rb as u64)
            .checked_mul(rows)
            .map(|b| b as usize)
            .ok_or_else(|| self.err(format!("tensor {} is too large", t.name)))
    }

    fn err(&self, msg: String) -> Error {
        Error::Gguf {
            path: self.path.clone(),
            msg,
        }
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// All metadata.
    pub fn metadata(&self) -> &BTreeMap<String, Value> {
        &self.metadata
    }

    /// One metadata value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// A required unsigned metadata value.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.err(format!("missing or non-integer metadata {key}")))
    }

    /// A required float metadata value.
    pub fn get_f64(&self, key: &str) -> Result<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.err(format!("missing or non-numeric metadata {key}")))
    }

    /// A required string metadata value.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| self.err(format!("missing or non-string metadata {key}")))
    }

    /// The tensor table.
    pub fn tensors(&self) -> impl Iterator<Item = &TensorInfo> {
        self.tensors.values()
    }

    /// A tensor's entry.
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.get(name)
    }

    /// A 1-D or 2-D tensor as a matrix `[rows = dims[1], cols = dims[0]]` (a vector is 1 row).
    pub fn matrix(&self, name: &str) -> Result<QMatrix> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| self.err(format!("missing tensor {name}")))?;
        let ty =
            GgmlType::from_id(t.type_id).map_err(|e| self.err(format!("tensor {name}: {e}")))?;
        if t.dims.len() > 2 && t.dims[2..].iter().any(|d| *d != 1) {
            return Err(self.err(format!(
                "tensor {name} has {} dims, expected a matrix",
                t.dims.len()
            )));
        }
        let cols = *t.dims.first().unwrap_or(&1) as usize;
        let rows = t.dims.get(1).copied().unwrap_or(1) as usize;
        let n = self.tensor_bytes(t, ty)?;
        let start = self.data_start + t.offset as usize;
        let bytes = Bytes::new(self.mmap.clone(), start, n)?;
        Ok(QMatrix::new(ty, rows, cols, bytes)?)
    }

    /// A tensor dequantized to f32 (norm weights, biases).
    pub fn vector_f32(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.matrix(name)?.dequantize()?)
    }
}

impl AsRef<[u8]> for GgufFile {
    fn as_ref(&self) -> &[u8] {
        &self.mmap
    }
}

#[cfg(test)]
pub(crate) mod tests;
