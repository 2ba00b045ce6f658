//! Shared helpers of the model crate's integration tests: locating (pulling) the real models.

use std::path::PathBuf;
use std::sync::Mutex;

use vkv_model::fetch::NoProgress;
use vkv_model::loader::{self, LoadedModel};

/// The home directory the tests use: `$VKV_HOME`, else `~/.cache/vectorkv` (as the CLI).
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("VKV_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/vectorkv")
}

static PULL: Mutex<()> = Mutex::new(());

/// The path of a registry model, pulled on first use (sha256-checked). Tests in one binary
/// pull one at a time.
pub fn model_path(name: &str) -> PathBuf {
    let _g = PULL.lock().unwrap_or_else(|e| e.into_inner());
    let src = loader::resolve(name, &home(), &NoProgress)
        .unwrap_or_else(|e| panic!("pulling {name}: {e}"));
    src.path().to_path_buf()
}

/// Load a registry model (pulling it on first use).
#[allow(dead_code)]
pub fn load(name: &str) -> LoadedModel {
    let p = model_path(name);
    loader::load(&loader::ModelSource::Gguf(p)).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// The fixtures directory.
#[allow(dead_code)]
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
