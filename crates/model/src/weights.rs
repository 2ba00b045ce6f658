//! The weights of a llama/qwen2 transformer, by GGUF tensor name.
//!
//! GGUF names are canonical (`blk.N.attn_q.weight` …); other formats map their names onto them
//! by implementing [`WeightSource`].

use vkv_kernels::{QMatrix, Tensor};

use crate::config::ModelConfig;
use crate::{Error, Result};

/// Where weights come from: a GGUF file, or an HF safetensors directory.
pub trait WeightSource {
    /// A matrix `[rows, cols]` by GGUF name.
    fn matrix(&self, name: &str) -> Result<QMatrix>;
    /// Whether a tensor exists.
    fn has(&self, name: &str) -> bool;
    /// A vector as f32.
    fn vector(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.matrix(name)?.dequantize()?)
    }
}

/// `y = x·Wᵀ + b`.
#[derive(Debug, Clone)]
pub struct Linear {
    w: QMatrix,
    b: Option<Vec<f32>>,
}

impl Linear {
    fn load(
        src: &dyn WeightSource,
        name: &str,
        rows: usize,
        cols: usize,
        bias: bool,
    ) -> Result<Self> {
        let w = src.matrix(&format!("{name}.weight"))?;
        if (w.rows(), w.cols()) != (rows, cols) {
            return Err(Error::Config(format!(
                "{name}.weight is {}x{}, expected {rows}x{cols}",
                w.rows(),
                w.cols()
            )));
        }
        let b = if bias && src.has(&format!("{name}.bias")) {
            Some(src.vector(&format!("{name}.bias"))?)
        } else {
            None
        };
        if b.as_ref().is_some_and(|b| b.len() != rows) {
            return Err(Error::Config(format!("{name}.bias has the wrong length")));
        }
        Ok(Self { w, b })
    }

    /// Apply to `x: [m, cols]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = self.w.forward(x)?;
        if let Some(b) = &self.b {
            vkv_kernels::ops::add_bias(y.as_mut_slice()?, b)?;
        }
        Ok(y)
    }

    /// Apply several linears that share their input `x: [m, cols]` (Q/K/V; gate/up) in one
    /// pass: the input is quantized once and all products share one parallel region.
    pub fn forward_many(ls: &[&Linear], x: &Tensor) -> Result<Vec<Tensor>> {
        let (m, _) = x.dims2();
        let mut outs: Vec<Tensor> = ls.iter().map(|l| Tensor::zeros(&[m, l.w.rows()])).collect();
        {
            let mats: Vec<&QMatrix> = ls.iter().map(|l| &l.w).collect();
            let mut ys: Vec<&mut [f32]> = outs
                .iter_mut()
                .map(|t| t.as_mut_slice())
                .collect::<std::result::Result<_, _>>()?;
            QMatrix::matmul_many(&mats, x.as_slice()?, m, &mut ys)?;
        }
        for (l, y) in ls.iter().zip(outs.iter_mut()) {
            if let Some(b) = &l.b {
                vkv_kernels::ops::add_bias(y.as_mut_slice()?, b)?;
            }
        }
        Ok(outs)
    }

    /// The weight matrix.
    pub fn weight(&self) -> &QMatrix {
        &self.w
    }
}

/// One transformer block.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    /// Pre-attention RMSNorm.
    pub attn_norm: Vec<f32>,
    /// Q projection.
    pub q: Linear,
    /// K projection.
    pub k: Linear,
    /// V projection.
    pub v: Linear,
    /// Output projection.
    pub o: Linear,
    /// Pre-FFN RMSNorm.
    pub ffn_norm: Vec<f32>,
    /// SwiGLU gate.
    pub gate: Linear,
    /// SwiGLU up.
    pub up: Linear,
    /// SwiGLU down.
    pub down: Linear,
}

/// All weights.
#[derive(Debug, Clone)]
pub struct Weights {
    /// Token embedding `[vocab, hidden]`.
    pub embed: QMatrix,
    /// Blocks.
    pub layers: Vec<LayerWeights>,
    /// Final RMSNorm.
    pub norm: Vec<f32>,
    /// Output projection `[vocab, hidden]`: `output.weight`, or the embedding when tied.
    pub output: QMatrix,
}

impl Weights {
    /// Load every tensor the config needs, checking shapes.
    pub fn load(src: &dyn WeightSource, c: &ModelConfig) -> Result<Self> {
        let (h, qd, kvd) = (c.hidden, c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim);
        let vec_of = |name: String, n: usize| -> Result<Vec<f32>> {
            let v = src.vector(&name)?;
            if v.len() != n {
                return Err(Error::Config(format!(
                    "{name} has {} elements, expected {n}",
                    v.len()
                )));
            }
            Ok(v)
        };
        // The embedding first: a file whose weights we cannot read fails on the first tensor.
        let embed = src.matrix("token_embd.weight")?;
        let mut layers = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let p = format!("blk.{i}");
            layers.push(LayerWeights {
                attn_norm: vec_of(format!("{p}.attn_norm.weight"), h)?,
                q: Linear::load(src, &format!("{p}.attn_q"), qd, h, true)?,
                k: Linear::load(src, &format!("{p}.attn_k"), kvd, h, true)?,
                v: Linear::load(src, &format!("{p}.attn_v"), kvd, h, true)?,
                o: Linear::load(src, &format!("{p}.attn_output"), h, qd, false)?,
                ffn_norm: vec_of(format!("{p}.ffn_norm.weight"), h)?,
                gate: Linear::load(src, &format!("{p}.ffn_gate"), c.ffn, h, false)?,
                up: Linear::load(src, &format!("{p}.ffn_up"), c.ffn, h, false)?,
                down: Linear::load(src, &format!("{p}.ffn_down"), h, c.ffn, false)?,
            });
        }
        let output = if src.has("output.weight") {
            src.matrix("output.weight")?
        } else {
            embed.clone()
        };
        for (name, m) in [("token_embd", &embed), ("output", &output)] {
            if (m.rows(), m.cols()) != (c.vocab, h) {
                return Err(Error::Config(format!(
                    "{name} is {}x{}, expected {}x{h}",
                    m.rows(),
                    m.cols(),
                    c.vocab
                )));
            }
        }
        Ok(Self {
            embed,
            layers,
            norm: vec_of("output_norm.weight".into(), h)?,
            output,
        })
    }

    /// Bytes of all weight matrices (what a decode step streams).
    pub fn n_bytes(&self) -> usize {
        let l: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down]
                    .iter()
                    .map(|x| x.weight().n_bytes())
                    .sum::<usize>()
            })
            .sum();
        l + self.output.n_bytes()
    }
}

impl WeightSource for crate::gguf::GgufFile {
    fn matrix(&self, name: &str) -> Result<QMatrix> {
        crate::gguf::GgufFile::matrix(self, name)
    }
    fn has(&self, name: &str) -> bool {
        self.tensor_info(name).is_some()
    }
}
