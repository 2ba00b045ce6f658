//! The HF `tokenizer.json` path against the GGUF path: Qwen's tokenizer.json (fetched by
//! `scripts/fetch_hf_qwen_tokenizer.sh` into `$VKV_HF_TOKENIZER_DIR`, default
//! /work/ref/hf/qwen3) must give the same ids as the Qwen2.5 GGUF (`$VKV_TEST_MODEL_DIR`/
//! qwen05.gguf) on every string of `tests/data/tokenizer_cases.json`, decode them back, and
//! its own chat template (Qwen3's, which exercises Python string methods, slicing and
//! `namespace`) must render as HF transformers renders it.
//!
//! Known, intended differences, excluded from the id comparison:
//! - tokenizer.json normalizes to NFC, llama.cpp does not: we compare HF(text) with
//!   GGUF(NFC(text)).
//! - with `parse_special = false`, HF still splits *non-special* added tokens, and in this
//!   file `<|fim_prefix|>`, `<|repo_name|>`, `<|file_sep|>`… are non-special, while the
//!   GGUF marks them as control tokens (not split); texts containing them are skipped there.
//! - llama.cpp promotes the ordinary token `</s>` to an end-of-generation control token, so
//!   with `parse_special = true` the GGUF path cuts it out of text and HF does not.
//!
//! Missing files skip the test with a printed notice.

use std::path::PathBuf;

use tokenizers::normalizers::unicode::NFC;
use tokenizers::{NormalizedString, Normalizer};
use vkv_model::gguf::GgufFile;
use vkv_model::{ChatMessage, ChatTemplate, EncodeOptions, Tokenizer};

fn hf_json() -> Option<PathBuf> {
    let dir =
        std::env::var("VKV_HF_TOKENIZER_DIR").unwrap_or_else(|_| "/work/ref/hf/qwen3".to_owned());
    let p = PathBuf::from(dir).join("tokenizer.json");
    if p.exists() {
        Some(p)
    } else {
        println!(
            "SKIPPED: {} not found (run scripts/fetch_hf_qwen_tokenizer.sh)",
            p.display()
        );
        None
    }
}

fn gguf_qwen() -> Option<Tokenizer> {
    let dir = std::env::var("VKV_TEST_MODEL_DIR").unwrap_or_else(|_| "/work/ref/models".to_owned());
    let p = PathBuf::from(dir).join("qwen05.gguf");
    if !p.exists() {
        println!(
            "SKIPPED: {} not found (set VKV_TEST_MODEL_DIR)",
            p.display()
        );
        return None;
    }
    Some(Tokenizer::from_gguf(&GgufFile::open(&p).expect("open")).expect("tokenizer"))
}

fn nfc(text: &str) -> String {
    let mut n = NormalizedString::from(text);
    NFC.normalize(&mut n).expect("nfc");
    n.get().to_owned()
}

#[test]
fn hf_qwen_matches_gguf_qwen() {
    let (Some(path), Some(gguf)) = (hf_json(), gguf_qwen()) else {
        return;
    };
    let hf = Tokenizer::from_hf_json(&path).expect("load tokenizer.json");
    let cases_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokenizer_cases.json");
    let cases: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(cases_path).expect("read cases"))
            .expect("json");
    let non_special_added = ["<|fim_", "<|repo_name|>", "<|file_sep|>"];
    let mut failures = Vec::new();
    let mut compared = 0;
    for text in &cases {
        let normalized = nfc(text);
        for parse_special in [false, true] {
            if !parse_special && non_special_added.iter().any(|t| text.contains(t)) {
                continue;
            }
            if parse_special && text.contains("</s>") {
                continue;
            }
            let opts = EncodeOptions {
                add_special: true,
                parse_special,
            };
            let want = gguf.encode(&normalized, opts).expect("gguf encode");
            let got = hf.encode(text, opts).expect("hf encode");
            compared += 1;
            if got != want {
                failures.push(format!(
                    "{text:?} parse_special={parse_special}\n   gguf {want:?}\n     hf {got:?}"
                ));
            } else if hf.decode(&got).expect("decode") != normalized {
                failures.push(format!("{text:?}: hf decode gives {:?}", hf.decode(&got)));
            }
        }
    }
    println!("{compared} encodings compared");
    assert!(compared >= 120, "only {compared} comparisons");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn hf_qwen_vocab_and_config() {
    let Some(path) = hf_json() else { return };
    let hf = Tokenizer::from_hf_json(&path).expect("load tokenizer.json");
    assert_eq!(hf.vocab_size(), 151_669);
    let im_end = hf.token_id("<|im_end|>").expect("im_end");
    let eot = hf.token_id("<|endoftext|>").expect("endoftext");
    assert_eq!((hf.bos(), hf.eos()), (None, Some(im_end)));
    assert!(hf.is_end_of_generation(im_end) && hf.is_end_of_generation(eot));
    assert!(!hf.is_end_of_generation(hf.token_id("<|im_start|>").expect("im_start")));
    assert_eq!(hf.decode(&[im_end]).expect("decode"), "<|im_end|>");
    let opts = |parse_special| EncodeOptions {
        add_special: true,
        parse_special,
    };
    assert_eq!(
        hf.encode("<|im_end|>", opts(true)).expect("encode"),
        [im_end]
    );
    assert_ne!(
        hf.encode("<|im_end|>", opts(false)).expect("encode"),
        [im_end]
    );
    // the user-defined (non-special) <tool_call> is split out either way, as in llama.cpp
    let tool_call = hf.token_id("<tool_call>").expect("tool_call");
    assert_eq!(
        hf.encode("<tool_call>", opts(false)).expect("encode"),
        [tool_call]
    );
    // streaming works on the HF vocabulary too
    let ids = hf.encode("goose 🪿!", opts(false)).expect("encode");
    let mut dec = hf.stream_decoder();
    let streamed: String = ids.iter().filter_map(|&i| dec.push(i)).collect();
    assert_eq!(streamed, "goose 🪿!");
}

#[test]
fn hf_chat_template_renders_like_transformers() {
    let Some(path) = hf_json() else { return };
    let hf = Tokenizer::from_hf_json(&path).expect("load tokenizer.json");
    let t = ChatTemplate::for_tokenizer(&hf).expect("Qwen3 template compiles");
    let sys_user = [
        ChatMessage::new("system", "You are a helpful assistant."),
        ChatMessage::new("user", "What is 2+2?"),
    ];
    assert_eq!(
        t.render(&sys_user, true).expect("render"),
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    );
    // a past assistant turn loses its <think> block (split / rstrip / lstrip / [::-1])
    let multi = [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", "Hi"),
        ChatMessage::new("assistant", "<think>\nGreeting.\n</think>\n\nHello! 👋"),
        ChatMessage::new("user", "Bye\n"),
    ];
    assert_eq!(
        t.render(&multi, true).expect("render"),
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello! 👋<|im_end|>\n<|im_start|>user\nBye\n<|im_end|>\n<|im_start|>assistant\n"
    );
}
