//! Next-token divergence of each KV mode from dense on real text: prefill a context once into
//! the exact [`DenseKv`], then decode the text's next `steps` tokens teacher-forced (the true
//! token is fed back, so every mode sees the same inputs) through dense and through each mode
//! forked from the same prefill ([`KvMode::fork`]). Per step we compare next-token
//! distributions: KL(dense ‖ mode), top-1 agreement, and the NLL of the true next token.
//!
//! This is what a user of a sparse mode feels: not the attention error of one head but how far
//! the model's predictions move. It is cheap (one prefill, `steps` decode steps per mode), so
//! budgets can be swept with it.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use vkv_engine::KvMode;
use vkv_kv::{DenseKv, KvBackend, KvDtype, Phase};
use vkv_model::{Logits, Transformer};

use crate::{Error, Result};

/// One mode's divergence from dense over the decoded steps.
#[derive(Debug, Clone, Serialize)]
pub struct KlRow {
    /// KV mode.
    pub kv: String,
    /// Context (prefilled tokens).
    pub context: usize,
    /// Steps compared.
    pub steps: usize,
    /// Mean KL(dense ‖ mode) in nats.
    pub kl_mean: f64,
    /// 95th percentile of the per-step KL.
    pub kl_p95: f64,
    /// Largest per-step KL.
    pub kl_max: f64,
    /// Fraction of steps whose argmax equals dense's.
    pub top1_agree: f64,
    /// Mean NLL of the true next token under the mode (dense: its own).
    pub nll: f64,
    /// Seconds to fork the prefill into the mode and build its index.
    pub index_secs: f64,
    /// Seconds of the teacher-forced decode.
    pub decode_secs: f64,
}

/// log softmax in f64.
fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits
        .iter()
        .map(|x| (*x as f64 - m).exp())
        .sum::<f64>()
        .ln()
        + m;
    logits.iter().map(|x| *x as f64 - z).collect()
}

/// KL(p ‖ q) from log-probabilities.
pub fn kl_div(lp: &[f64], lq: &[f64]) -> f64 {
    lp.iter()
        .zip(lq)
        .map(|(p, q)| {
            if p.is_finite() {
                p.exp() * (p - q)
            } else {
                0.0
            }
        })
        .sum::<f64>()
        .max(0.0)
}

fn argmax(x: &[f64]) -> usize {
    x.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &v)| if v > b.1 { (i, v) } else { b },
        )
        .0
}

/// Teacher-forced decode of `next` on `kv`: log-probabilities after each fed token.
fn decode(model: &Transformer, kv: &mut dyn KvBackend, next: &[u32]) -> Result<Vec<Vec<f64>>> {
    next.iter()
        .map(|&t| {
            Ok(log_softmax(
                &model
                    .forward(&[t], kv, Phase::Decode, Logits::Last)?
                    .into_vec()
                    .map_err(vkv_model::Error::from)?,
            ))
        })
        .collect()
}

/// Where the prefill comes from and goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SavedPrefill<'a> {
    /// A saved context file (`DenseKv::save`): loaded if it exists, else written after the
    /// prefill. The caller keys its name by model, text and context length.
    pub path: Option<&'a Path>,
}

/// Prefill `tokens[..context]` (or load it, see [`SavedPrefill`]), then decode
/// `tokens[context..context + steps]` through dense and each of `modes`; `on_mode` is told as
/// each finishes. The predictions compared are those made after each decoded token (for
/// positions `context + 1 ..= context + steps`).
#[allow(clippy::too_many_arguments)]
pub fn divergence(
    model: &Transformer,
    tokens: &[u32],
    context: usize,
    steps: usize,
    modes: &[KvMode],
    saved: SavedPrefill<'_>,
    on_prefill: &mut dyn FnMut(usize),
    on_mode: &mut dyn FnMut(&KlRow),
) -> Result<Vec<KlRow>> {
    if steps == 0 || context == 0 {
        return Err(Error::Config(
            "--context and --steps must be positive".into(),
        ));
    }
    if tokens.len() < context + steps + 1 {
        return Err(Error::Config(format!(
            "the text has {} tokens; --context {context} plus --steps {steps} needs {}",
            tokens.len(),
            context + steps + 1
        )));
    }
    let cap = context + steps;
    if cap > model.config.context_length {
        return Err(Error::Config(format!(
            "--context {context} plus --steps {steps} exceeds the model's context length {}",
            model.config.context_length
        )));
    }
    let mut base = match saved.path.filter(|p| p.is_file()) {
        Some(p) => {
            let b = DenseKv::load(p, Some(cap))?;
            if b.n_tokens() != context
                || b.attn_config() != model.config.attn(cap)
                || b.dtype() != KvDtype::F16
            {
                return Err(Error::Config(format!(
                    "{} holds another prefill ({} tokens); delete it to prefill again",
                    p.display(),
                    b.n_tokens()
                )));
            }
            on_prefill(context);
            b
        }
        None => {
            let mut b = DenseKv::new(model.config.attn(cap), KvDtype::F16)?;
            for c in tokens[..context].chunks(vkv_engine::PREFILL_CHUNK) {
                model.forward(c, &mut b, Phase::Prefill, Logits::None)?;
                on_prefill(c.len());
            }
            if let Some(p) = saved.path {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                b.save(p)?;
            }
            b
        }
    };
    let next = &tokens[context..context + steps];
    let truth = &tokens[context + 1..context + steps + 1];
    let t = Instant::now();
    let reference = decode(model, &mut base, next)?;
    let ref_secs = t.elapsed().as_secs_f64();
    base.truncate(context)?;
    let nll = |lps: &[Vec<f64>]| {
        lps.iter()
            .zip(truth)
            .map(|(lp, &y)| -lp.get(y as usize).copied().unwrap_or(f64::NEG_INFINITY))
            .sum::<f64>()
            / steps as f64
    };
    let dense = KlRow {
        kv: "dense".into(),
        context,
        steps,
        kl_mean: 0.0,
        kl_p95: 0.0,
        kl_max: 0.0,
        top1_agree: 1.0,
        nll: nll(&reference),
        index_secs: 0.0,
        decode_secs: ref_secs,
    };
    on_mode(&dense);
    let mut rows = vec![dense];
    for m in modes {
        if *m == KvMode::default() {
            continue;
        }
        let t = Instant::now();
        let mut kv = m.fork(&model.config, cap, &base)?;
        kv.finish_prefill()?;
        let index_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let got = decode(model, kv.as_mut(), next)?;
        let decode_secs = t.elapsed().as_secs_f64();
        let mut kls: Vec<f64> = reference
            .iter()
            .zip(&got)
            .map(|(p, q)| kl_div(p, q))
            .collect();
        let agree = reference
            .iter()
            .zip(&got)
            .filter(|(p, q)| argmax(p) == argmax(q))
            .count() as f64
            / steps as f64;
        let kl_mean = kls.iter().sum::<f64>() / steps as f64;
        kls.sort_by(f64::total_cmp);
        let row = KlRow {
            kv: m.to_string(),
            context,
            steps,
            kl_mean,
            kl_p95: kls[((steps as f64 * 0.95).ceil() as usize).clamp(1, steps) - 1],
            kl_max: kls[steps - 1],
            top1_agree: agree,
            nll: nll(&got),
            index_secs,
            decode_secs,
        };
        on_mode(&row);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_basics() {
        let p = log_softmax(&[1.0, 2.0, 3.0]);
        assert!(kl_div(&p, &p).abs() < 1e-12);
        let q = log_softmax(&[3.0, 2.0, 1.0]);
        // KL of softmax(1,2,3) from its reverse: Σ p (lp − lq) = (p3 − p1)·2 = 2·(0.6652 − 0.0900).
        assert!((kl_div(&p, &q) - 1.1504).abs() < 1e-3, "{}", kl_div(&p, &q));
        assert!((p.iter().map(|x| x.exp()).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(argmax(&p), 2);
    }
}
