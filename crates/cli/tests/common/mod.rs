//! Helpers shared by the CLI integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run the built `vkv` with `--home home`.
pub fn vkv(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vkv"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("run vkv")
}

/// The home the developer's (or CI's) pulled models live in: `$VKV_HOME`, else `~/.cache/vectorkv`.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("VKV_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/vectorkv")
}

/// The test model's GGUF, pulled on first use (once per test binary).
#[allow(dead_code)] // not every test binary uses it
pub fn smollm() -> PathBuf {
    static ONCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let out = vkv(&home(), &["pull", "smollm2-135m"]);
        assert!(
            out.status.success(),
            "pull failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(s.trim().rsplit(": ").next().expect("path line"))
    })
    .clone()
}

/// Exit code 1, exactly one stderr line starting with "error:" and containing `needle`, no panic.
pub fn assert_clear_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {err}");
    assert!(
        lines[0].contains(needle),
        "error line {:?} should mention {needle:?}",
        lines[0]
    );
}
