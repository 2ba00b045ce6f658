//! The one home directory for everything fetched or saved: `--home`, else `$VKV_HOME`, else
//! `~/.cache/vectorkv`. Only the binary reads the environment.

use std::path::PathBuf;

/// Resolve the home directory.
pub fn resolve(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(h) = flag {
        return Ok(h);
    }
    if let Some(h) = std::env::var_os("VKV_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow::anyhow!("neither --home, $VKV_HOME nor $HOME is set"))?;
    Ok(PathBuf::from(home).join(".cache").join("vectorkv"))
}
