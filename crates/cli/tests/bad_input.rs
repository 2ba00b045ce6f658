//! Bad input gets one clear error line on stderr and a non-zero exit, never a panic.
//! (Foundation issue: truncated GGUF, unknown tensor type, unknown model name, prompt plus
//! max-tokens longer than the context, empty prompt, missing prompt file.)

use std::path::PathBuf;

use vkv_model::gguf::writer::{write, TensorData};
use vkv_model::gguf::Value;

mod common;
use common::{assert_clear_error, home, smollm, vkv};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vkv-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d.join(name)
}

/// The test model, pulled on first use (once per test binary).
#[test]
fn truncated_gguf() {
    let full = std::fs::read(smollm()).expect("read model");
    for cut in [10usize, 5_000, 2_000_000, full.len() - 1000] {
        let p = tmp(&format!("cut{cut}.gguf"));
        std::fs::write(&p, &full[..cut]).expect("write");
        let out = vkv(
            &home(),
            &[
                "generate",
                "-m",
                p.to_str().unwrap_or_default(),
                "-p",
                "hi",
                "-n",
                "1",
            ],
        );
        assert_clear_error(&out, "truncated");
    }
}

#[test]
fn not_a_gguf() {
    let p = tmp("junk.gguf");
    std::fs::write(&p, b"this is not a model at all").expect("write");
    let out = vkv(
        &home(),
        &["generate", "-m", p.to_str().unwrap_or_default(), "-p", "hi"],
    );
    assert_clear_error(&out, "not a GGUF");
}

#[test]
fn unknown_tensor_type() {
    let p = tmp("iq2.gguf");
    let meta = [
        ("general.architecture", Value::Str("llama".into())),
        ("llama.block_count", Value::U64(1)),
        ("llama.context_length", Value::U64(64)),
        ("llama.embedding_length", Value::U64(32)),
        ("llama.feed_forward_length", Value::U64(64)),
        ("llama.attention.head_count", Value::U64(4)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F64(1e-5)),
    ];
    // token_embd in IQ2_XXS (ggml type 16), which we do not implement.
    let t = TensorData {
        name: "token_embd.weight".into(),
        dims: vec![256, 10],
        type_id: 16,
        data: vec![0; 66 * 10],
    };
    write(&p, &meta, &[t]).expect("write gguf");
    let out = vkv(
        &home(),
        &["generate", "-m", p.to_str().unwrap_or_default(), "-p", "hi"],
    );
    assert_clear_error(&out, "unsupported tensor type IQ2_XXS");
}

#[test]
fn unknown_model_name() {
    let out = vkv(&home(), &["generate", "-m", "gpt-7-turbo", "-p", "hi"]);
    assert_clear_error(&out, "unknown model \"gpt-7-turbo\"");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("qwen2.5-0.5b"),
        "names the known models"
    );
}

#[test]
fn prompt_longer_than_context() {
    let m = smollm();
    let long = "word ".repeat(9000); // > 8192 tokens of SmolLM2's context
    let p = tmp("long.txt");
    std::fs::write(&p, long).expect("write");
    let out = vkv(
        &home(),
        &[
            "generate",
            "-m",
            m.to_str().unwrap_or_default(),
            "-f",
            p.to_str().unwrap_or_default(),
            "-n",
            "8",
        ],
    );
    assert_clear_error(&out, "exceeds the context limit");
    let out = vkv(
        &home(),
        &[
            "generate",
            "-m",
            m.to_str().unwrap_or_default(),
            "-p",
            "hello",
            "-n",
            "9000",
        ],
    );
    assert_clear_error(&out, "exceeds the context limit");
}

#[test]
fn empty_prompt_and_missing_file() {
    let m = smollm();
    let out = vkv(
        &home(),
        &["generate", "-m", m.to_str().unwrap_or_default(), "-p", ""],
    );
    assert_clear_error(&out, "the prompt is empty");
    let out = vkv(
        &home(),
        &[
            "generate",
            "-m",
            m.to_str().unwrap_or_default(),
            "-p",
            "   \n",
        ],
    );
    assert_clear_error(&out, "the prompt is empty");
    let out = vkv(
        &home(),
        &[
            "generate",
            "-m",
            m.to_str().unwrap_or_default(),
            "-f",
            "/nonexistent/prompt.txt",
        ],
    );
    assert_clear_error(&out, "cannot read prompt file /nonexistent/prompt.txt");
    let out = vkv(&home(), &["generate", "-m", m.to_str().unwrap_or_default()]);
    assert_clear_error(&out, "--prompt");
}

#[test]
fn bad_kv_mode() {
    let out = vkv(
        &home(),
        &[
            "generate",
            "-m",
            "smollm2-135m",
            "-p",
            "hi",
            "--kv",
            "sparkly",
        ],
    );
    assert_clear_error(&out, "unknown KV mode");
}

/// A real generation works and streams only the completion to stdout.
#[test]
fn generate_smoke() {
    let m = smollm();
    let out = vkv(
        &home(),
        &[
            "generate",
            "-m",
            m.to_str().unwrap_or_default(),
            "-p",
            "The capital of France is",
            "-n",
            "3",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Paris"), "completion: {stdout:?}");
    assert!(!stdout.contains("prefill"), "stats go to stderr");
    assert!(String::from_utf8_lossy(&out.stderr).contains("decode: 3 tokens"));
}
