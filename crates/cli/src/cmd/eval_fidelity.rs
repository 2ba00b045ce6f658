//! `vkv eval fidelity`.

use std::path::Path;

use crate::args::EvalFidelityArgs;

pub fn run(_home: &Path, _a: EvalFidelityArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
