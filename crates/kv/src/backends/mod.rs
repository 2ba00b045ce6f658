//! KV backends. Each file is one algorithm; [`dense`] is the exact oracle; [`recording`] wraps
//! any backend to capture real activations for fidelity measurements.

pub mod dense;
pub mod recording;
