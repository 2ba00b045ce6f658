//! The crate's one error type.

/// Evaluation errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] vkv_engine::Error),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] vkv_model::Error),
    /// The KV backend failed.
    #[error(transparent)]
    Kv(#[from] vkv_kv::Error),
    /// An external reference tool failed.
    #[error("llama.cpp: {0}")]
    LlamaCpp(String),
    /// Bad parameters.
    #[error("{0}")]
    Config(String),
    /// I/O on a report or input file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
