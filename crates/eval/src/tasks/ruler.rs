//! RULER-style synthetic tasks (Hsieh et al., 2024), generated locally with a seed over a real
//! haystack: NIAH variants (single, multi-key, multi-value, multi-query) and variable tracking
//! here; common- and frequent-word extraction in [`super::words`]. Wording follows RULER's
//! templates; scoring is RULER's recall-style string match ([`super::score`]).

use super::niah::{all_once, build, compound, haystack_start, Frame, Insert};
use super::prompt::PromptBuilder;
use super::{words, Haystack, Rng, TaskSample};
use crate::{Error, Result};

/// The RULER task names, in report order.
pub const TASKS: &[&str] = &[
    "niah_single",
    "niah_multikey",
    "niah_multivalue",
    "niah_multiquery",
    "vt",
    "cwe",
    "fwe",
];

const NIAH_INSTRUCTION: &str = "Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz you about the numbers afterwards.\n\n";
const VT_INSTRUCTION: &str =
    "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n";
const ATTEMPTS: usize = 16;
/// Needles of the multi-* variants.
const MULTI: usize = 4;
/// Hops of a variable-tracking chain after the first assignment.
const VT_HOPS: usize = 4;

/// One RULER prompt.
pub fn sample(
    pb: &PromptBuilder<'_>,
    hay: &Haystack,
    task: &str,
    seed: u64,
    length: usize,
    sample: usize,
) -> Result<TaskSample> {
    match task {
        "cwe" => return words::cwe(pb, hay, seed, length, sample),
        "fwe" => return words::fwe(pb, hay, seed, length, sample),
        t if TASKS.contains(&t) => {}
        other => {
            return Err(Error::Config(format!(
                "unknown RULER task {other:?} (known: {})",
                TASKS.join(", ")
            )))
        }
    }
    let start = haystack_start(hay, seed, length, sample);
    for attempt in 0..ATTEMPTS {
        let mut rng = Rng::derive(
            seed,
            &[
                "ruler",
                task,
                &length.to_string(),
                &sample.to_string(),
                &attempt.to_string(),
            ],
        );
        let mut keys: Vec<String> = Vec::new();
        while keys.len() < MULTI {
            let k = compound(&mut rng);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let nums: Vec<String> = (0..MULTI).map(|_| rng.number(7)).collect();
        let mut depth = || rng.unit();
        let needle =
            |k: &str, v: &str| format!("One of the special magic numbers for {k} is: {v}.");
        let (inserts, question, prefix, expected, once, max_new, instr): (
            Vec<Insert>,
            String,
            String,
            Vec<String>,
            Vec<String>,
            usize,
            &str,
        ) = match task {
            "niah_single" => (
                vec![Insert {
                    depth: depth(),
                    text: needle(&keys[0], &nums[0]),
                }],
                format!(
                    "What is the special magic number for {} mentioned in the provided text?",
                    keys[0]
                ),
                format!(
                    "The special magic number for {} mentioned in the provided text is",
                    keys[0]
                ),
                vec![nums[0].clone()],
                vec![nums[0].clone()],
                32,
                NIAH_INSTRUCTION,
            ),
            "niah_multikey" => (
                (0..MULTI)
                    .map(|i| Insert {
                        depth: depth(),
                        text: needle(&keys[i], &nums[i]),
                    })
                    .collect(),
                format!(
                    "What is the special magic number for {} mentioned in the provided text?",
                    keys[0]
                ),
                format!(
                    "The special magic number for {} mentioned in the provided text is",
                    keys[0]
                ),
                vec![nums[0].clone()],
                nums.clone(),
                32,
                NIAH_INSTRUCTION,
            ),
            "niah_multivalue" => (
                (0..MULTI)
                    .map(|i| Insert {
                        depth: depth(),
                        text: needle(&keys[0], &nums[i]),
                    })
                    .collect(),
                format!(
                    "What are all the special magic numbers for {} mentioned in the provided text?",
                    keys[0]
                ),
                format!(
                    "The special magic numbers for {} mentioned in the provided text are",
                    keys[0]
                ),
                nums.clone(),
                nums.clone(),
                64,
                NIAH_INSTRUCTION,
            ),
            "niah_multiquery" => {
                let list = format!("{}, {}, {}, and {}", keys[0], keys[1], keys[2], keys[3]);
                (
                    (0..MULTI).map(|i| Insert { depth: depth(), text: needle(&keys[i], &nums[i]) }).collect(),
                    format!("What are all the special magic numbers for {list} mentioned in the provided text?"),
                    format!("The special magic numbers for {list} mentioned in the provided text are"),
                    nums.clone(),
                    nums.clone(),
                    64,
                    NIAH_INSTRUCTION,
                )
            }
            _ => {
                // Variable tracking: VAR A = 12345, VAR B = VAR A, … at increasing depths.
                let mut vars: Vec<String> = Vec::new();
                while vars.len() < VT_HOPS + 1 {
                    let v: String = (0..5)
                        .map(|_| (b'A' + rng.below(26) as u8) as char)
                        .collect();
                    if !vars.contains(&v) {
                        vars.push(v);
                    }
                }
                let value = rng.number(5);
                let mut ds: Vec<f64> = (0..=VT_HOPS).map(|_| rng.unit()).collect();
                ds.sort_by(f64::total_cmp);
                let mut ins = vec![Insert {
                    depth: ds[0],
                    text: format!("VAR {} = {value}.", vars[0]),
                }];
                for i in 1..=VT_HOPS {
                    ins.push(Insert {
                        depth: ds[i],
                        text: format!("VAR {} = VAR {}.", vars[i], vars[i - 1]),
                    });
                }
                let once: Vec<String> = std::iter::once(value.clone())
                    .chain(vars.iter().map(|v| format!("VAR {v} =")))
                    .collect();
                (
                    ins,
                    format!("Question: Find all variables that are assigned the value {value} in the text above."),
                    format!("Answer: According to the chain(s) of variable assignment in the text above, {} variables are assigned the value {value}, they are:", VT_HOPS + 1),
                    vars,
                    once,
                    48,
                    VT_INSTRUCTION,
                )
            }
        };
        let p = build(
            pb,
            hay,
            start,
            length,
            Frame {
                instruction: instr,
                question: &question,
                answer_prefix: &prefix,
            },
            &inserts,
        )?;
        // The value of a VT chain is in the question too: check the body only.
        let body = if task == "vt" {
            p.text
                .rsplit_once("\n\nQuestion:")
                .map_or(p.text.as_str(), |x| x.0)
        } else {
            p.text.as_str()
        };
        if all_once(body, &once) {
            return Ok(TaskSample {
                task: format!("ruler/{task}"),
                length,
                depth: None,
                sample,
                text: p.text,
                tokens: p.tokens,
                expected,
                max_new,
            });
        }
    }
    Err(Error::Config(format!(
        "could not draw {task} needles that occur exactly once"
    )))
}
