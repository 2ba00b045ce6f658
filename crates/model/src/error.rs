//! The crate's one error type.

use std::path::{Path, PathBuf};

/// Errors of model loading, tokenization and the forward pass.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A malformed GGUF file.
    #[error("{path}: {msg}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A malformed safetensors file or HF directory.
    #[error("{path}: {msg}")]
    Safetensors {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// An op failed.
    #[error(transparent)]
    Kernel(#[from] vkv_kernels::Error),
    /// The KV backend failed.
    #[error(transparent)]
    Kv(#[from] vkv_kv::Error),
    /// A model architecture we do not implement.
    #[error("unsupported architecture {0:?} (supported: llama, qwen2)")]
    UnsupportedArch(String),
    /// Inconsistent hyperparameters.
    #[error("model config: {0}")]
    Config(String),
    /// Tokenizer construction or use failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template failed to render.
    #[error("chat template: {0}")]
    Template(String),
    /// A model name that is not in the registry and not a path.
    #[error("unknown model {name:?}: not a registry name ({known}) and no such file or directory")]
    UnknownModel {
        /// What was asked for.
        name: String,
        /// Registry names.
        known: String,
    },
    /// Downloading or assembling a model failed.
    #[error("fetch: {0}")]
    Fetch(String),
    /// A file's sha256 is not the expected one.
    #[error("{path}: sha256 {got} does not match the expected {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Expected digest.
        expected: String,
        /// Actual digest.
        got: String,
    },
    /// More tokens than the model's context.
    #[error("{tokens} tokens exceed the model's context length {max}")]
    ContextLength {
        /// Tokens requested.
        tokens: usize,
        /// The limit.
        max: usize,
    },
    /// A token id outside the vocabulary.
    #[error("token id {0} is outside the vocabulary")]
    BadToken(u32),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
