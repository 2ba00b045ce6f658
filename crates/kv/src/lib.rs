//! # vkv-kv: the KV cache as a vector store
//!
//! A transformer's attention is a similarity search, so the KV cache is shaped like a vector
//! store: storage (where bytes live, in which format) is separate from the index (which tokens a
//! query reads), and a backend owns both *and* the attention computation. That last point is
//! the contract ([`KvBackend`]): a retrieval or cluster backend must choose which keys to read,
//! so it cannot hand back "all of K and V" for the model to attend over.
//!
//! - [`backend`]: the trait, the per-call inputs ([`Qkv`], [`Phase`]) and memory accounting.
//! - [`backends::dense`]: [`DenseKv`], exact attention over every stored token: the oracle that
//!   every other backend is tested against.
//! - [`backends::wave`]: [`WaveKv`], RetroInfer's tripartite attention over the wave index and
//!   wave buffer (knobs: [`WaveConfig`], `--kv wave:r=0.2,e=0.232,cache=3`).
//! - [`index`]: which tokens a query reads (the wave index: segmented k-means clusters).
//! - [`storage`]: where bytes live (slow tier in RAM or a mapped file, fast-tier cluster cache).
//! - [`attn`]: attention pieces shared by sparse backends (segment attention, weighted
//!   estimation, cluster ranking, top-k).
//! - [`persist`]: saved contexts (prefill once, load many times).
//! - [`capture`]: recording a model's q/k/v to evaluate backends offline.
//! - [`config`]: the attention geometry a backend is built for.
#![warn(missing_docs)]

pub mod attn;
pub mod backend;
pub mod backends;
pub mod capture;
pub mod config;
pub mod error;
pub mod index;
pub mod persist;
pub mod storage;
#[cfg(test)]
mod testutil;

pub use backend::{KvBackend, MemoryUsage, Phase, Qkv};
pub use backends::dense::{DenseKv, KvDtype};
pub use backends::recording::{LayerRecord, RecordingKv};
pub use backends::wave::WaveKv;
pub use config::AttnConfig;
pub use error::{Error, Result};
pub use index::cluster::WaveConfig;
