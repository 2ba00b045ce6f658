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
    /// A kernel failed.
    #[error(transparent)]
    Kernel(#[from] vkv_kernels::Error),
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
    /// A corpus name nobody registered.
    #[error("unknown corpus {name:?} (known: {known})")]
    UnknownCorpus {
        /// What was asked for.
        name: String,
        /// The names we know, comma-separated.
        known: String,
    },
    /// Downloading a corpus through a registry client failed.
    #[error("fetching {corpus}: {msg}")]
    Fetch {
        /// The corpus.
        corpus: String,
        /// What went wrong.
        msg: String,
    },
    /// A file whose content is not what its format or checksum says.
    #[error("{path}: {msg}")]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A results or report file we cannot parse or write.
    #[error("{0}")]
    Report(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A corrupt-file error on `path`.
    pub fn corrupt(path: &std::path::Path, msg: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
