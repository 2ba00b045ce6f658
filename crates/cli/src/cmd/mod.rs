//! One file per subcommand.

pub mod bench;
pub mod chat;
mod common;
pub mod generate;
pub mod pull;
