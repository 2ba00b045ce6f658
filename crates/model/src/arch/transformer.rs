//! The pre-norm decoder-only transformer (llama, qwen2).
//!
//! ```text
//! x = embed(tokens)
//! for each block:  h = rmsnorm(x);  q,k,v = h·Wq,Wk,Wv (+b);  rope(q,k)
//!                  x += kv.attend(layer, q,k,v) · Wo            <- the one attention call site
//!                  h = rmsnorm(x);  x += (silu(h·Wg) ⊙ h·Wu) · Wd
//! logits = rmsnorm(x) · Woutᵀ
//! ```
//! The model holds no cache state: positions come from `kv.n_tokens()`.

use vkv_kernels::ops::{self, RopeCache};
use vkv_kernels::Tensor;
use vkv_kv::{KvBackend, Phase, Qkv};

use crate::config::ModelConfig;
use crate::weights::{Linear, Weights};
use crate::{Error, Result};

/// Which rows of logits a forward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// None (prefill chunks before the last).
    None,
    /// The last token's only: `[1, vocab]`.
    Last,
    /// Every token's: `[n, vocab]` (perplexity, teacher forcing).
    All,
}

/// A loaded transformer.
#[derive(Debug, Clone)]
pub struct Transformer {
    /// Hyperparameters.
    pub config: ModelConfig,
    /// Weights.
    pub weights: Weights,
}

impl Transformer {
    /// Run `tokens` (appended after the `kv.n_tokens()` tokens already stored).
    pub fn forward(
        &self,
        tokens: &[u32],
        kv: &mut dyn KvBackend,
        phase: Phase,
        want: Logits,
    ) -> Result<Tensor> {
        let x = self.forward_hidden(tokens, kv, phase)?;
        match want {
            Logits::None => Ok(Tensor::zeros(&[0, self.config.vocab])),
            Logits::Last => self.logits(x.row(tokens.len() - 1)?),
            Logits::All => self.logits(x.as_slice()?),
        }
    }

    /// Logits `[m, vocab]` of final hidden states `rows: [m, hidden]` (final norm applied here).
    pub fn logits(&self, rows: &[f32]) -> Result<Tensor> {
        let c = &self.config;
        let m = rows.len() / c.hidden;
        let mut normed = vec![0.0; rows.len()];
        ops::rms_norm(rows, &self.weights.norm, c.rms_eps, &mut normed)?;
        Ok(self
            .weights
            .output
            .forward(&Tensor::from_vec(&[m, c.hidden], normed)?)?)
    }

    /// Run `tokens` and return the last layer's hidden states `[n, hidden]` (before the final
    /// norm): what [`Self::logits`] projects. Lets callers project only the rows they need.
    ///
    /// The pass runs on a rayon worker (`rayon::scope` from outside the pool moves it there;
    /// inside a worker it runs inline), so its ~5 parallel regions per layer start and join
    /// with spin latches instead of the caller sleeping on a futex for each (~10% of decode).
    pub fn forward_hidden(
        &self,
        tokens: &[u32],
        kv: &mut dyn KvBackend,
        phase: Phase,
    ) -> Result<Tensor> {
        rayon::scope(|_| self.forward_hidden_inner(tokens, kv, phase))
    }

    fn forward_hidden_inner(
        &self,
        tokens: &[u32],
        kv: &mut dyn KvBackend,
        phase: Phase,
    ) -> Result<Tensor> {
        let c = &self.config;
        let n = tokens.len();
        if n == 0 {
            return Err(Error::Config("forward called with no tokens".into()));
        }
        let pos0 = kv.n_tokens();
        if pos0 + n > c.context_length {
            return Err(Error::ContextLength {
                tokens: pos0 + n,
                max: c.context_length,
            });
        }
        let (h, d) = (c.hidden, c.head_dim);
        let mut x = Tensor::zeros(&[n, h]);
        {
            let xs = x.as_mut_slice()?;
            for (row, &t) in xs.chunks_exact_mut(h).zip(tokens) {
                if t as usize >= c.vocab {
                    return Err(Error::BadToken(t));
                }
                self.weights.embed.dequantize_row(t as usize, row)?;
            }
        }
        let positions: Vec<usize> = (pos0..pos0 + n).collect();
        let rope = RopeCache::new(c.rope_style, d, c.rope_theta, &positions)?;
        let mut hbuf = Tensor::zeros(&[n, h]);
        for (li, l) in self.weights.layers.iter().enumerate() {
            ops::rms_norm(x.as_slice()?, &l.attn_norm, c.rms_eps, hbuf.as_mut_slice()?)?;
            let [mut q, mut k, v]: [Tensor; 3] = Linear::forward_many(&[&l.q, &l.k, &l.v], &hbuf)?
                .try_into()
                .map_err(|_| Error::Config("q/k/v projection count".into()))?;
            rope.apply(q.as_mut_slice()?, c.n_heads)?;
            rope.apply(k.as_mut_slice()?, c.n_kv_heads)?;
            let q = q.reshape(&[n, c.n_heads, d])?;
            let k = k.reshape(&[n, c.n_kv_heads, d])?;
            let v = v.reshape(&[n, c.n_kv_heads, d])?;
            let attn = kv.attend(
                li,
                Qkv {
                    q: &q,
                    k: &k,
                    v: &v,
                },
                phase,
            )?;
            let attn = attn.reshape(&[n, c.n_heads * d])?;
            let o = l.o.forward(&attn)?;
            ops::add_assign(x.as_mut_slice()?, o.as_slice()?)?;

            ops::rms_norm(x.as_slice()?, &l.ffn_norm, c.rms_eps, hbuf.as_mut_slice()?)?;
            let [mut g, u]: [Tensor; 2] = Linear::forward_many(&[&l.gate, &l.up], &hbuf)?
                .try_into()
                .map_err(|_| Error::Config("gate/up count".into()))?;
            ops::silu_mul(g.as_mut_slice()?, u.as_slice()?)?;
            let dn = l.down.forward(&g)?;
            ops::add_assign(x.as_mut_slice()?, dn.as_slice()?)?;
        }
        Ok(x)
    }
}
