//! Long-context task generators: needle-in-a-haystack ([`niah`]) and RULER-style synthetic
//! tasks ([`ruler`], [`words`]) over real haystacks ([`haystack`]).
//!
//! Every generator is a pure function of (tokenizer, haystack text, seed, task, length, sample):
//! the same arguments give the same prompt, token for token. A prompt is assembled from
//! separately tokenized segments (chat-template head, instruction, haystack sentences, needles,
//! question, template tail, answer prefix), so its length is known exactly while it is built
//! and a haystack sentence never changes tokens because a needle was put next to it.
//!
//! The expected answers of a needle task occur in the prompt exactly once ([`count_occurrences`]
//! is checked by every generator and by the tests): the model can only answer by retrieving the
//! needle, and a stray copy in the haystack cannot make a wrong retrieval look right.

pub mod haystack;
pub mod niah;
pub mod prompt;
pub mod rng;
pub mod ruler;
pub mod words;

use serde::{Deserialize, Serialize};

pub use haystack::Haystack;
pub use prompt::PromptBuilder;
pub use rng::Rng;

/// One prompt to run, with what a correct answer contains.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskSample {
    /// Task name (`niah/passkey`, `ruler/vt`, …).
    pub task: String,
    /// Target prompt length in tokens (the grid's column).
    pub length: usize,
    /// Needle depth in [0, 1] (NIAH grids), if the task has one.
    pub depth: Option<f64>,
    /// Sample index.
    pub sample: usize,
    /// The whole prompt as text (chat template included).
    pub text: String,
    /// Its tokens.
    pub tokens: Vec<u32>,
    /// Strings the answer must contain (score = fraction present).
    pub expected: Vec<String>,
    /// Tokens to generate at most.
    pub max_new: usize,
}

impl TaskSample {
    /// A key unique within a run: task, length, depth, sample.
    pub fn key(&self) -> String {
        match self.depth {
            Some(d) => format!("{}|{}|{:.3}|{}", self.task, self.length, d, self.sample),
            None => format!("{}|{}|-|{}", self.task, self.length, self.sample),
        }
    }
}

/// Non-overlapping occurrences of `needle` in `hay`.
pub fn count_occurrences(hay: &str, needle: &str) -> usize {
    if needle.is_empty() {
        return 0;
    }
    hay.matches(needle).count()
}

/// Recall-style string match (RULER's `string_match_all`): the fraction of `expected` strings
/// found in `output`, case-insensitively. 1.0 when nothing is expected.
pub fn score(output: &str, expected: &[String]) -> f64 {
    if expected.is_empty() {
        return 1.0;
    }
    let out = output.to_lowercase();
    let hit = expected
        .iter()
        .filter(|e| out.contains(&e.to_lowercase()))
        .count();
    hit as f64 / expected.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Partial credit, case-insensitivity, and no credit for absent or empty outputs.
    #[test]
    fn scoring() {
        let e = vec!["1234567".to_string(), "Alpha-Beta".to_string()];
        assert_eq!(score("The numbers are 1234567 and alpha-beta.", &e), 1.0);
        assert_eq!(score("1234567", &e), 0.5);
        assert_eq!(score("", &e), 0.0);
        assert_eq!(
            score("123456", &e[..1]),
            0.0,
            "a prefix of the number is not the number"
        );
        assert_eq!(score("anything", &[]), 1.0);
        assert_eq!(count_occurrences("ab ab ab", "ab"), 3);
        assert_eq!(count_occurrences("ab", ""), 0);
    }
}
