//! `vkv data` / `vkv eval` from the command line: the `--quick` NIAH profile on smollm2-135m
//! (reports written, a re-run resumes), and bad input (unknown corpus, missing text, corrupt
//! cached corpus, context too long, unknown task/mode) as one clear error line and exit 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vkv(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vkv")).arg("--home").arg(home).args(args).output().expect("run vkv")
}

fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("VKV_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/vectorkv")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vkv-cli-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn assert_clear_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {err}");
    assert!(lines[0].contains(needle), "error line {:?} should mention {needle:?}", lines[0]);
}

#[test]
fn quick_niah_runs_and_resumes() {
    let out_dir = tmp("quick");
    let o = out_dir.to_str().unwrap_or_default();
    let t0 = std::time::Instant::now();
    let out = vkv(&home(), &["eval", "niah", "--quick", "-m", "smollm2-135m", "--out", o]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("vkv eval niah --quick: {:.1}s", t0.elapsed().as_secs_f64());
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("niah/passkey") && md.contains("| 0.25 |"), "{md}");
    for f in ["report.md", "report.json", "config.json", "results.jsonl", "niah-passkey-dense.png"] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let again = vkv(&home(), &["eval", "niah", "--quick", "-m", "smollm2-135m", "--out", o]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && err.contains("4 cells done, 0 to run"), "{err}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn bad_eval_input() {
    let h = home();
    assert_clear_error(&vkv(&h, &["data", "pull", "wikitext"]), "unknown corpus");
    assert_clear_error(&vkv(&h, &["eval", "ppl", "-m", "smollm2-135m", "--text", "/no/such/text.txt"]), "no such text file");
    assert_clear_error(&vkv(&h, &["eval", "ppl", "-m", "smollm2-135m", "--text", "austen/nothanger"]), "unknown corpus");
    assert_clear_error(&vkv(&h, &["eval", "niah", "-m", "smollm2-135m", "--context", "9000"]), "context length");
    assert_clear_error(&vkv(&h, &["eval", "niah", "-m", "smollm2-135m", "--quick", "--tasks", "password"]), "unknown needle kind");
    assert_clear_error(&vkv(&h, &["eval", "ruler", "-m", "smollm2-135m", "--quick", "--tasks", "qa"]), "unknown RULER task");
    assert_clear_error(&vkv(&h, &["eval", "niah", "-m", "smollm2-135m", "--quick", "--kv", "wavy"]), "unknown KV mode");
    // A corrupted cached corpus text in a private home.
    let ph = tmp("home");
    let p = ph.join("data/canterbury");
    std::fs::create_dir_all(&p).expect("dir");
    std::fs::write(p.join("alice29.txt"), "Alice was beginning to get very tired").expect("write");
    assert_clear_error(&vkv(&ph, &["eval", "ppl", "-m", "smollm2-135m", "--text", "canterbury/alice29"]), "corrupt");
    let _ = std::fs::remove_dir_all(&ph);
    // A text too short for the context.
    let t = tmp("short");
    let f = t.join("short.txt");
    std::fs::write(&f, "It is a truth universally acknowledged.").expect("write");
    assert_clear_error(&vkv(&h, &["eval", "ppl", "-m", "smollm2-135m", "--text", f.to_str().unwrap_or_default(), "--context", "512"]), "needs at least");
    let _ = std::fs::remove_dir_all(&t);
}
