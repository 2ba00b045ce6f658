//! Architectures. llama and qwen2 differ only in data (Q/K/V biases present or not, RoPE
//! style), so one [`Transformer`] runs both; a new family gets its own file here.

mod transformer;

pub use transformer::{Logits, Transformer};
