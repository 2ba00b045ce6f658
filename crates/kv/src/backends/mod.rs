//! KV backends. Each file is one algorithm; [`dense`] is the exact oracle.
//!
//! - [`dense`]: exact attention over every token (`dense_raw`: K/V in without attention).
//! - [`wave`]: RetroInfer's wave index + wave buffer (tripartite attention).
//! - [`recording`]: wraps any backend to capture real activations for fidelity measurements.

pub mod dense;
mod dense_raw;
pub mod recording;
pub mod wave;
