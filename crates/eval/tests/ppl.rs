//! Perplexity against llama.cpp's `llama-perplexity` on the same GGUF and text, and the
//! sliding-window variant's consistency with the chunked one.
//!
//! Reference (docs/reference.md on branch `ref`, llama.cpp 0c1e570 from llama-cpp-python
//! 0.3.36): `llama-perplexity -m smollm2.gguf -f emma.txt -c 2048 --chunks 8 -t 2` → 26.3578.

mod common;

use vkv_engine::KvMode;
use vkv_eval::ppl::{perplexity, PplSpec};
use vkv_eval::ppl_window::{perplexity_sliding, SlidingSpec};
use vkv_model::fetch::NoProgress;
use vkv_model::EncodeOptions;

const LLAMA_SMOLLM2_EMMA_C2048_X8: f64 = 26.3578;

#[test]
fn smollm2_emma_matches_llama_perplexity_within_1_percent() {
    let lm = common::smollm2();
    let text = vkv_eval::data::resolve_text("austen/emma", &common::home(), &NoProgress)
        .expect("austen/emma");
    let body = text.text.strip_suffix('\n').unwrap_or(&text.text);
    let tokens = lm
        .tokenizer
        .encode(
            body,
            EncodeOptions {
                add_special: true,
                parse_special: false,
            },
        )
        .expect("tokenize");
    assert_eq!(
        tokens.len(),
        221_849,
        "llama-perplexity tokenizes Emma to 221849 tokens"
    );
    let spec = PplSpec {
        n_ctx: 2048,
        n_chunks: Some(8),
        batch: 512,
    };
    let r = perplexity(
        &lm.transformer,
        &tokens,
        None,
        &KvMode::default(),
        &spec,
        &mut |_, _, _| {},
    )
    .expect("ppl");
    let rel = (r.ppl / LLAMA_SMOLLM2_EMMA_C2048_X8 - 1.0).abs();
    eprintln!("smollm2 emma c2048x8: ours {:.4}, llama-perplexity {LLAMA_SMOLLM2_EMMA_C2048_X8} ({:+.3}%)", r.ppl, (r.ppl / LLAMA_SMOLLM2_EMMA_C2048_X8 - 1.0) * 100.0);
    assert_eq!(r.count, 8 * 1023);
    assert!(
        rel < 0.01,
        "PPL {} vs llama-perplexity {LLAMA_SMOLLM2_EMMA_C2048_X8}: {:.2}% apart (tolerance 1%)",
        r.ppl,
        rel * 100.0
    );

    // One sliding window scores exactly what the first llama-perplexity chunk scores.
    let short = &tokens[..2048];
    let mut two = short.to_vec();
    two.extend_from_slice(&tokens[2048..4096]);
    let c = perplexity(
        &lm.transformer,
        &two,
        None,
        &KvMode::default(),
        &PplSpec {
            n_ctx: 512,
            n_chunks: Some(1),
            batch: 512,
        },
        &mut |_, _, _| {},
    )
    .expect("chunked");
    let s = perplexity_sliding(
        &lm.transformer,
        &two,
        &KvMode::default(),
        SlidingSpec {
            n_ctx: 512,
            stride: 256,
            n_windows: Some(1),
            batch: 512,
        },
        &mut |_, _, _| {},
    )
    .expect("sliding");
    assert_eq!(c.count, s.count);
    assert!((c.ppl - s.ppl).abs() < 1e-9, "{} vs {}", c.ppl, s.ppl);
    // More windows score every later token once, with at least n_ctx - stride context.
    let s3 = perplexity_sliding(
        &lm.transformer,
        &two,
        &KvMode::default(),
        SlidingSpec {
            n_ctx: 512,
            stride: 256,
            n_windows: Some(3),
            batch: 512,
        },
        &mut |_, _, _| {},
    )
    .expect("sliding");
    assert_eq!(s3.count, 255 + 2 * 256);
    assert!(
        perplexity_sliding(
            &lm.transformer,
            &two,
            &KvMode::default(),
            SlidingSpec {
                n_ctx: 512,
                stride: 300,
                n_windows: None,
                batch: 512
            },
            &mut |_, _, _| {}
        )
        .is_err(),
        "stride > n_ctx/2"
    );
}
