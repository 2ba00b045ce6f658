//! `vkv data pull`: fetch the evaluation corpora through the registries' clients.

use std::path::Path;

use vkv_eval::data::{self, corpora};

use crate::args::{DataArgs, DataCommand};
use crate::progress::Bar;

pub fn run(home: &Path, a: DataArgs) -> anyhow::Result<()> {
    let DataCommand::Pull(p) = a.command;
    if p.list {
        for c in corpora::CORPORA {
            let state = if data::is_pulled(home, c) {
                "pulled"
            } else {
                "-"
            };
            println!("{:<12} {:<7} {}", c.name, state, c.description);
            for t in c.texts {
                println!(
                    "    {:<28} {:>9} bytes  sha256 {}",
                    corpora::text_id(c, t),
                    t.bytes,
                    t.sha256
                );
            }
        }
        return Ok(());
    }
    let names: Vec<String> = if p.corpora.is_empty() {
        corpora::CORPORA
            .iter()
            .map(|c| c.name.to_string())
            .collect()
    } else {
        p.corpora
    };
    for n in &names {
        let paths = data::pull(home, n, p.force, &Bar::counts())?;
        for path in paths {
            println!("{}", path.display());
        }
    }
    Ok(())
}
