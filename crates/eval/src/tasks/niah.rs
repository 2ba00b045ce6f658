//! Needle in a haystack: one needle at a depth fraction of a real-text haystack cut to a token
//! budget, three needle kinds (a passkey number, a UUID, a key–value fact), and the insertion
//! machinery the RULER tasks share ([`build`]).

use serde::{Deserialize, Serialize};

use super::prompt::{Prompt, PromptBuilder};
use super::{count_occurrences, Haystack, Rng, TaskSample};
use crate::{Error, Result};

/// The NIAH instruction (llama.cpp's passkey wording; shared by all needle kinds, so prompts
/// of different kinds over the same haystack share a token prefix).
pub const INSTRUCTION: &str = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n\n";

/// Attempts at drawing values that occur exactly once before giving up.
const ATTEMPTS: usize = 16;

/// Adjectives and nouns for keys and word values (`misty-harbor`): compounds that do not occur
/// in ordinary prose.
pub const ADJECTIVES: &[&str] = &[
    "amber", "brisk", "calm", "dusty", "eager", "faint", "gentle", "hollow", "icy", "jolly",
    "keen", "lively", "misty", "noble", "odd", "pale", "quiet", "rusty", "silent", "tidy",
    "upbeat", "vivid", "wary", "young", "zesty", "bold", "crisp", "dim", "early", "fuzzy", "grand",
    "hasty", "idle", "lucky", "merry", "neat", "plain", "rapid", "sharp", "tame", "urban", "vast",
    "warm", "witty", "bright", "cosy", "damp", "famous",
];
/// See [`ADJECTIVES`].
pub const NOUNS: &[&str] = &[
    "harbor", "lantern", "meadow", "anchor", "bucket", "canyon", "dolphin", "engine", "falcon",
    "garden", "hammer", "island", "jacket", "kettle", "ladder", "magnet", "needle", "orchard",
    "pepper", "quarry", "rabbit", "saddle", "tunnel", "umbrella", "violin", "walnut", "yacht",
    "zipper", "barrel", "candle", "desert", "feather", "glacier", "helmet", "insect", "jungle",
    "kitten", "lemon", "mirror", "napkin", "oyster", "pillow", "ribbon", "spoon", "teapot",
    "valley", "wagon", "basket",
];

/// A needle kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeedleKind {
    /// "The pass key is 1234567. Remember it."
    Passkey,
    /// "The special magic uuid for misty-harbor is: 0f1e…"
    Uuid,
    /// "The special magic word for misty-harbor is: amber-falcon."
    Kv,
}

impl NeedleKind {
    /// All kinds.
    pub const ALL: [NeedleKind; 3] = [Self::Passkey, Self::Uuid, Self::Kv];

    /// Name (`passkey`, `uuid`, `kv`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::Uuid => "uuid",
            Self::Kv => "kv",
        }
    }

    /// Parse a name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown needle kind {s:?} (known: passkey, uuid, kv)"
                ))
            })
    }
}

/// A compound key such as `misty-harbor`.
pub fn compound(rng: &mut Rng) -> String {
    format!("{}-{}", rng.pick(ADJECTIVES), rng.pick(NOUNS))
}

/// Text inserted between haystack sentences at a depth fraction.
#[derive(Debug, Clone)]
pub struct Insert {
    /// Depth in [0, 1] of the haystack's tokens.
    pub depth: f64,
    /// The sentence (a leading space is added).
    pub text: String,
}

/// The fixed texts around a haystack.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Before the haystack.
    pub instruction: &'a str,
    /// After it.
    pub question: &'a str,
    /// After the chat template's assistant tag.
    pub answer_prefix: &'a str,
}

/// Assemble the frame's instruction, an excerpt of `hay` starting at sentence `start` with
/// `inserts` at their depths, the question and the answer prefix, in at most `length` tokens.
pub fn build(
    pb: &PromptBuilder<'_>,
    hay: &Haystack,
    start: usize,
    length: usize,
    frame: Frame<'_>,
    inserts: &[Insert],
) -> Result<Prompt> {
    let Frame {
        instruction,
        question,
        answer_prefix,
    } = frame;
    let mut p = pb.start(instruction)?;
    let mut ins: Vec<(f64, String, Vec<u32>)> = Vec::with_capacity(inserts.len());
    for i in inserts {
        let t = format!(" {}", i.text);
        let toks = pb.encode(&t)?;
        ins.push((i.depth.clamp(0.0, 1.0), t, toks));
    }
    ins.sort_by(|a, b| a.0.total_cmp(&b.0));
    let fixed = p.tokens.len()
        + pb.tail_tokens(question, answer_prefix)?
        + ins.iter().map(|x| x.2.len()).sum::<usize>();
    if fixed + 64 > length {
        return Err(Error::Config(format!("length {length} leaves no room for a haystack ({fixed} tokens of instructions, needles and question)")));
    }
    let excerpt = hay.excerpt(start, length - fixed);
    let total: usize = excerpt.iter().map(|&i| hay.sentence(i).1.len()).sum();
    let mut next = 0;
    let mut done = 0usize;
    for &si in &excerpt {
        while next < ins.len() && (done as f64) >= ins[next].0 * total as f64 {
            p.push(&ins[next].1, &ins[next].2);
            next += 1;
        }
        let (s, t) = hay.sentence(si);
        p.push(s, t);
        done += t.len();
    }
    for x in &ins[next..] {
        p.push(&x.1, &x.2);
    }
    pb.finish(p, question, answer_prefix)
}

/// The first haystack sentence of sample `sample` at `length` (shared by all kinds, depths and
/// tasks of that sample, so their prompts share a prefix).
pub fn haystack_start(hay: &Haystack, seed: u64, length: usize, sample: usize) -> usize {
    Rng::derive(
        seed,
        &["haystack", &length.to_string(), &sample.to_string()],
    )
    .below(hay.len())
}

/// True when every string of `values` occurs exactly once in `text`.
pub fn all_once(text: &str, values: &[String]) -> bool {
    values.iter().all(|v| count_occurrences(text, v) == 1)
}

/// One NIAH prompt: `kind` needle at `depth` in a `length`-token prompt.
pub fn sample(
    pb: &PromptBuilder<'_>,
    hay: &Haystack,
    kind: NeedleKind,
    seed: u64,
    length: usize,
    depth: f64,
    sample: usize,
) -> Result<TaskSample> {
    let start = haystack_start(hay, seed, length, sample);
    for attempt in 0..ATTEMPTS {
        let mut rng = Rng::derive(
            seed,
            &[
                "niah",
                kind.name(),
                &length.to_string(),
                &format!("{depth:.4}"),
                &sample.to_string(),
                &attempt.to_string(),
            ],
        );
        let (needle, question, prefix, value, max_new) = match kind {
            NeedleKind::Passkey => {
                let v = rng.number(7);
                (
                    format!("The pass key is {v}. Remember it."),
                    "What is the pass key? Answer with the number only.".to_string(),
                    "The pass key is".to_string(),
                    v,
                    16,
                )
            }
            NeedleKind::Uuid => {
                let (k, v) = (compound(&mut rng), rng.uuid());
                (
                    format!("The special magic uuid for {k} is: {v}."),
                    format!(
                        "What is the special magic uuid for {k} mentioned in the provided text?"
                    ),
                    format!("The special magic uuid for {k} mentioned in the provided text is"),
                    v,
                    // A UUID is ~25 tokens after ": ".
                    48,
                )
            }
            NeedleKind::Kv => {
                let k = compound(&mut rng);
                let mut v = compound(&mut rng);
                while v == k {
                    v = compound(&mut rng);
                }
                (
                    format!("The special magic word for {k} is: {v}."),
                    format!(
                        "What is the special magic word for {k} mentioned in the provided text?"
                    ),
                    format!("The special magic word for {k} mentioned in the provided text is"),
                    v,
                    16,
                )
            }
        };
        let p = build(
            pb,
            hay,
            start,
            length,
            Frame {
                instruction: INSTRUCTION,
                question: &question,
                answer_prefix: &prefix,
            },
            &[Insert {
                depth,
                text: needle,
            }],
        )?;
        let expected = vec![value];
        if all_once(&p.text, &expected) {
            return Ok(TaskSample {
                task: format!("niah/{}", kind.name()),
                length,
                depth: Some(depth),
                sample,
                text: p.text,
                tokens: p.tokens,
                expected,
                max_new,
            });
        }
    }
    Err(Error::Config(format!(
        "could not draw a {} needle that occurs exactly once in the haystack",
        kind.name()
    )))
}
