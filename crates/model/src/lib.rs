//! # vkv-model: real models, loaded and run
//!
//! - [`gguf`]: the GGUF reader (metadata, tensor table, mmap'd data).
//! - [`config`]: hyperparameters from GGUF metadata / HF `config.json`.
//! - [`weights`]: tensors by GGUF name behind [`weights::WeightSource`], so GGUF and HF
//!   safetensors directories load through the same code.
//! - [`arch`]: the llama/qwen2 [`arch::Transformer`]. It holds no cache state and calls
//!   `kv.attend()` at exactly one place, so every KV backend plugs in without model changes.
//!
//! Why: the model is pure data + a forward function over the ops layer; everything stateful
//! (the KV cache, sampling, sequences) lives in `vkv-kv` and `vkv-engine`.
#![warn(missing_docs)]

pub mod arch;
pub mod chat;
pub mod config;
pub mod error;
pub mod fetch;
pub mod gguf;
pub mod loader;
pub mod registry;
pub mod safetensors;
pub mod tokenizer;
pub mod weights;

#[cfg(test)]
mod format_tests;

pub use arch::{Logits, Transformer};
pub use chat::{ChatMessage, ChatTemplate};
pub use config::{Arch, ModelConfig};
pub use error::{Error, Result};
pub use tokenizer::{EncodeOptions, StreamDecoder, Tokenizer};
