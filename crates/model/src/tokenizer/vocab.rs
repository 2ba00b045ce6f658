//! The token table: texts, attributes, decoded pieces, special ids, end-of-generation set.
//!
//! GGUF stores a token type per id, but llama.cpp also infers roles from token *texts*
//! (`<|im_end|>` ends a turn, `<reponame>` is a FIM token, …) and promotes such tokens to
//! control tokens, which changes both how text containing them is split and which ids stop
//! generation. This module applies the same rules once, at load, so encoding, decoding and
//! `is_end_of_generation` all agree with llama.cpp.

use std::collections::HashMap;

use super::bytes;

/// Token attribute bits (llama.cpp's `llama_token_attr`).
pub(crate) mod attr {
    /// Undefined type.
    pub(crate) const UNDEFINED: u8 = 0x01;
    /// Unknown token.
    pub(crate) const UNKNOWN: u8 = 0x02;
    /// Unused.
    pub(crate) const UNUSED: u8 = 0x04;
    /// Ordinary vocabulary entry.
    pub(crate) const NORMAL: u8 = 0x08;
    /// Control token (BOS, `<|im_start|>`, …).
    pub(crate) const CONTROL: u8 = 0x10;
    /// User-defined token: always split out of text, rendered verbatim.
    pub(crate) const USER_DEFINED: u8 = 0x20;
    /// A `<0xXX>` byte token.
    pub(crate) const BYTE: u8 = 0x40;

    /// Attribute of GGUF `tokenizer.ggml.token_type` value `t`.
    pub(crate) fn from_gguf_type(t: i64) -> u8 {
        match t {
            1 => NORMAL,
            2 => UNKNOWN,
            3 => CONTROL,
            4 => USER_DEFINED,
            5 => UNUSED,
            6 => BYTE,
            _ => UNDEFINED,
        }
    }
}

/// How the text of a normal token maps to bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PieceDecoding {
    /// GPT-2 byte-level characters.
    ByteLevel,
    /// SentencePiece style: `▁` is a space, `<0xXX>` a byte, everything else verbatim.
    Metaspace,
}

/// Special token ids as declared by the model file (before text-based detection).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SpecialIds {
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    pub(crate) eot: Option<u32>,
    pub(crate) eom: Option<u32>,
    pub(crate) fim_pre: Option<u32>,
    pub(crate) fim_suf: Option<u32>,
    pub(crate) fim_mid: Option<u32>,
    pub(crate) fim_pad: Option<u32>,
    pub(crate) fim_rep: Option<u32>,
    pub(crate) fim_sep: Option<u32>,
}

const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];
/// Texts that end generation wherever they appear in a vocabulary.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// The vocabulary with everything derived from it.
#[derive(Debug)]
pub(crate) struct Vocab {
    texts: Vec<String>,
    attrs: Vec<u8>,
    /// Decoded bytes of all pieces, concatenated; `piece_offs[i]..piece_offs[i+1]` is token i.
    piece_buf: Vec<u8>,
    piece_offs: Vec<usize>,
    text_to_id: HashMap<String, u32>,
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    /// End-of-generation ids, sorted.
    eog: Vec<u32>,
    /// Control, user-defined and unknown tokens, longest text first (ties by id).
    specials: Vec<u32>,
}

impl Vocab {
    /// Builds the table. `types` holds llama.cpp attribute bits per id (missing: normal).
    pub(crate) fn new(
        mut texts: Vec<String>,
        mut attrs: Vec<u8>,
        ids: SpecialIds,
        decoding: PieceDecoding,
    ) -> Self {
        let n = texts.len();
        attrs.resize(n, attr::NORMAL);
        let mut text_to_id = HashMap::with_capacity(n);
        for (i, t) in texts.iter_mut().enumerate() {
            if t.is_empty() {
                *t = format!("[EMPTY_{i}]");
            }
            text_to_id.insert(t.clone(), i as u32);
        }
        let mut v = Self {
            texts,
            attrs,
            piece_buf: Vec::new(),
            piece_offs: Vec::new(),
            text_to_id,
            bos: ids.bos,
            eos: ids.eos,
            eog: Vec::new(),
            specials: Vec::new(),
        };
        v.detect_roles(ids);
        v.build_pieces(decoding);
        let mut specials: Vec<u32> = (0..n as u32)
            .filter(|&i| {
                v.attrs[i as usize] & (attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN) != 0
            })
            .collect();
        specials.sort_by_key(|&i| std::cmp::Reverse(v.texts[i as usize].len()));
        v.specials = specials;
        v
    }

    /// The lowest id whose text is one of `names`.
    fn find_text(&self, names: &[&str]) -> Option<u32> {
        names
            .iter()
            .filter_map(|t| self.text_to_id.get(*t).copied())
            .min()
    }

    fn force_control(&mut self, id: u32) {
        if let Some(a) = self.attrs.get_mut(id as usize) {
            *a |= attr::CONTROL;
        }
    }

    /// Text-based role detection and the end-of-generation set, as llama.cpp does it.
    fn detect_roles(&mut self, ids: SpecialIds) {
        let mut detect = |cur: Option<u32>, names: &[&str]| {
            cur.or_else(|| {
                let id = self.find_text(names)?;
                self.force_control(id);
                Some(id)
            })
        };
        let eot = detect(ids.eot, EOT_TEXTS);
        let eom = detect(ids.eom, EOM_TEXTS);
        detect(ids.fim_pre, FIM_PRE_TEXTS);
        detect(ids.fim_suf, FIM_SUF_TEXTS);
        detect(ids.fim_mid, FIM_MID_TEXTS);
        let fim_pad = detect(ids.fim_pad, FIM_PAD_TEXTS);
        let fim_rep = detect(ids.fim_rep, FIM_REP_TEXTS);
        let fim_sep = detect(ids.fim_sep, FIM_SEP_TEXTS);

        let mut eog: Vec<u32> = [fim_pad, fim_rep, fim_sep].into_iter().flatten().collect();
        for t in EOG_TEXTS {
            if let Some(&id) = self.text_to_id.get(*t) {
                eog.push(id);
                self.force_control(id);
            }
        }
        eog.extend([self.eos, eot, eom].into_iter().flatten());
        eog.retain(|&id| (id as usize) < self.texts.len());
        eog.sort_unstable();
        eog.dedup();

        // o200k_harmony / solar-open: `<|end|>` ends a message, not the generation.
        let has = |eog: &[u32], t: &str| eog.iter().any(|&i| self.texts[i as usize] == t);
        let end = eog
            .iter()
            .copied()
            .find(|&i| self.texts[i as usize] == "<|end|>");
        if let Some(end) = end {
            let call = has(&eog, "<|call|>") || has(&eog, "<|calls|>");
            if call && (has(&eog, "<|return|>") || has(&eog, "<|flush|>")) {
                eog.retain(|&i| i != end);
                self.attrs[end as usize] = attr::USER_DEFINED;
            }
        }
        // gemma4 / plamo: `</s>` is an ordinary token there.
        let s = eog
            .iter()
            .copied()
            .find(|&i| self.texts[i as usize] == "</s>");
        if let Some(s) = s {
            if has(&eog, "<|tool_response>") || has(&eog, "<|plamo:eos|>") {
                eog.retain(|&i| i != s);
                self.attrs[s as usize] = attr::NORMAL;
            }
        }
        self.eog = eog;
    }

    /// Decodes every token's text into the bytes it produces.
    fn build_pieces(&mut self, decoding: PieceDecoding) {
        let mut buf = Vec::new();
        let mut offs = Vec::with_capacity(self.texts.len() + 1);
        offs.push(0);
        for (text, &a) in self.texts.iter().zip(&self.attrs) {
            if a & (attr::CONTROL | attr::UNKNOWN | attr::USER_DEFINED) != 0 {
                buf.extend_from_slice(text.as_bytes());
            } else if a & attr::NORMAL != 0 {
                match decoding {
                    PieceDecoding::ByteLevel => buf.extend(bytes::decode_token_text(text)),
                    PieceDecoding::Metaspace => match byte_token(text) {
                        Some(b) => buf.push(b),
                        None => buf.extend_from_slice(text.replace('▁', " ").as_bytes()),
                    },
                }
            } else if a & attr::BYTE != 0 {
                buf.extend(byte_token(text));
            }
            offs.push(buf.len());
        }
        self.piece_buf = buf;
        self.piece_offs = offs;
    }

    /// Number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }

    /// The bytes token `id` decodes to (empty for unused tokens, as in llama.cpp).
    pub(crate) fn piece(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        let (a, b) = (*self.piece_offs.get(i)?, *self.piece_offs.get(i + 1)?);
        self.piece_buf.get(a..b)
    }

    /// The stored text of token `id`.
    pub(crate) fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(String::as_str)
    }

    /// The attribute bits of token `id`.
    pub(crate) fn attr(&self, id: u32) -> u8 {
        self.attrs.get(id as usize).copied().unwrap_or(0)
    }

    /// The id whose stored text is exactly `text`.
    pub(crate) fn id_of(&self, text: &str) -> Option<u32> {
        self.text_to_id.get(text).copied()
    }

    /// Whether `id` ends generation.
    pub(crate) fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// The end-of-generation ids.
    pub(crate) fn eog_ids(&self) -> &[u32] {
        &self.eog
    }

    /// Tokens split out of raw text before BPE, longest first: all control, user-defined and
    /// unknown tokens when `parse_special`, else only the user-defined ones.
    pub(crate) fn split_tokens(&self, parse_special: bool) -> impl Iterator<Item = (u32, &str)> {
        self.specials.iter().filter_map(move |&id| {
            let a = self.attrs[id as usize];
            let keep = parse_special || a & (attr::CONTROL | attr::UNKNOWN) == 0;
            keep.then(|| (id, self.texts[id as usize].as_str()))
        })
    }
}

/// The byte of a `<0xXX>` token text.
fn byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}
