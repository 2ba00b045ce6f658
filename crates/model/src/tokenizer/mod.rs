//! Text ↔ token ids, bit-exact with llama.cpp for the GGUF models we serve.
//!
//! A prompt tokenized differently from the reference changes every logit after it, so the
//! GGUF path reimplements llama.cpp's byte-level BPE pipeline step by step rather than
//! approximating it with a generic library:
//!
//! 1. `special`: cut special-token texts out of the raw text (`parse_special`);
//! 2. `pretokenize`: split each remaining fragment into words with the model's
//!    pre-tokenizer (`tokenizer.ggml.pre`), using llama.cpp's Unicode tables (`unicode`);
//! 3. `bpe`: merge each word's bytes (`bytes` maps them to vocabulary characters).
//!
//! Decoding maps each id to the bytes of its piece (`vocab` precomputes them), and
//! [`StreamDecoder`] (`stream`) releases text only at UTF-8 character boundaries.
//! HF `tokenizer.json` files go through the `tokenizers` crate instead (`hf`).

mod bpe;
mod bytes;
mod hf;
mod pretokenize;
mod scan;
mod special;
mod stream;
mod unicode;
mod unicode_table;
mod vocab;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::path::Path;

pub use stream::StreamDecoder;

use crate::gguf::{GgufFile, Value};
use crate::{Error, Result};
use bpe::{Bpe, PairHasher, Scratch};
use pretokenize::{PreConfig, PreTokenizer};
use special::Fragment;
use vocab::{attr, PieceDecoding, SpecialIds, Vocab};

/// How [`Tokenizer::encode`] treats special tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Add BOS (and EOS) if the model asks for them (`tokenizer.ggml.add_bos_token`, …).
    pub add_special: bool,
    /// Turn special-token texts such as `<|im_start|>` into their ids. Off for untrusted
    /// user text, on for rendered chat templates.
    pub parse_special: bool,
}

/// A model's tokenizer. Immutable after loading: `Send + Sync`, share it behind an `Arc`.
#[derive(Debug)]
pub struct Tokenizer {
    vocab: Vocab,
    backend: Backend,
    add_bos: bool,
    add_eos: bool,
    chat_template: Option<String>,
}

// One per tokenizer: the unboxed merge table's size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Backend {
    /// GGUF byte-level BPE.
    Bpe {
        pre: PreTokenizer,
        ignore_merges: bool,
        bpe: Bpe,
    },
    /// HF tokenizer.json through the `tokenizers` crate.
    Hf(Box<hf::HfBackend>),
}

/// Distinct words remembered per `encode` call (bounds its memory on huge inputs).
const WORD_CACHE_LIMIT: usize = 1 << 16;

fn tok_err(msg: impl Into<String>) -> Error {
    Error::Tokenizer(msg.into())
}

fn string_array<'g>(g: &'g GgufFile, key: &str) -> Result<Vec<&'g str>> {
    let arr = g
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| tok_err(format!("missing {key}")))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| tok_err(format!("{key}: not a string array")))
        })
        .collect()
}

impl Tokenizer {
    /// The tokenizer stored in a GGUF file's `tokenizer.*` metadata. Supports byte-level BPE
    /// (`tokenizer.ggml.model == "gpt2"`) with the qwen2, smollm (starcoder, refact, …),
    /// llama3 (llama-bpe, …), gpt2 (mpt, olmo, …), falcon and default pre-tokenizers.
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let model = g
            .get("tokenizer.ggml.model")
            .and_then(Value::as_str)
            .unwrap_or("");
        if model != "gpt2" {
            return Err(tok_err(format!(
                "unsupported tokenizer model {model:?} (supported: gpt2 byte-level BPE)"
            )));
        }
        let pre_name = g
            .get("tokenizer.ggml.pre")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let pre = PreConfig::from_name(pre_name)
            .ok_or_else(|| tok_err(format!("unsupported pre-tokenizer {pre_name:?}")))?;

        let texts: Vec<String> = string_array(g, "tokenizer.ggml.tokens")?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let n = texts.len();
        let attrs: Vec<u8> = match g.get("tokenizer.ggml.token_type").and_then(Value::as_array) {
            Some(a) => a
                .iter()
                .map(|v| attr::from_gguf_type(v.as_i64().unwrap_or(0)))
                .collect(),
            None => vec![attr::NORMAL; n],
        };
        let id = |key: &str| -> Option<u32> {
            let v = g.get(&format!("tokenizer.ggml.{key}"))?.as_u64()?;
            u32::try_from(v).ok().filter(|&v| (v as usize) < n)
        };
        let default_bos = (!pre.no_bos && n > 11).then_some(11);
        let ids = SpecialIds {
            bos: id("bos_token_id").or(default_bos),
            eos: id("eos_token_id").or((n > 11).then_some(11)),
            eot: id("eot_token_id"),
            eom: id("eom_token_id"),
            fim_pre: id("prefix_token_id").or(id("fim_pre_token_id")),
            fim_suf: id("suffix_token_id").or(id("fim_suf_token_id")),
            fim_mid: id("middle_token_id").or(id("fim_mid_token_id")),
            fim_pad: id("fim_pad_token_id"),
            fim_rep: id("fim_rep_token_id"),
            fim_sep: id("fim_sep_token_id"),
        };
        let flag = |key: &str| {
            g.get(&format!("tokenizer.ggml.{key}"))
                .and_then(Value::as_bool)
        };
        let add_bos = flag("add_bos_token").unwrap_or(pre.add_bos);
        let add_eos = flag("add_eos_token").unwrap_or(false);

        let vocab = Vocab::new(texts, attrs, ids, PieceDecoding::ByteLevel);
        let merges = string_array(g, "tokenizer.ggml.merges")?;
        let bpe = Bpe::new(n, merges, |s| vocab.id_of(s));
        let chat_template = g
            .get("tokenizer.chat_template")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let t = Self {
            vocab,
            backend: Backend::Bpe {
                pre: pre.kind,
                ignore_merges: pre.ignore_merges,
                bpe,
            },
            add_bos,
            add_eos,
            chat_template,
        };
        if (t.add_bos && t.vocab.bos.is_none()) || (t.add_eos && t.vocab.eos.is_none()) {
            return Err(tok_err("the model asks for BOS/EOS but has no such token"));
        }
        Ok(t)
    }

    /// A Hugging Face `tokenizer.json`, with `tokenizer_config.json` (BOS/EOS, chat template)
    /// read from the same directory when present. With `add_special`, BOS/EOS are whatever
    /// the file's post-processor adds.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let (vocab, backend, cfg) = hf::load(path)?;
        Ok(Self {
            vocab,
            backend: Backend::Hf(Box::new(backend)),
            add_bos: false,
            add_eos: false,
            chat_template: cfg.chat_template,
        })
    }

    /// Text → token ids.
    pub fn encode(&self, text: &str, opts: EncodeOptions) -> Result<Vec<u32>> {
        let (pre, ignore_merges, bpe) = match &self.backend {
            Backend::Hf(hf) => return hf.encode(text, opts.add_special, opts.parse_special),
            Backend::Bpe {
                pre,
                ignore_merges,
                bpe,
            } => (*pre, *ignore_merges, bpe),
        };
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if opts.add_special && self.add_bos {
            out.extend(self.vocab.bos);
        }
        let mut words = Vec::new();
        let mut scratch = Scratch::default();
        let mut encoded = String::new();
        // Prose repeats its words: reuse the ids of a word already encoded in this call.
        let mut seen: HashMap<&[u8], (usize, usize), BuildHasherDefault<PairHasher>> =
            HashMap::default();
        for frag in special::partition(text, self.vocab.split_tokens(opts.parse_special)) {
            let range = match frag {
                Fragment::Token(id) => {
                    out.push(id);
                    continue;
                }
                Fragment::Text(r) => r,
            };
            words.clear();
            pre.split(&text[range.clone()], &mut words);
            for w in &words {
                let word = &text.as_bytes()[range.start + w.start..range.start + w.end];
                if let Some(&(start, end)) = seen.get(word) {
                    out.extend_from_within(start..end);
                    continue;
                }
                let start = out.len();
                match ignore_merges.then(|| {
                    encoded.clear();
                    bytes::encode_into(word, &mut encoded);
                    self.vocab.id_of(&encoded)
                }) {
                    Some(Some(id)) => out.push(id),
                    _ => bpe.encode_word(word, &mut out, &mut scratch),
                }
                if word.len() > 1 && seen.len() < WORD_CACHE_LIMIT {
                    seen.insert(word, (start, out.len()));
                }
            }
        }
        if opts.add_special && self.add_eos {
            out.extend(self.vocab.eos);
        }
        Ok(out)
    }

    /// Token ids → text: the concatenated bytes of the pieces (special tokens as their
    /// text), invalid UTF-8 replaced by U+FFFD. Lossless for ids that came from `encode`.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            bytes.extend_from_slice(self.token_bytes(id).ok_or(Error::BadToken(id))?);
        }
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// The raw bytes token `id` decodes to (possibly part of a UTF-8 sequence); `None` if
    /// `id` is outside the vocabulary. Unused (padding) tokens decode to nothing.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.vocab.piece(id)
    }

    /// The vocabulary text of token `id` (GPT-2 byte characters for normal tokens).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.text(id)
    }

    /// The id of the token whose vocabulary text is `text` (e.g. `"<|im_end|>"`).
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.id_of(text)
    }

    /// Number of ids (embedding rows may be more, never fewer).
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Beginning-of-sequence token.
    pub fn bos(&self) -> Option<u32> {
        self.vocab.bos
    }

    /// End-of-sequence token.
    pub fn eos(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// Whether `encode` with `add_special` prepends BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether generating `id` ends the turn: EOS, EOT, `<|im_end|>`, `<|endoftext|>`, FIM
    /// pad/repo/separator tokens… (llama.cpp's `llama_vocab_is_eog`).
    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.vocab.is_eog(id)
    }

    /// All end-of-generation ids, sorted.
    pub fn end_of_generation_ids(&self) -> &[u32] {
        self.vocab.eog_ids()
    }

    /// Whether `id` is a control token (BOS, `<|im_start|>`, …).
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.attr(id) & attr::CONTROL != 0
    }

    /// The model's Jinja chat template, if it ships one.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// A streaming decoder over this tokenizer.
    pub fn stream_decoder(&self) -> StreamDecoder<'_> {
        StreamDecoder::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Tokenizer>();
    }
}
