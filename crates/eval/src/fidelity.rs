//! KV fidelity on real activations: run the model over a real text through a [`RecordingKv`]
//! (wrapping the exact f32 `DenseKv`), keep the post-RoPE q/k/v of selected layers for the
//! prefill and a few greedy decode steps, then replay exactly those inputs into each KV mode and
//! compare every decode step's attention output, per layer and query head, with exact f32
//! attention computed here from the recorded keys (`vkv_kernels::attention`).
//!
//! Columns: relative L2 error of the output (mean and max over steps); |ΔLSE| and recall@k of
//! the keys a sparse mode read exactly versus the exact top-k (for modes that expose their LSE
//! and the positions they read: `wave`, through [`WaveKv::last_lse`] and
//! [`WaveKv::exact_positions`]; empty for dense, which reads everything); and the exact softmax
//! mass of the top-k keys (how concentrated attention is: the ceiling of what a top-k retrieval
//! can capture).

use serde::Serialize;
use vkv_engine::{KvMode, Sampler, SamplingParams};
use vkv_kernels::attention::{attend_head_group, GroupQuery};
use vkv_kernels::Tensor;
use vkv_kv::{DenseKv, KvBackend, KvDtype, LayerRecord, Phase, Qkv, RecordingKv, WaveKv};
use vkv_model::{Logits, ModelConfig, Transformer};

use crate::{Error, Result};

/// Recorded activations.
pub struct Recorded {
    /// One record per selected layer.
    pub records: Vec<LayerRecord>,
    /// Prefill tokens (the decode steps follow).
    pub n_prefill: usize,
    /// Query heads, KV heads, head dim.
    pub shape: (usize, usize, usize),
}

/// One (layer, query head) row.
#[derive(Debug, Clone, Serialize)]
pub struct HeadStat {
    /// KV mode.
    pub kv: String,
    /// Model layer.
    pub layer: usize,
    /// Query head.
    pub head: usize,
    /// Mean over decode steps of ‖o − o_exact‖ / ‖o_exact‖.
    pub rel_l2_mean: f64,
    /// Max over decode steps.
    pub rel_l2_max: f64,
    /// Mean |LSE − LSE_exact| (None: the mode does not expose its LSE).
    pub lse_abs_err: Option<f64>,
    /// Recall@k of the keys the mode read (None: the mode does not expose read ids).
    pub recall_at_k: Option<f64>,
    /// Mean exact softmax mass of the top-k keys.
    pub topk_mass: f64,
}

/// Prefill `tokens` through a recording exact cache and decode `steps` greedy tokens.
pub fn record(
    model: &Transformer,
    tokens: &[u32],
    layers: &[usize],
    steps: usize,
) -> Result<Recorded> {
    let c = &model.config;
    if let Some(&l) = layers.iter().find(|&&l| l >= c.n_layers) {
        return Err(Error::Config(format!(
            "layer {l} out of range (the model has {})",
            c.n_layers
        )));
    }
    if tokens.len() + steps + 1 > c.context_length {
        return Err(Error::Config(format!(
            "{} tokens + {steps} steps exceed the model's context length {}",
            tokens.len(),
            c.context_length
        )));
    }
    let inner = Box::new(DenseKv::new(
        c.attn(tokens.len() + steps + 1),
        KvDtype::F32,
    )?);
    let mut kv = RecordingKv::new(inner, layers);
    let mut logits = vkv_engine::prefill(
        model,
        &mut kv,
        tokens,
        vkv_engine::PREFILL_CHUNK,
        &mut |_| {},
    )?;
    let mut s = Sampler::new(SamplingParams {
        temperature: 0.0,
        ..SamplingParams::default()
    });
    for _ in 0..steps {
        let t = s.sample(&logits, &[]);
        logits = model
            .forward(&[t], &mut kv, Phase::Decode, Logits::Last)?
            .into_vec()
            .map_err(vkv_model::Error::from)?;
    }
    let (_, records) = kv.into_parts();
    Ok(Recorded {
        records,
        n_prefill: tokens.len(),
        shape: (c.n_heads, c.n_kv_heads, c.head_dim),
    })
}

fn rows(x: &[f32], t0: usize, t1: usize, per: usize, shape: &[usize]) -> Result<Tensor> {
    Ok(Tensor::from_vec(shape, x[t0 * per..t1 * per].to_vec())?)
}

/// Exact attention of one token: output `[hq·d]`, LSE `[hq]`, scores per query head.
type Exact = (Vec<f32>, Vec<f32>, Vec<Vec<f32>>);

fn exact(r: &LayerRecord, p: usize, (hq, hk, d): (usize, usize, usize)) -> Result<Exact> {
    let g = hq / hk;
    let scale = 1.0 / (d as f32).sqrt();
    let (mut out, mut lse, mut scores) = (vec![0.0; hq * d], vec![0.0; hq], Vec::with_capacity(hq));
    for h in 0..hk {
        let keys: Vec<f32> = (0..=p)
            .flat_map(|t| r.k[(t * hk + h) * d..(t * hk + h + 1) * d].iter().copied())
            .collect();
        let vals: Vec<f32> = (0..=p)
            .flat_map(|t| r.v[(t * hk + h) * d..(t * hk + h + 1) * d].iter().copied())
            .collect();
        let q = &r.q[p * hq * d + h * g * d..];
        let gq = GroupQuery {
            q,
            n_new: 1,
            g,
            d,
            stride_t: hq * d,
            first_pos: p,
            scale,
        };
        attend_head_group(
            gq,
            &keys,
            &vals,
            &mut out[h * g * d..(h + 1) * g * d],
            g * d,
            &mut lse[h * g..(h + 1) * g],
        )?;
        for j in 0..g {
            let qh = &q[j * d..(j + 1) * d];
            scores.push(
                keys.chunks_exact(d)
                    .map(|k| k.iter().zip(qh).map(|(a, b)| a * b).sum::<f32>() * scale)
                    .collect(),
            );
        }
    }
    Ok((out, lse, scores))
}

fn topk_mass(scores: &[f32], k: usize) -> f64 {
    let m = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let mut e: Vec<f64> = scores.iter().map(|s| (*s as f64 - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.sort_by(|a, b| b.total_cmp(a));
    e.iter().take(k).sum::<f64>() / z
}

/// The backend under test: a [`WaveKv`] kept concrete (it reports its LSE and the positions it
/// read), or any mode behind the trait.
enum Under {
    Wave(Box<WaveKv>),
    Other(Box<dyn KvBackend>),
}

impl Under {
    fn kv(&mut self) -> &mut dyn KvBackend {
        match self {
            Self::Wave(w) => w.as_mut(),
            Self::Other(b) => b.as_mut(),
        }
    }
}

/// Indices of the `k` largest scores.
fn top_ids(scores: &[f32], k: usize) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..scores.len() as u32).collect();
    ids.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
    ids.truncate(k);
    ids
}

/// Replay `rec` into `mode` and compare each decode step with exact attention.
pub fn compare(
    cfg: &ModelConfig,
    rec: &Recorded,
    mode: &KvMode,
    k: usize,
) -> Result<Vec<HeadStat>> {
    let (hq, hk, d) = rec.shape;
    let g = hq / hk.max(1);
    let n_total = rec.records.first().map_or(0, LayerRecord::len);
    let mut sub = cfg.clone();
    sub.n_layers = rec.records.len();
    let mut under = match mode {
        KvMode::Wave(w) => Under::Wave(Box::new(WaveKv::new(
            sub.attn(n_total),
            w.clone(),
            KvDtype::F16,
        )?)),
        KvMode::Dense(_) => Under::Other(mode.build(&sub, n_total)?),
    };
    let mut t0 = 0;
    while t0 < rec.n_prefill {
        let t1 = (t0 + vkv_engine::PREFILL_CHUNK).min(rec.n_prefill);
        for (li, r) in rec.records.iter().enumerate() {
            let (q, kk, v) = (
                rows(&r.q, t0, t1, hq * d, &[t1 - t0, hq, d])?,
                rows(&r.k, t0, t1, hk * d, &[t1 - t0, hk, d])?,
                rows(&r.v, t0, t1, hk * d, &[t1 - t0, hk, d])?,
            );
            under.kv().attend(
                li,
                Qkv {
                    q: &q,
                    k: &kk,
                    v: &v,
                },
                Phase::Prefill,
            )?;
        }
        t0 = t1;
    }
    under.kv().finish_prefill()?;
    let nh = rec.records.len() * hq;
    let (mut err_sum, mut err_max, mut mass) =
        (vec![0.0f64; nh], vec![0.0f64; nh], vec![0.0f64; nh]);
    let (mut lse_sum, mut recall_sum) = (vec![0.0f64; nh], vec![0.0f64; nh]);
    let steps = n_total - rec.n_prefill;
    for p in rec.n_prefill..n_total {
        for (li, r) in rec.records.iter().enumerate() {
            let (q, kk, v) = (
                rows(&r.q, p, p + 1, hq * d, &[1, hq, d])?,
                rows(&r.k, p, p + 1, hk * d, &[1, hk, d])?,
                rows(&r.v, p, p + 1, hk * d, &[1, hk, d])?,
            );
            let y = under.kv().attend(
                li,
                Qkv {
                    q: &q,
                    k: &kk,
                    v: &v,
                },
                Phase::Decode,
            )?;
            let y = y.as_slice()?;
            let (ex, ex_lse, scores) = exact(r, p, rec.shape)?;
            for h in 0..hq {
                let (a, b) = (&y[h * d..(h + 1) * d], &ex[h * d..(h + 1) * d]);
                let num: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| ((x - y) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let den: f64 = b
                    .iter()
                    .map(|x| (*x as f64).powi(2))
                    .sum::<f64>()
                    .sqrt()
                    .max(1e-30);
                let e = num / den;
                let i = li * hq + h;
                err_sum[i] += e;
                err_max[i] = err_max[i].max(e);
                mass[i] += topk_mass(&scores[h], k);
            }
            if let Under::Wave(w) = &under {
                let qs = q.as_slice()?;
                for kh in 0..hk {
                    let lse = w.last_lse(li, kh)?;
                    let read: std::collections::HashSet<u32> = w
                        .exact_positions(li, kh, &qs[kh * g * d..(kh + 1) * g * d])?
                        .into_iter()
                        .collect();
                    for j in 0..g {
                        let h = kh * g + j;
                        let i = li * hq + h;
                        lse_sum[i] += (lse.get(j).copied().unwrap_or(f32::NAN) as f64
                            - ex_lse[h] as f64)
                            .abs();
                        let top = top_ids(&scores[h], k);
                        recall_sum[i] += top.iter().filter(|t| read.contains(t)).count() as f64
                            / top.len().max(1) as f64;
                    }
                }
            }
        }
    }
    let s = steps.max(1) as f64;
    let sparse = matches!(under, Under::Wave(_));
    Ok((0..nh)
        .map(|i| HeadStat {
            kv: mode.to_string(),
            layer: rec.records[i / hq].layer,
            head: i % hq,
            rel_l2_mean: err_sum[i] / s,
            rel_l2_max: err_max[i],
            lse_abs_err: sparse.then(|| lse_sum[i] / s),
            recall_at_k: sparse.then(|| recall_sum[i] / s),
            topk_mass: mass[i] / s,
        })
        .collect())
}
