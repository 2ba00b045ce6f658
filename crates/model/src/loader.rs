//! `--model` resolution and loading: a registry name (pulled on first use), a GGUF file, or an
//! HF directory (`config.json` + `*.safetensors` + `tokenizer.json`).

use std::path::{Path, PathBuf};

use crate::arch::Transformer;
use crate::config::ModelConfig;
use crate::fetch::{self, Progress};
use crate::gguf::GgufFile;
use crate::registry;
use crate::safetensors::HfDir;
use crate::tokenizer::Tokenizer;
use crate::weights::Weights;
use crate::{Error, Result};

/// Where a model's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A GGUF file.
    Gguf(PathBuf),
    /// An HF checkpoint directory.
    HfDir(PathBuf),
}

impl ModelSource {
    /// The file or directory.
    pub fn path(&self) -> &Path {
        match self {
            Self::Gguf(p) | Self::HfDir(p) => p,
        }
    }
}

/// Resolve `arg`: an existing path wins; otherwise a registry name, pulled into `home` if it is
/// not there yet (with `progress`).
pub fn resolve(arg: &str, home: &Path, progress: &dyn Progress) -> Result<ModelSource> {
    let p = Path::new(arg);
    if p.is_dir() {
        if HfDir::is_hf_dir(p) {
            return Ok(ModelSource::HfDir(p.to_path_buf()));
        }
        return Err(Error::Safetensors {
            path: p.to_path_buf(),
            msg: "a model directory needs config.json, *.safetensors and tokenizer.json".into(),
        });
    }
    if p.is_file() {
        return Ok(ModelSource::Gguf(p.to_path_buf()));
    }
    let spec = registry::find(arg).ok_or_else(|| Error::UnknownModel {
        name: arg.to_string(),
        known: registry::names(),
    })?;
    Ok(ModelSource::Gguf(fetch::pull(home, &spec, progress)?))
}

/// A model ready to run, with what it was loaded from.
pub struct LoadedModel {
    /// The network.
    pub transformer: Transformer,
    /// Where it came from.
    pub source: ModelSource,
    /// The GGUF file when loaded from one (metadata, tokenizer tables).
    pub gguf: Option<GgufFile>,
    /// A short name for reports (`general.name`, or the file/directory name).
    pub name: String,
    /// The tokenizer (from GGUF metadata, or the directory's `tokenizer.json`).
    pub tokenizer: Tokenizer,
}

/// Load weights, config and tokenizer from `source`.
pub fn load(source: &ModelSource) -> Result<LoadedModel> {
    let (transformer, gguf, name) = load_transformer(source)?;
    let tokenizer = match (&gguf, source) {
        (Some(g), _) => Tokenizer::from_gguf(g)?,
        (None, src) => Tokenizer::from_hf_json(&src.path().join("tokenizer.json"))?,
    };
    check_vocab(&tokenizer, &transformer.config)?;
    Ok(LoadedModel {
        transformer,
        source: source.clone(),
        gguf,
        name,
        tokenizer,
    })
}

/// Load only the network (no tokenizer): benchmarks on random tokens, format tests.
pub fn load_transformer(source: &ModelSource) -> Result<(Transformer, Option<GgufFile>, String)> {
    match source {
        ModelSource::Gguf(path) => {
            let g = GgufFile::open(path)?;
            let config = ModelConfig::from_gguf(&g)?;
            let weights = Weights::load(&g, &config)?;
            let name = g
                .get("general.name")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| file_name(path));
            Ok((Transformer { config, weights }, Some(g), name))
        }
        ModelSource::HfDir(dir) => {
            let (hf, config) = HfDir::open(dir)?;
            let weights = Weights::load(&hf, &config)?;
            Ok((Transformer { config, weights }, None, file_name(dir)))
        }
    }
}

/// A tokenizer whose ids exceed the embedding would index out of the model: refuse it.
fn check_vocab(tok: &Tokenizer, cfg: &ModelConfig) -> Result<()> {
    if tok.vocab_size() > cfg.vocab {
        return Err(Error::Tokenizer(format!("the tokenizer has {} tokens but the model's embedding has {} rows: wrong tokenizer for this model", tok.vocab_size(), cfg.vocab)));
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
