//! llama.cpp's own tokenizer test vectors: for every `models/ggml-vocab-*.gguf` in a
//! llama.cpp checkout whose tokenizer we implement, encoding each string of its `.inp` file
//! (add_special = false, parse_special = false, as `test-tokenizer-0` does) must give
//! exactly the ids of its `.out` file, and decoding them must give the string back.
//!
//! The checkout is `$VKV_LLAMA_CPP_SRC` (default: the one vendored in llama-cpp-python
//! under /work/ref). Without it the test prints a notice and passes: the vocab files are
//! not part of this repository.

use std::path::{Path, PathBuf};

use vkv_model::gguf::GgufFile;
use vkv_model::{EncodeOptions, Tokenizer};

const DEFAULT_SRC: &str = "/work/ref/llama_cpp_python-0.3.36/vendor/llama.cpp";
/// Vocabularies that must load and pass (the pre-tokenizers we claim to support).
const REQUIRED: &[&str] = &[
    "qwen2",
    "gpt-2",
    "llama-bpe",
    "starcoder",
    "refact",
    "command-r",
    "mpt",
    "falcon",
    "qwen35",
];

fn models_dir() -> Option<PathBuf> {
    let src = std::env::var("VKV_LLAMA_CPP_SRC").unwrap_or_else(|_| DEFAULT_SRC.to_owned());
    let dir = Path::new(&src).join("models");
    dir.join("ggml-vocab-qwen2.gguf").exists().then_some(dir)
}

/// `(input, expected ids)` pairs in test-tokenizer-0's format.
fn read_cases(inp: &Path, out: &Path) -> Vec<(String, Vec<u32>)> {
    let raw = std::fs::read_to_string(inp).expect("read .inp");
    let outs = std::fs::read_to_string(out).expect("read .out");
    let sep = "\n__ggml_vocab_test__\n";
    let mut inputs = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        match raw[pos..].find(sep) {
            Some(i) => {
                inputs.push(raw[pos..pos + i].to_owned());
                pos += i + sep.len();
            }
            None => {
                inputs.push(raw[pos..].to_owned());
                break;
            }
        }
    }
    let lines: Vec<&str> = outs.lines().collect();
    assert_eq!(
        inputs.len(),
        lines.len(),
        "{}: input/output count mismatch",
        inp.display()
    );
    inputs
        .into_iter()
        .zip(lines)
        .map(|(i, l)| {
            (
                i,
                l.split_whitespace()
                    .map(|t| t.parse().expect("token id"))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn llama_cpp_vocab_test_vectors() {
    let Some(dir) = models_dir() else {
        println!(
            "SKIPPED: no llama.cpp checkout with models/ggml-vocab-*.gguf (set VKV_LLAMA_CPP_SRC)"
        );
        return;
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read models dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("ggml-vocab-") && name.ends_with(".gguf")
        })
        .collect();
    entries.sort();

    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for path in entries {
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .trim_start_matches("ggml-vocab-")
            .to_owned();
        let inp = path.with_extension("gguf.inp");
        let out = path.with_extension("gguf.out");
        if !inp.exists() || !out.exists() {
            continue;
        }
        let g = GgufFile::open(&path).expect("open vocab gguf");
        let tok = match Tokenizer::from_gguf(&g) {
            Ok(t) => t,
            Err(e) => {
                assert!(!REQUIRED.contains(&name.as_str()), "{name}: {e}");
                println!("{name}: not supported ({e})");
                continue;
            }
        };
        let cases = read_cases(&inp, &out);
        let mut bad = 0;
        for (text, want) in &cases {
            let opts = EncodeOptions {
                add_special: false,
                parse_special: false,
            };
            let got = tok.encode(text, opts).expect("encode");
            if &got != want {
                bad += 1;
                failures.push(format!(
                    "{name}: {text:?}\n   want {want:?}\n    got {got:?}"
                ));
            } else {
                let back = tok.decode(&got).expect("decode");
                if &back != text {
                    bad += 1;
                    failures.push(format!("{name}: decode({text:?}) = {back:?}"));
                }
            }
        }
        println!("{name}: {}/{} cases", cases.len() - bad, cases.len());
        if bad == 0 {
            passed.push(name);
        }
    }
    for r in REQUIRED {
        assert!(
            passed.iter().any(|p| p == r) || !failures.is_empty(),
            "{r}: vocab file missing"
        );
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
