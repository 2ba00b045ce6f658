//! The crate's one error type.

/// Errors of the ops layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A GGML type id that this build does not implement.
    #[error("unsupported tensor type {0}")]
    UnsupportedType(String),
    /// Shapes that do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A byte buffer whose length does not match its declared shape and type.
    #[error("tensor data has {got} bytes, expected {expected} ({what})")]
    DataSize {
        /// What was being built.
        what: String,
        /// Bytes present.
        got: usize,
        /// Bytes required.
        expected: usize,
    },
    /// An operation asked for a device that does not hold the data.
    #[error("device mismatch: {0}")]
    Device(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
