//! The crate's one error type.

use std::path::PathBuf;

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
    /// An invalid backend configuration (a knob out of range, an unparsable `--kv` string).
    #[error("kv config: {0}")]
    Config(String),
    /// A file operation failed (slow tier, saved context).
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A saved context that is truncated, corrupted or inconsistent with itself.
    #[error("corrupt saved context {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A saved context written by an incompatible format version or for another backend.
    #[error("saved context {path}: {reason}")]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
