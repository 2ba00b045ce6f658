//! # vkv-engine: from tokens to tokens
//!
//! - [`kvmode`]: `--kv MODE` strings → a fresh [`vkv_kv::KvBackend`] per sequence.
//! - [`sampling`]: greedy/temperature/top-k/top-p/repetition penalty, seeded.
//! - [`generate`]: chunked prefill and the decode loop, with progress and streaming callbacks.
//!
//! Why a separate crate: the model is a pure function of (tokens, KV); sequences, sampling and
//! scheduling are the engine's. The server and the eval harness drive models only through here.
#![warn(missing_docs)]

pub mod error;
pub mod generate;
pub mod kvmode;
pub mod sampling;

pub use error::{Error, Result};
pub use generate::{generate, prefill, GenStats, GenerateOptions, PREFILL_CHUNK};
pub use kvmode::KvMode;
pub use sampling::{Sampler, SamplingParams};
