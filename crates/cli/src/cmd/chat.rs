//! `vkv chat` (needs the tokenizer).

use std::path::Path;

use crate::args::ChatArgs;

pub fn run(_home: &Path, _a: ChatArgs) -> anyhow::Result<()> {
    anyhow::bail!("chat: not wired yet")
}
