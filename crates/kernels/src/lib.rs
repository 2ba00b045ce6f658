//! # vkv-kernels: the ops layer
//!
//! Everything numeric that the model and the KV backends run sits here, behind a small API:
//!
//! - [`dtype`]: the GGML tensor types we read (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q4_K,
//!   Q6_K) with their block geometry.
//! - [`quant`]: the block layouts, scalar reference dequantization (the oracle every fast path is
//!   tested against) and activation quantization.
//! - [`matmul`]: [`QMatrix`], a quantized weight matrix, and `y = x · Wᵀ` for one token (decode)
//!   or a chunk of tokens (prefill), multithreaded with rayon.
//! - [`ops`]: RMSNorm, RoPE, SwiGLU, softmax, residual adds.
//! - [`attention`]: exact attention with online softmax: tiled for prefill (never an N×N score
//!   matrix) and GQA-grouped for decode; both return the log-sum-exp per head so that partial
//!   results can be merged by the sparse KV backends.
//! - [`probe`]: a few seconds' measurement of the machine (FMA peak, memory bandwidth and
//!   latency) that benchmarks record beside their numbers.
//! - [`tensor`]: [`Tensor`], an f32 activation tensor whose storage is an enum, so that a CUDA
//!   storage plugs in beside the CPU one without touching model code.
//!
//! Why it is shaped this way: the model crate must not know which device or SIMD level runs an
//! op, and the KV crate needs raw, fast attention primitives over its own storage layouts. So
//! this crate exposes *semantic* ops (matmul by a quantized weight, rope over a tensor) and picks
//! the implementation at run time ([`cpu::features`]), never by compile-time `target_feature`.
#![warn(missing_docs)]

pub mod attention;
pub mod cpu;
pub mod dtype;
pub mod error;
pub mod matmul;
pub mod ops;
pub mod probe;
pub mod quant;
pub mod tensor;
#[cfg(test)]
pub(crate) mod testutil;

pub use dtype::GgmlType;
pub use error::{Error, Result};
pub use matmul::{Bytes, QMatrix};
pub use tensor::Tensor;
