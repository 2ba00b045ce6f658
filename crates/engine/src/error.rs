//! The crate's one error type.

/// Engine errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model failed.
    #[error(transparent)]
    Model(#[from] vkv_model::Error),
    /// The KV backend failed.
    #[error(transparent)]
    Kv(#[from] vkv_kv::Error),
    /// An op failed.
    #[error(transparent)]
    Kernel(#[from] vkv_kernels::Error),
    /// A `--kv` string we cannot parse.
    #[error(
        "unknown KV mode {0:?} (known: dense, dense:f32, wave, wave:r=…,e=…,cache=…,slow=DIR)"
    )]
    KvMode(String),
    /// A request that cannot be served.
    #[error("{0}")]
    Request(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
