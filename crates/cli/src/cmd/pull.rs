//! `vkv pull`.

use std::path::Path;

use vkv_model::{fetch, registry};

use crate::args::PullArgs;
use crate::progress::Bar;

pub fn run(home: &Path, a: PullArgs) -> anyhow::Result<()> {
    if a.list || a.models.is_empty() {
        for m in registry::models() {
            let state = if fetch::is_pulled(home, &m) {
                "pulled"
            } else {
                ""
            };
            println!(
                "{:<14} {:>6} MB  {}  {state}",
                m.name,
                m.size / 1_000_000,
                m.description
            );
        }
        return Ok(());
    }
    for name in &a.models {
        let spec = registry::find(name).ok_or_else(|| {
            anyhow::anyhow!("unknown model {name:?}; known: {}", registry::names())
        })?;
        let path = fetch::pull(home, &spec, &Bar::bytes())?;
        println!("{name}: {}", path.display());
    }
    Ok(())
}
