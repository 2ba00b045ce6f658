//! One file per subcommand.

pub mod bench;
pub mod bench_report;
pub mod chat;
mod common;
pub mod data;
pub mod eval;
pub mod eval_fidelity;
pub mod eval_kl;
pub mod eval_ppl;
pub mod generate;
pub mod pull;
