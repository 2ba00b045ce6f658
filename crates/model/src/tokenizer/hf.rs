//! Loading a Hugging Face `tokenizer.json` (models that come as HF directories).
//!
//! Encoding is delegated to the `tokenizers` crate, which implements the full HF pipeline
//! (normalizer, pre-tokenizer, model, post-processor) for any tokenizer.json. Decoding,
//! streaming and end-of-generation use our own [`Vocab`] built from the same file, so both
//! sources share one implementation of everything after encoding.
//!
//! `parse_special == false` maps to `tokenizers`' "encode special tokens" switch: special
//! added tokens are then encoded as plain text while non-special added tokens are still
//! split out, the same distinction llama.cpp makes between control and user-defined
//! tokens. Two copies of the tokenizer are kept so the switch needs no locking.
//!
//! BOS/EOS ids and the chat template come from `tokenizer_config.json` (and
//! `chat_template.jinja`) next to tokenizer.json when present.

use std::path::Path;

use serde_json::Value as Json;
use tokenizers::decoders::DecoderWrapper;

use super::vocab::{attr, PieceDecoding, SpecialIds, Vocab};
use crate::{Error, Result};

/// Encoders for both values of `parse_special`.
pub(crate) struct HfBackend {
    parse_special: tokenizers::Tokenizer,
    plain: tokenizers::Tokenizer,
}

impl std::fmt::Debug for HfBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HfBackend")
    }
}

/// What `tokenizer_config.json` adds.
#[derive(Debug, Default)]
pub(crate) struct HfConfig {
    pub(crate) chat_template: Option<String>,
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

impl HfBackend {
    /// Encodes with the HF pipeline; `add_special` runs the post-processor (BOS/EOS).
    pub(crate) fn encode(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<u32>> {
        let t = if parse_special {
            &self.parse_special
        } else {
            &self.plain
        };
        let enc = t.encode_fast(text, add_special).map_err(err)?;
        Ok(enc.get_ids().to_vec())
    }
}

/// Loads `path` (a tokenizer.json) and the config files beside it.
pub(crate) fn load(path: &Path) -> Result<(Vocab, HfBackend, HfConfig)> {
    let parse_special = tokenizers::Tokenizer::from_file(path)
        .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
    let mut plain = parse_special.clone();
    plain.set_encode_special_tokens(true);

    let vocab_map = parse_special.get_vocab(true);
    let added = parse_special.get_added_tokens_decoder();
    let n = vocab_map
        .values()
        .map(|&i| i as usize + 1)
        .max()
        .unwrap_or(0);
    let mut texts = vec![String::new(); n];
    let mut attrs = vec![attr::UNDEFINED; n];
    for (t, &id) in &vocab_map {
        texts[id as usize] = t.clone();
        attrs[id as usize] = match added.get(&id) {
            Some(a) if a.special => attr::CONTROL,
            Some(_) => attr::USER_DEFINED,
            None => attr::NORMAL,
        };
    }
    let decoding = match parse_special.get_decoder() {
        Some(DecoderWrapper::ByteLevel(_)) => PieceDecoding::ByteLevel,
        _ => PieceDecoding::Metaspace,
    };

    let dir = path.parent().unwrap_or(Path::new("."));
    let cfg_path = dir.join("tokenizer_config.json");
    let cfg: Json = match std::fs::read_to_string(&cfg_path) {
        Ok(s) => serde_json::from_str(&s)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", cfg_path.display())))?,
        Err(_) => Json::Null,
    };
    let token_of = |key: &str| -> Option<u32> {
        let v = cfg.get(key)?;
        let s = v
            .as_str()
            .or_else(|| v.get("content").and_then(Json::as_str))?;
        vocab_map.get(s).copied()
    };
    let ids = SpecialIds {
        bos: token_of("bos_token"),
        eos: token_of("eos_token"),
        ..SpecialIds::default()
    };

    let chat_template = match std::fs::read_to_string(dir.join("chat_template.jinja")) {
        Ok(t) => Some(t),
        Err(_) => match cfg.get("chat_template") {
            Some(Json::String(s)) => Some(s.clone()),
            // a list of named templates: take "default"
            Some(Json::Array(list)) => list
                .iter()
                .find(|t| t.get("name").and_then(Json::as_str) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_owned)),
            _ => None,
        },
    };

    let vocab = Vocab::new(texts, attrs, ids, decoding);
    Ok((
        vocab,
        HfBackend {
            parse_special,
            plain,
        },
        HfConfig { chat_template },
    ))
}
