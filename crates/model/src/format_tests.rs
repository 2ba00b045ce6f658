//! Cross-format test: one tiny random llama, written as GGUF (Q/K rows permuted as llama.cpp's
//! converter does, interleaved RoPE) and as an HF safetensors directory (unpermuted, NEOX
//! RoPE), must give the same logits. This pins down both loaders and both RoPE conventions.

use std::path::Path;

use crate::gguf::tests::write_gguf;
use crate::gguf::Value;
use crate::loader::{load_transformer, ModelSource};
use crate::{Logits, Result};

const VOCAB: usize = 64;
const HIDDEN: usize = 32;
const FFN: usize = 48;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const D: usize = 8;
const LAYERS: usize = 2;

fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
        })
        .collect()
}

/// llama.cpp's `permute`: within each head, row 2i ← row i, row 2i+1 ← row d/2 + i.
fn permute(w: &[f32], heads: usize, cols: usize) -> Vec<f32> {
    let d = w.len() / cols / heads;
    let mut out = vec![0.0; w.len()];
    for h in 0..heads {
        for i in 0..d / 2 {
            for (j, src) in [i, d / 2 + i].into_iter().enumerate() {
                let dst = h * d + 2 * i + j;
                out[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&w[(h * d + src) * cols..(h * d + src + 1) * cols]);
            }
        }
    }
    out
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// (gguf name, hf name, rows, cols, data)
fn tensors() -> Vec<(String, String, usize, usize, Vec<f32>)> {
    let mut t = vec![
        (
            "token_embd.weight".to_string(),
            "model.embed_tokens.weight".to_string(),
            VOCAB,
            HIDDEN,
            rnd(VOCAB * HIDDEN, 1),
        ),
        (
            "output_norm.weight".into(),
            "model.norm.weight".into(),
            1,
            HIDDEN,
            rnd(HIDDEN, 2).iter().map(|x| 1.0 + x).collect(),
        ),
        (
            "output.weight".into(),
            "lm_head.weight".into(),
            VOCAB,
            HIDDEN,
            rnd(VOCAB * HIDDEN, 3),
        ),
    ];
    for l in 0..LAYERS {
        let s = 100 * (l as u64 + 1);
        let mk = |g: &str, hf: &str, r: usize, c: usize, seed: u64| {
            (
                format!("blk.{l}.{g}"),
                format!("model.layers.{l}.{hf}"),
                r,
                c,
                rnd(r * c, seed),
            )
        };
        t.push(mk(
            "attn_norm.weight",
            "input_layernorm.weight",
            1,
            HIDDEN,
            s,
        ));
        t.push(mk(
            "attn_q.weight",
            "self_attn.q_proj.weight",
            HEADS * D,
            HIDDEN,
            s + 1,
        ));
        t.push(mk(
            "attn_k.weight",
            "self_attn.k_proj.weight",
            KV_HEADS * D,
            HIDDEN,
            s + 2,
        ));
        t.push(mk(
            "attn_v.weight",
            "self_attn.v_proj.weight",
            KV_HEADS * D,
            HIDDEN,
            s + 3,
        ));
        t.push(mk(
            "attn_output.weight",
            "self_attn.o_proj.weight",
            HIDDEN,
            HEADS * D,
            s + 4,
        ));
        t.push(mk(
            "ffn_norm.weight",
            "post_attention_layernorm.weight",
            1,
            HIDDEN,
            s + 5,
        ));
        t.push(mk(
            "ffn_gate.weight",
            "mlp.gate_proj.weight",
            FFN,
            HIDDEN,
            s + 6,
        ));
        t.push(mk(
            "ffn_up.weight",
            "mlp.up_proj.weight",
            FFN,
            HIDDEN,
            s + 7,
        ));
        t.push(mk(
            "ffn_down.weight",
            "mlp.down_proj.weight",
            HIDDEN,
            FFN,
            s + 8,
        ));
    }
    t
}

fn write_both(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("hf"))?;
    let ts = tensors();
    let meta = vec![
        ("general.architecture", Value::Str("llama".into())),
        ("llama.block_count", Value::U64(LAYERS as u64)),
        ("llama.context_length", Value::U64(128)),
        ("llama.embedding_length", Value::U64(HIDDEN as u64)),
        ("llama.feed_forward_length", Value::U64(FFN as u64)),
        ("llama.attention.head_count", Value::U64(HEADS as u64)),
        ("llama.attention.head_count_kv", Value::U64(KV_HEADS as u64)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F64(1e-5)),
        ("llama.rope.freq_base", Value::F64(10000.0)),
    ];
    let gg: Vec<(&str, Vec<u64>, u32, Vec<u8>)> = ts
        .iter()
        .map(|(g, _, r, c, w)| {
            let w = if g.ends_with("attn_q.weight") {
                permute(w, HEADS, *c)
            } else if g.ends_with("attn_k.weight") {
                permute(w, KV_HEADS, *c)
            } else {
                w.clone()
            };
            let dims = if *r == 1 {
                vec![*c as u64]
            } else {
                vec![*c as u64, *r as u64]
            };
            (g.as_str(), dims, 0u32, bytes(&w))
        })
        .collect();
    write_gguf(&dir.join("tiny.gguf"), &meta, &gg)?;
    // safetensors: header JSON + data.
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (_, hf, r, c, w) in &ts {
        let shape = if *r == 1 {
            serde_json::json!([c])
        } else {
            serde_json::json!([r, c])
        };
        let start = data.len();
        data.extend_from_slice(&bytes(w));
        header.insert(hf.clone(), serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}));
    }
    let h = serde_json::to_vec(&serde_json::Value::Object(header))?;
    let mut file = (h.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&h);
    file.extend_from_slice(&data);
    std::fs::write(dir.join("hf/model.safetensors"), file)?;
    let cfg = serde_json::json!({
        "model_type": "llama", "num_hidden_layers": LAYERS, "hidden_size": HIDDEN, "intermediate_size": FFN,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "vocab_size": VOCAB,
        "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false
    });
    std::fs::write(dir.join("hf/config.json"), serde_json::to_vec(&cfg)?)
}

#[test]
fn gguf_and_safetensors_agree() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("vkv-format-test-{}", std::process::id()));
    write_both(&dir).map_err(|e| crate::Error::io(&dir, e))?;
    let a = load_transformer(&ModelSource::Gguf(dir.join("tiny.gguf")))?.0;
    let b = load_transformer(&ModelSource::HfDir(dir.join("hf")))?.0;
    let toks: Vec<u32> = (0..40).map(|i| (i * 7 + 3) % VOCAB as u32).collect();
    let mk =
        |m: &crate::Transformer| vkv_kv::DenseKv::new(m.config.attn(128), vkv_kv::KvDtype::F32);
    let (mut ka, mut kb) = (mk(&a)?, mk(&b)?);
    let la = a.forward(&toks, &mut ka, vkv_kv::Phase::Prefill, Logits::All)?;
    let lb = b.forward(&toks, &mut kb, vkv_kv::Phase::Prefill, Logits::All)?;
    let (la, lb) = (la.as_slice()?, lb.as_slice()?);
    let max = la
        .iter()
        .zip(lb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(max < 1e-4, "max |Δlogit| = {max}");
    // And the permutation matters: the GGUF file read as if it were NEOX gives other logits.
    let mut wrong = a.clone();
    wrong.config.rope_style = vkv_kernels::ops::RopeStyle::Neox;
    let mut kw = mk(&wrong)?;
    let lw = wrong.forward(&toks, &mut kw, vkv_kv::Phase::Prefill, Logits::All)?;
    let diff = lw
        .as_slice()?
        .iter()
        .zip(lb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        diff > 1e-2,
        "the RoPE convention must change the result ({diff})"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
