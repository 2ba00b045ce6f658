//! A real text cut into sentences, each tokenized once, from which token-budgeted excerpts
//! are taken. Needles go between sentences, so they never split a word or a sentence.

use vkv_model::{EncodeOptions, Tokenizer};

use crate::{Error, Result};

/// Sentences longer than this many bytes are cut at a space (keeps insertion points dense in
/// texts with very long sentences or no punctuation, e.g. verse numbers).
const MAX_SENTENCE_BYTES: usize = 600;

/// A tokenized text, sentence by sentence (each sentence carries its leading whitespace).
#[derive(Debug, Clone)]
pub struct Haystack {
    /// Name of the source text.
    pub name: String,
    sentences: Vec<(String, Vec<u32>)>,
    total_tokens: usize,
}

/// Split after `.`, `!`, `?` (optionally followed by closing quotes/brackets) when whitespace
/// follows, and at blank lines; the whitespace goes with the next sentence.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let mut end = None;
        if c == b'.' || c == b'!' || c == b'?' {
            let mut j = i + 1;
            while j < b.len() && matches!(b[j], b'"' | b'\'' | b')' | b']') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_whitespace() {
                end = Some(j);
            }
        } else if c == b'\n' && i + 1 < b.len() && b[i + 1] == b'\n' && i > start {
            end = Some(i);
        }
        if let Some(e) = end {
            if e > start {
                push_capped(&text[start..e], &mut out);
                start = e;
            }
            i = e + 1;
            continue;
        }
        i += 1;
    }
    if start < b.len() && !text[start..].trim().is_empty() {
        push_capped(&text[start..], &mut out);
    }
    out
}

fn push_capped<'a>(s: &'a str, out: &mut Vec<&'a str>) {
    let mut s = s;
    while s.len() > MAX_SENTENCE_BYTES {
        let cut = s[..MAX_SENTENCE_BYTES]
            .rfind(' ')
            .filter(|&c| c > 0)
            .unwrap_or(s.len());
        if cut >= s.len() {
            break;
        }
        out.push(&s[..cut]);
        s = &s[cut..];
    }
    out.push(s);
}

impl Haystack {
    /// Tokenize `text` sentence by sentence.
    pub fn new(name: &str, text: &str, tok: &Tokenizer) -> Result<Self> {
        let opts = EncodeOptions {
            add_special: false,
            parse_special: false,
        };
        let mut sentences = Vec::new();
        let mut total = 0;
        for s in split_sentences(text) {
            let t = tok.encode(s, opts)?;
            total += t.len();
            sentences.push((s.to_string(), t));
        }
        if sentences.len() < 8 || total < 256 {
            return Err(Error::Config(format!(
                "haystack {name} is too short ({total} tokens in {} sentences)",
                sentences.len()
            )));
        }
        Ok(Self {
            name: name.to_string(),
            sentences,
            total_tokens: total,
        })
    }

    /// Sentences.
    pub fn len(&self) -> usize {
        self.sentences.len()
    }

    /// True when empty (never, after `new`).
    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// Tokens of the whole text.
    pub fn total_tokens(&self) -> usize {
        self.total_tokens
    }

    /// Sentence `i` (text, tokens); indices wrap around the end of the text.
    pub fn sentence(&self, i: usize) -> (&str, &[u32]) {
        let (s, t) = &self.sentences[i % self.sentences.len()];
        (s, t)
    }

    /// Consecutive sentence indices from `start` (wrapping) whose tokens fit in `budget`.
    pub fn excerpt(&self, start: usize, budget: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut used = 0;
        let mut i = start;
        while out.len() < 4 * self.sentences.len() {
            let n = self.sentence(i).1.len();
            if used + n > budget {
                break;
            }
            used += n;
            out.push(i);
            i += 1;
        }
        out
    }

    /// Distinct lower-case alphabetic words of 4..=10 letters, sorted (word pools for the
    /// word-extraction tasks come from the haystack's own language).
    pub fn vocabulary(&self) -> Vec<String> {
        let mut words: Vec<String> = self
            .sentences
            .iter()
            .flat_map(|(s, _)| s.split(|c: char| !c.is_ascii_alphabetic()))
            .filter(|w| (4..=10).contains(&w.len()) && w.chars().all(|c| c.is_ascii_lowercase()))
            .map(str::to_string)
            .collect();
        words.sort();
        words.dedup();
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sentences keep every byte, in order; quotes stay with their sentence.
    #[test]
    fn sentences_cover_the_text() {
        let t = "It is a truth. \"Is it?\" she said!  Yes.\n\nNew para without stop\nmore";
        let s = split_sentences(t);
        assert_eq!(s.concat(), t);
        assert_eq!(s[0], "It is a truth.");
        assert_eq!(s[1], " \"Is it?\"");
        let long = "word ".repeat(400);
        let s = split_sentences(&long);
        assert!(s.len() > 3 && s.iter().all(|x| x.len() <= MAX_SENTENCE_BYTES));
        assert_eq!(s.concat(), long);
    }
}
