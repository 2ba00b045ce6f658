//! # vkv-eval: proof of quality and speed
//!
//! - [`bench`]: prefill and decode tokens/s at given context depths, per KV mode, measured the
//!   way llama-bench measures (random tokens; depth filled once, then reset between reps).
//! - [`llama_cpp`]: runs `llama-bench` on the same GGUF so both engines appear side by side.
//! - [`stats`]: medians and ratios.
//! - [`data`]: text corpora from the registries (`vkv data pull`), `--text` resolution.
//! - [`tasks`]: needle-in-a-haystack and RULER-style task generators (seeded, deterministic).
//! - [`runner`]: runs task cells through a KV mode with prefix reuse and resumable JSONL results;
//!   [`suite`]: a NIAH grid / RULER suite as one resumable run directory; [`legacy`]: run
//!   directories of the older naming merged into it; [`prefill_store`]: saved prompt prefills,
//!   so new KV modes over finished prompts skip the prefill; [`shard`]: one grid split across
//!   machines.
//! - [`timed`]: attention time per step and peak RSS for `vkv bench`.
//! - [`report`], [`plot`]: markdown + JSON + PNG reports.
//! - [`ppl_window`]: sliding-window perplexity; [`fidelity`]: per-layer/head attention error
//!   of each KV mode against the exact reference, on recorded real activations; [`kl`]:
//!   next-token KL divergence of each KV mode from dense on real text.
//!
//! Why a library: the CLI is a thin front end; the same sweeps run from tests and scripts.
#![warn(missing_docs)]

pub mod bench;
pub mod data;
pub mod error;
pub mod fidelity;
pub mod kl;
pub mod legacy;
pub mod llama_cpp;
pub mod plot;
pub mod ppl;
pub mod ppl_window;
pub mod prefill_store;
pub mod report;
pub mod runner;
pub mod shard;
pub mod stats;
pub mod suite;
pub mod tasks;
pub mod timed;

pub use error::{Error, Result};
