//! One file per subcommand.

pub mod bench;
pub mod chat;
mod common;
pub mod generate;
pub mod pull;
pub mod data;
pub mod eval;
pub mod eval_fidelity;
pub mod eval_kl;
pub mod eval_ppl;
pub mod bench_report;
