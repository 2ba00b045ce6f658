//! KV backends. Each file is one algorithm; [`dense`] is the exact oracle.

pub mod dense;
