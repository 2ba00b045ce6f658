//! KV backends. Each file is one algorithm; [`dense`] is the exact oracle.
//!
//! - [`dense`]: exact attention over every token.
//! - [`wave`]: RetroInfer's wave index + wave buffer (tripartite attention).

pub mod dense;
pub mod wave;
