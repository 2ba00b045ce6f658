//! Saved contexts: a prefilled sequence (KV, and for the wave backend its index and config) on
//! disk, so that a document is prefilled once and questioned many times, and benchmarks
//! prefill once.
//!
//! API: [`crate::DenseKv::save`] / [`crate::DenseKv::load`] and [`crate::WaveKv::save`] /
//! [`crate::WaveKv::load`] (inherent methods: saving is not part of every backend's contract).
//!
//! File layout (little-endian; [`container`]):
//! ```text
//! 0   b"VKVCTX\0\0"
//! 8   u32 format version (1)      12  u32 kind (1 dense, 2 wave)
//! 16  u32 element type (0 f16, 1 f32)   20  u32 reserved
//! 24  u64 header length H
//! 32  header: u64 fields; arrays as (offset from data start, byte length)
//!     padding to a 4096-byte boundary
//!     data: raw arrays, each 64-byte aligned (page-aligned start: mappable in place)
//! end−16  u64 checksum of every byte before it ([`hash`])
//! end−8   b"VKVCTEND"
//! ```
//! Loading verifies magic, version, kind and checksum before parsing, then checks every count,
//! bound and alignment: a truncated or corrupted file gives [`crate::Error::Corrupt`], another
//! version or kind [`crate::Error::Incompatible`]. Files are written under a temporary name and
//! renamed into place.

pub mod container;
mod dense;
pub mod hash;
mod wave;

#[cfg(test)]
mod tests;
