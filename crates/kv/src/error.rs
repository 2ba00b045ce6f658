//! The crate's one error type.

/// Errors of KV backends.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kernel failed (shape, device).
    #[error(transparent)]
    Kernel(#[from] vkv_kernels::Error),
    /// Inputs that do not match the backend's geometry.
    #[error("kv shape: {0}")]
    Shape(String),
    /// The sequence would exceed the capacity the backend was built with.
    #[error("context full: {needed} tokens needed, capacity {capacity}")]
    ContextFull {
        /// Tokens after the call.
        needed: usize,
        /// Maximum tokens.
        capacity: usize,
    },
    /// A layer id out of range.
    #[error("layer {0} out of range")]
    Layer(usize),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
