//! Task generators on a real tokenizer and haystack: deterministic per seed, the exact token
//! budget (a prompt is at most one haystack sentence, ≤ 600 bytes ≈ 160 tokens, short of its
//! length), answers present exactly once, and clear errors for impossible requests.

mod common;

use vkv_eval::suite::{Suite, SuiteSpec};
use vkv_eval::tasks::niah::{self, NeedleKind};
use vkv_eval::tasks::{count_occurrences, ruler, score, Haystack, PromptBuilder};

#[test]
fn generators_are_deterministic_budgeted_and_answers_occur_once() {
    let lm = common::smollm2();
    let text = common::essays();
    let hay = Haystack::new(&text.id, &text.text, &lm.tokenizer).expect("haystack");
    let pb = PromptBuilder::new(&lm.tokenizer, true).expect("prompt builder");
    for &len in &[1024usize, 3000] {
        for kind in NeedleKind::ALL {
            for &depth in &[0.0, 0.3, 1.0] {
                for s in 0..2 {
                    let a = niah::sample(&pb, &hay, kind, 7, len, depth, s).expect("niah sample");
                    let b = niah::sample(&pb, &hay, kind, 7, len, depth, s).expect("niah sample");
                    assert_eq!(a.tokens, b.tokens, "same seed, same prompt");
                    assert!(
                        a.tokens.len() <= len && a.tokens.len() + 160 >= len,
                        "{} tokens for budget {len}",
                        a.tokens.len()
                    );
                    for e in &a.expected {
                        assert_eq!(
                            count_occurrences(&a.text, e),
                            1,
                            "{kind:?} answer {e} must occur once"
                        );
                    }
                    // The prompt text is exactly what the tokens decode to.
                    assert_eq!(lm.tokenizer.decode(&a.tokens).expect("decode"), a.text);
                    let c = niah::sample(&pb, &hay, kind, 8, len, depth, s).expect("niah sample");
                    assert_ne!(a.expected, c.expected, "another seed, another needle");
                }
            }
        }
        for task in ruler::TASKS {
            let a = ruler::sample(&pb, &hay, task, 3, len, 0).expect("ruler sample");
            let b = ruler::sample(&pb, &hay, task, 3, len, 0).expect("ruler sample");
            assert_eq!(a.tokens, b.tokens, "{task}: deterministic");
            assert!(
                a.tokens.len() <= len && a.tokens.len() + 160 >= len,
                "{task}: {} tokens for budget {len}",
                a.tokens.len()
            );
            assert!(!a.expected.is_empty());
            if task.starts_with("niah") {
                for e in &a.expected {
                    assert_eq!(
                        count_occurrences(&a.text, e),
                        1,
                        "{task}: {e} must occur once"
                    );
                }
            }
            if *task == "vt" {
                let body = a
                    .text
                    .rsplit_once("\n\nQuestion:")
                    .map(|x| x.0)
                    .expect("question");
                for v in &a.expected {
                    assert_eq!(
                        count_occurrences(body, &format!("VAR {v} =")),
                        1,
                        "vt: {v} assigned once"
                    );
                }
            }
            // A perfect answer scores 1, an empty one 0.
            assert_eq!(score(&a.expected.join(", "), &a.expected), 1.0);
            assert_eq!(score("", &a.expected), 0.0);
        }
    }
}

/// Impossible or unknown requests are errors, not panics.
#[test]
fn bad_requests_are_errors() {
    let lm = common::smollm2();
    let text = common::essays();
    let hay = Haystack::new(&text.id, &text.text, &lm.tokenizer).expect("haystack");
    let pb = PromptBuilder::new(&lm.tokenizer, true).expect("prompt builder");
    assert!(
        niah::sample(&pb, &hay, NeedleKind::Passkey, 1, 60, 0.5, 0).is_err(),
        "no room for a haystack"
    );
    assert!(
        ruler::sample(&pb, &hay, "qa_squad", 1, 1024, 0).is_err(),
        "unknown task"
    );
    let ctx = lm.transformer.config.context_length;
    assert!(
        SuiteSpec::new(Suite::Niah, vec![ctx], 1)
            .validate(ctx)
            .is_err(),
        "longer than the model's context"
    );
    let mut s = SuiteSpec::new(Suite::Niah, vec![1024], 1);
    s.tasks = vec!["password".into()];
    assert!(s.validate(ctx).is_err(), "unknown needle kind");
    s = SuiteSpec::new(Suite::Niah, vec![1024], 1);
    s.depths = vec![1.5];
    assert!(s.validate(ctx).is_err(), "depth out of range");
    assert!(Haystack::new("tiny", "Too short.", &lm.tokenizer).is_err());
}
