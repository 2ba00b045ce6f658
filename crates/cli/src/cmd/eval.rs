//! `vkv eval`: perplexity, NIAH, RULER, fidelity.

use std::path::Path;

use crate::args::EvalArgs;

pub fn run(_home: &Path, _a: EvalArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
