//! HF checkpoint directories: `config.json` + `*.safetensors` (+ `tokenizer.json`).
//!
//! safetensors layout: `u64 header_len`, a JSON header `{name: {dtype, shape, data_offsets}}`,
//! then the data. We map each file and expose tensors under their GGUF names
//! ([`gguf_to_hf`]) through [`WeightSource`], so the transformer code is shared.
//!
//! RoPE: llama.cpp's converter permutes the Q/K rows of llama checkpoints so that adjacent
//! pairs rotate; HF checkpoints are unpermuted and rotate half-split pairs. So every model
//! loaded from safetensors uses [`RopeStyle::Neox`], whatever its architecture.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use serde::Deserialize;
use vkv_kernels::ops::RopeStyle;
use vkv_kernels::{Bytes, GgmlType, QMatrix};

use crate::config::{Arch, ModelConfig};
use crate::weights::WeightSource;
use crate::{Error, Result};

#[derive(Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

struct Located {
    file: usize,
    ty: GgmlType,
    shape: Vec<usize>,
    start: usize,
    len: usize,
}

/// An HF checkpoint directory.
pub struct HfDir {
    dir: PathBuf,
    maps: Vec<Arc<Mmap>>,
    tensors: BTreeMap<String, Located>,
    tied: bool,
}

impl std::fmt::Debug for HfDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HfDir({}, {} tensors)",
            self.dir.display(),
            self.tensors.len()
        )
    }
}

fn err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Safetensors {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// The HF name of a GGUF tensor name.
pub fn gguf_to_hf(name: &str) -> Option<String> {
    let fixed = match name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_string());
    }
    let rest = name.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (module, suffix) = rest.rsplit_once('.')?;
    let hf = match module {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{suffix}"))
}

impl HfDir {
    /// True when `dir` looks like an HF checkpoint.
    pub fn is_hf_dir(dir: &Path) -> bool {
        dir.join("config.json").is_file()
    }

    /// Open every `*.safetensors` in `dir` and read `config.json`.
    pub fn open(dir: &Path) -> Result<(Self, ModelConfig)> {
        let cfg_path = dir.join("config.json");
        let cfg_text = std::fs::read_to_string(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
        let cfg_json: serde_json::Value =
            serde_json::from_str(&cfg_text).map_err(|e| err(&cfg_path, e.to_string()))?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(err(dir, "no *.safetensors files"));
        }
        let mut maps = Vec::new();
        let mut tensors = BTreeMap::new();
        for (fi, path) in files.iter().enumerate() {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            // SAFETY: read-only map of a file we do not modify.
            let m = unsafe { Mmap::map(&f) }.map_err(|e| Error::io(path, e))?;
            for (name, loc) in parse_header(path, &m, fi)? {
                tensors.insert(name, loc);
            }
            maps.push(Arc::new(m));
        }
        let config = config_from_json(&cfg_path, &cfg_json, &tensors)?;
        let tied = cfg_json
            .get("tie_word_embeddings")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
            || !tensors.contains_key("lm_head.weight");
        Ok((
            Self {
                dir: dir.to_path_buf(),
                maps,
                tensors,
                tied,
            },
            config,
        ))
    }
}

fn parse_header(path: &Path, m: &[u8], file: usize) -> Result<Vec<(String, Located)>> {
    if m.len() < 8 {
        return Err(err(
            path,
            "file too short for a safetensors header: truncated",
        ));
    }
    let mut n8 = [0u8; 8];
    n8.copy_from_slice(&m[..8]);
    let hlen = u64::from_le_bytes(n8) as usize;
    let data_start = 8usize
        .checked_add(hlen)
        .filter(|e| *e <= m.len())
        .ok_or_else(|| err(path, "header length past end of file: truncated or corrupt"))?;
    let header: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&m[8..data_start])
        .map_err(|e| err(path, format!("bad header JSON: {e}")))?;
    let mut out = Vec::new();
    for (name, v) in header {
        if name == "__metadata__" {
            continue;
        }
        let e: Entry =
            serde_json::from_value(v).map_err(|e| err(path, format!("tensor {name}: {e}")))?;
        let ty = match e.dtype.as_str() {
            "F32" => GgmlType::F32,
            "F16" => GgmlType::F16,
            "BF16" => GgmlType::BF16,
            other => {
                return Err(err(
                    path,
                    format!("tensor {name}: unsupported dtype {other} (supported: F32, F16, BF16)"),
                ))
            }
        };
        let n: usize = e.shape.iter().product();
        let [a, b] = e.data_offsets;
        if b < a || b - a != n * ty.type_size() || data_start + b > m.len() {
            return Err(err(path, format!("tensor {name}: data offsets {a}..{b} do not match shape {:?} or exceed the file: truncated or corrupt", e.shape)));
        }
        out.push((
            name,
            Located {
                file,
                ty,
                shape: e.shape,
                start: data_start + a,
                len: b - a,
            },
        ));
    }
    Ok(out)
}

fn config_from_json(
    path: &Path,
    j: &serde_json::Value,
    tensors: &BTreeMap<String, Located>,
) -> Result<ModelConfig> {
    let u = |k: &str| j.get(k).and_then(|v| v.as_u64()).map(|v| v as usize);
    let need = |k: &str| u(k).ok_or_else(|| err(path, format!("missing integer {k}")));
    let arch = Arch::parse(j.get("model_type").and_then(|v| v.as_str()).unwrap_or(""))?;
    let hidden = need("hidden_size")?;
    let n_heads = need("num_attention_heads")?;
    let vocab = tensors
        .get("model.embed_tokens.weight")
        .and_then(|t| t.shape.first().copied())
        .or_else(|| u("vocab_size"))
        .unwrap_or(0);
    let cfg = ModelConfig {
        arch,
        n_layers: need("num_hidden_layers")?,
        hidden,
        ffn: need("intermediate_size")?,
        n_heads,
        n_kv_heads: u("num_key_value_heads").unwrap_or(n_heads),
        head_dim: u("head_dim").unwrap_or(hidden.checked_div(n_heads).unwrap_or(0)),
        vocab,
        context_length: u("max_position_embeddings").unwrap_or(4096),
        rms_eps: j
            .get("rms_norm_eps")
            .and_then(|v| v.as_f64())
            .unwrap_or(1e-6) as f32,
        rope_theta: j
            .get("rope_theta")
            .and_then(|v| v.as_f64())
            .unwrap_or(10000.0) as f32,
        rope_style: RopeStyle::Neox,
    };
    cfg.validate()?;
    Ok(cfg)
}

impl WeightSource for HfDir {
    fn matrix(&self, name: &str) -> Result<QMatrix> {
        let name = if name == "output.weight" && self.tied {
            "token_embd.weight"
        } else {
            name
        };
        let hf =
            gguf_to_hf(name).ok_or_else(|| err(&self.dir, format!("no HF name for {name}")))?;
        let t = self
            .tensors
            .get(&hf)
            .ok_or_else(|| err(&self.dir, format!("missing tensor {hf}")))?;
        let (rows, cols) = match t.shape.as_slice() {
            [n] => (1, *n),
            [r, c] => (*r, *c),
            s => {
                return Err(err(
                    &self.dir,
                    format!("tensor {hf} has shape {s:?}, expected a matrix"),
                ))
            }
        };
        let bytes = Bytes::new(self.maps[t.file].clone(), t.start, t.len)?;
        Ok(QMatrix::new(t.ty, rows, cols, bytes)?)
    }

    fn has(&self, name: &str) -> bool {
        if name == "output.weight" {
            return !self.tied;
        }
        gguf_to_hf(name).is_some_and(|h| self.tensors.contains_key(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map() {
        assert_eq!(
            gguf_to_hf("blk.3.attn_q.bias").as_deref(),
            Some("model.layers.3.self_attn.q_proj.bias")
        );
        assert_eq!(
            gguf_to_hf("blk.11.ffn_down.weight").as_deref(),
            Some("model.layers.11.mlp.down_proj.weight")
        );
        assert_eq!(
            gguf_to_hf("output_norm.weight").as_deref(),
            Some("model.norm.weight")
        );
        assert_eq!(gguf_to_hf("blk.0.bogus.weight"), None);
    }
}
