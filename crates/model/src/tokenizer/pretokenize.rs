//! Pre-tokenization: splitting text into the "words" that BPE merges never cross.
//!
//! Each `tokenizer.ggml.pre` names a list of split regexes. llama.cpp applies them one
//! after the other, every regex subdividing the pieces the previous one produced (matches
//! and the gaps between them both become pieces). Its big GPT-2 / LLaMA-3 / Qwen2 regexes
//! run through hand-written scanners rather than a regex engine, and those scanners are
//! what defines the token ids we must reproduce, so this module mirrors them step for step
//! (same alternation order, same backtracking shortcuts such as `\s+(?!\S)` giving back
//! exactly one whitespace) instead of compiling the regex text with `fancy-regex`. The
//! small auxiliary regexes (`\p{N}`, `[0-9]{3}`, punctuation runs) are single-class scans.
//!
//! The scanners themselves live in [`super::scan`]; this module maps `pre` names to them.

use std::ops::Range;

use super::scan;

/// The pre-tokenizer families we implement, by their split regexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PreTokenizer {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`.
    Gpt2,
    /// `\p{N}` (every digit alone), then the GPT-2 regex: SmolLM, StarCoder, Refact, Command-R.
    Smollm,
    /// `(?i:'s|…)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    Qwen2,
    /// As Qwen2 but numbers in groups of up to three: `\p{N}{1,3}`.
    Llama3,
    /// As Qwen2 with combining marks counted as letters: `[\p{L}\p{M}]+`.
    Qwen35,
    /// Punctuation runs (with `` ` ``), GPT-2, then ASCII digit triples.
    Falcon,
    /// llama.cpp's fallback: punctuation runs, GPT-2, `\p{N}+`, ASCII digit triples.
    Default,
}

/// Per-`pre` settings that llama.cpp ties to the pre-tokenizer name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PreConfig {
    /// Which split regexes.
    pub(crate) kind: PreTokenizer,
    /// A word that is itself a vocabulary token is emitted without running merges.
    pub(crate) ignore_merges: bool,
    /// The BOS default before the GGUF's `add_bos_token` overrides it.
    pub(crate) add_bos: bool,
    /// The model has no BOS token whatever the GGUF says.
    pub(crate) no_bos: bool,
}

impl PreConfig {
    /// The configuration llama.cpp uses for `tokenizer.ggml.pre == name` (`None` if we do
    /// not implement that pre-tokenizer).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        use PreTokenizer::*;
        let plain = |kind| Self {
            kind,
            ignore_merges: false,
            add_bos: false,
            no_bos: false,
        };
        Some(match name {
            "" | "default" => plain(Default),
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
            | "midm-2.0" | "lfm2" | "jina-v5-nano" => Self {
                kind: Llama3,
                ignore_merges: true,
                add_bos: true,
                no_bos: false,
            },
            "dbrx" | "smaug-bpe" => plain(Llama3),
            "chatglm-bpe" => Self {
                kind: Llama3,
                ignore_merges: false,
                add_bos: false,
                no_bos: true,
            },
            "glm4" | "glm5" => Self {
                kind: Llama3,
                ignore_merges: true,
                add_bos: false,
                no_bos: true,
            },
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "stablelm2" | "hunyuan"
            | "solar-open" | "megrez" | "grok-2" => plain(Qwen2),
            "qwen35" => plain(Qwen35),
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone"
            | "minerva-7b" | "mellum2" => plain(Smollm),
            "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
            | "jina-v2-de" | "a.x-4.0" | "mellum" | "modern-bert" | "mpt" | "olmo" | "jais"
            | "trillion" | "granite-docling" | "exaone4" => plain(Gpt2),
            "falcon" => plain(Falcon),
            _ => return None,
        })
    }
}

impl PreTokenizer {
    /// Splits `text` into words, appending their byte ranges to `out`.
    pub(crate) fn split(self, text: &str, out: &mut Vec<Range<usize>>) {
        use scan::{Stage, LET, MARK};
        let stages: &[Stage] = match self {
            Self::Gpt2 => &[Stage::Gpt2],
            Self::Smollm => &[Stage::EachNumber, Stage::Gpt2],
            Self::Qwen2 => &[Stage::Llama(1, LET)],
            Self::Llama3 => &[Stage::Llama(3, LET)],
            Self::Qwen35 => &[Stage::Llama(1, LET | MARK)],
            Self::Falcon => &[Stage::PunctRun(true), Stage::Gpt2, Stage::AsciiTriple],
            Self::Default => &[
                Stage::PunctRun(false),
                Stage::Gpt2,
                Stage::NumberRun,
                Stage::AsciiTriple,
            ],
        };
        scan::split(stages, text, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(kind: PreTokenizer, text: &str) -> Vec<&str> {
        let mut r = Vec::new();
        kind.split(text, &mut r);
        r.into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn gpt2_words() {
        let w = words(PreTokenizer::Gpt2, "Hello world's  123 !!\n\n  x");
        assert_eq!(
            w,
            ["Hello", " world", "'s", " ", " 123", " !!", "\n\n ", " x"]
        );
        assert_eq!(words(PreTokenizer::Gpt2, "a  "), ["a", "  "]);
    }

    #[test]
    fn smollm_digits_alone() {
        assert_eq!(
            words(PreTokenizer::Smollm, "a 123"),
            ["a", " ", "1", "2", "3"]
        );
    }

    #[test]
    fn qwen2_and_llama3() {
        let t = "I'M 12345 ok?\r\n\n  \tdone  ";
        assert_eq!(
            words(PreTokenizer::Qwen2, t),
            ["I", "'M", " ", "1", "2", "3", "4", "5", " ok", "?\r\n\n", "  ", "\tdone", "  "]
        );
        assert_eq!(
            words(PreTokenizer::Llama3, t),
            ["I", "'M", " ", "123", "45", " ok", "?\r\n\n", "  ", "\tdone", "  "]
        );
        assert_eq!(words(PreTokenizer::Qwen2, "x \n\n y"), ["x", " \n\n", " y"]);
    }

    #[test]
    fn default_splits() {
        assert_eq!(
            words(PreTokenizer::Default, "ab12345,,x"),
            ["ab", "123", "45", ",,", "x"]
        );
    }

    #[test]
    fn pieces_cover_text() {
        let t = "ünïcödé 中文 🤖\u{200D}x\u{301} 'S\t\t1,234.5";
        for k in [
            PreTokenizer::Gpt2,
            PreTokenizer::Smollm,
            PreTokenizer::Qwen2,
            PreTokenizer::Llama3,
            PreTokenizer::Qwen35,
            PreTokenizer::Default,
            PreTokenizer::Falcon,
        ] {
            assert_eq!(words(k, t).concat(), t, "{k:?}");
        }
    }
}
