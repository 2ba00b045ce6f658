//! A minimal GGUF v3 writer: metadata and raw tensor data, 32-byte aligned.
//!
//! Used to write small models for tests (random weights in real layouts) and to craft
//! deliberately broken files for the bad-input tests.

use std::io::Write;
use std::path::Path;

use super::Value;
use crate::{Error, Result};

/// One tensor to write: GGUF name, dims (row length first), GGML type id, raw bytes.
#[derive(Debug, Clone)]
pub struct TensorData {
    /// Name.
    pub name: String,
    /// Dimensions, row length first.
    pub dims: Vec<u64>,
    /// GGML type id (written as is; may be one we cannot read, on purpose).
    pub type_id: u32,
    /// Data.
    pub data: Vec<u8>,
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u64).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn type_of(v: &Value) -> u32 {
    match v {
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 6,
        Value::Bool(_) => 7,
        Value::Str(_) => 8,
        Value::Array(_) => 9,
    }
}

fn put_payload(b: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U64(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => b.extend_from_slice(&(*x as f32).to_le_bytes()),
        Value::Bool(x) => b.push(u8::from(*x)),
        Value::Str(s) => put_str(b, s),
        Value::Array(a) => {
            let ety = a.first().map_or(8, type_of);
            b.extend_from_slice(&ety.to_le_bytes());
            b.extend_from_slice(&(a.len() as u64).to_le_bytes());
            for e in a {
                put_payload(b, e);
            }
        }
    }
}

/// Serialize a GGUF v3 file.
pub fn to_bytes(metadata: &[(&str, Value)], tensors: &[TensorData]) -> Vec<u8> {
    let mut b: Vec<u8> = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    b.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        put_str(&mut b, k);
        b.extend_from_slice(&type_of(v).to_le_bytes());
        put_payload(&mut b, v);
    }
    let mut off = 0u64;
    for t in tensors {
        put_str(&mut b, &t.name);
        b.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
        for d in &t.dims {
            b.extend_from_slice(&d.to_le_bytes());
        }
        b.extend_from_slice(&t.type_id.to_le_bytes());
        b.extend_from_slice(&off.to_le_bytes());
        off += (t.data.len() as u64).div_ceil(32) * 32;
    }
    b.resize(b.len().div_ceil(32) * 32, 0);
    for t in tensors {
        b.extend_from_slice(&t.data);
        b.resize(b.len().div_ceil(32) * 32, 0);
    }
    b
}

/// Write a GGUF v3 file to `path`.
pub fn write(path: &Path, metadata: &[(&str, Value)], tensors: &[TensorData]) -> Result<()> {
    let bytes = to_bytes(metadata, tensors);
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(&bytes).map_err(|e| Error::io(path, e))
}
