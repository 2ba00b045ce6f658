//! Saved prompt prefills, so that a task run with another KV mode skips the prefill.
//!
//! Every KV mode prefills exactly (sparse modes build their index after the prompt), so the
//! dense cache of a prompt is the starting point of every mode. At 16K tokens its prefill is
//! ~95 s on two cores and the rest of a cell (fork, index, decode) ~10 s; choosing a budget by
//! running new modes over finished prompts is then dominated by prefills already paid for. With
//! `save`, the runner stores each prompt's dense cache here; any later run finding the file
//! loads it instead (~1 s).
//!
//! What is stored is the cache of all prompt tokens but the last (`DenseKv::save`: versioned,
//! checksummed, written under a temporary name and renamed); the last token is then run as a
//! one-token prefill to get the logits that start generation. The file is named by the hash of
//! those tokens, their count and the storage type, and its attention shape and length are
//! checked on load. Cost: 2 × layers × KV heads × head dim × 2 bytes per token (f16):
//! qwen2.5-0.5b 12 KiB, so ~200 MB per 16K prompt.

use std::path::{Path, PathBuf};

use vkv_kv::{AttnConfig, DenseKv, KvBackend, KvDtype};

use crate::runner::prompt_hash;
use crate::{Error, Result};

/// A directory of saved prefills.
#[derive(Debug, Clone)]
pub struct PrefillStore {
    dir: PathBuf,
    save: bool,
}

impl PrefillStore {
    /// Prefills in `dir` are loaded when present; with `save`, missing ones are written.
    pub fn new(dir: &Path, save: bool) -> Self {
        Self {
            dir: dir.to_path_buf(),
            save,
        }
    }

    /// Bytes of one saved token.
    pub fn bytes_per_token(cfg: &AttnConfig, dt: KvDtype) -> usize {
        let elem = match dt {
            KvDtype::F16 => 2,
            KvDtype::F32 => 4,
        };
        2 * cfg.n_layers * cfg.n_kv_heads * cfg.head_dim * elem
    }

    fn path(&self, tokens: &[u32], dt: KvDtype) -> PathBuf {
        let t = match dt {
            KvDtype::F16 => "f16",
            KvDtype::F32 => "f32",
        };
        self.dir
            .join(format!("{}-{}-{t}.kv", prompt_hash(tokens), tokens.len()))
    }

    /// Whether a cache of `tokens` is saved (not checked until [`PrefillStore::load`]).
    pub fn has(&self, tokens: &[u32], dt: KvDtype) -> bool {
        self.path(tokens, dt).is_file()
    }

    /// The saved cache of `tokens`, if there is one, with room for `attn.max_tokens`.
    pub fn load(&self, tokens: &[u32], dt: KvDtype, attn: AttnConfig) -> Result<Option<DenseKv>> {
        let p = self.path(tokens, dt);
        if !p.is_file() {
            return Ok(None);
        }
        let kv = DenseKv::load(&p, Some(attn.max_tokens))?;
        if kv.n_tokens() != tokens.len() || kv.attn_config() != attn || kv.dtype() != dt {
            return Err(Error::Config(format!(
                "{} holds another prefill ({} tokens of another shape or type); delete it to prefill again",
                p.display(),
                kv.n_tokens()
            )));
        }
        Ok(Some(kv))
    }

    /// Save `kv` as the cache of `tokens` if saving is on and it is not saved yet.
    pub fn save(&self, tokens: &[u32], kv: &DenseKv) -> Result<()> {
        let p = self.path(tokens, kv.dtype());
        if !self.save || p.is_file() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        Ok(kv.save(&p)?)
    }
}
