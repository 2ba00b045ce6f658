//! `vkv generate` (needs the tokenizer).

use std::path::Path;

use crate::args::GenerateArgs;

pub fn run(_home: &Path, _a: GenerateArgs) -> anyhow::Result<()> {
    anyhow::bail!("generate: not wired yet")
}
