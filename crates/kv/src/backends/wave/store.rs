//! [`WaveStore`]: the wave backend for one element type — the prefill → indexed state machine,
//! parallel over kv heads.
//!
//! - Prefill: one single-head [`DenseKv`] per (layer, kv head): exact attention, the same
//!   storage and kernels as the oracle, and each group's KV can be indexed and dropped on its
//!   own (peak memory ≈ KV + a few groups in flight).
//! - `finish_prefill`: every (layer, kv head) is indexed in parallel ([`HeadState::build`]).
//! - Indexed: tokens are decoded one at a time (a multi-token call, e.g. a later prompt turn, is
//!   processed token by token, which keeps it causal); kv heads run in parallel; index updates
//!   fire per layer when the tail is full.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use vkv_kernels::Tensor;

use super::head::{Ctx, DecodeScratch, HeadState};
use super::WaveElem;
use crate::index::cluster::WaveConfig;
use crate::storage::SlowFile;
use crate::{AttnConfig, DenseKv, Error, KvBackend, KvDtype, MemoryUsage, Phase, Qkv, Result};

/// Prefill or indexed.
pub(crate) enum State<E> {
    /// Exact, one single-head dense store per `layer · n_kv_heads + head`.
    Prefill(Vec<DenseKv>),
    /// Indexed, `[layer][head]`.
    Indexed(Vec<Vec<HeadState<E>>>),
}

/// The wave backend over element type `E`.
pub(crate) struct WaveStore<E> {
    pub(crate) attn: AttnConfig,
    pub(crate) cfg: WaveConfig,
    pub(crate) dtype: KvDtype,
    pub(crate) file: Option<Arc<SlowFile>>,
    pub(crate) state: State<E>,
    /// Decode scratch, one per concurrently running head task (see [`DecodeScratch`]).
    pub(crate) pool: Mutex<Vec<DecodeScratch<E>>>,
}

/// The decode context from the store's fields (borrowing them apart from `state`).
fn make_ctx<'a>(
    attn: &AttnConfig,
    cfg: &'a WaveConfig,
    file: &'a Option<Arc<SlowFile>>,
) -> Ctx<'a> {
    Ctx {
        cfg,
        g: attn.group(),
        d: attn.head_dim,
        scale: attn.scale(),
        file: file.as_ref(),
    }
}

fn head_dense(attn: &AttnConfig, dtype: KvDtype) -> Result<DenseKv> {
    DenseKv::new(
        AttnConfig {
            n_layers: 1,
            n_q_heads: attn.group(),
            n_kv_heads: 1,
            ..*attn
        },
        dtype,
    )
}

impl<E: WaveElem> WaveStore<E> {
    pub(crate) fn new(attn: AttnConfig, cfg: WaveConfig, dtype: KvDtype) -> Result<Self> {
        cfg.validate()?;
        let n = attn.n_layers * attn.n_kv_heads;
        let dense = (0..n)
            .map(|_| head_dense(&attn, dtype))
            .collect::<Result<_>>()?;
        Ok(Self {
            attn,
            cfg,
            dtype,
            file: None,
            state: State::Prefill(dense),
            pool: Mutex::default(),
        })
    }

    pub(crate) fn ctx(&self) -> Ctx<'_> {
        make_ctx(&self.attn, &self.cfg, &self.file)
    }

    pub(crate) fn ensure_file(&mut self) -> Result<()> {
        if self.file.is_none() {
            if let Some(dir) = &self.cfg.slow_dir {
                self.file = Some(SlowFile::create(dir)?);
            }
        }
        Ok(())
    }

    fn check(&self, layer: usize, qkv: &Qkv<'_>) -> Result<usize> {
        let c = &self.attn;
        let n_new = qkv.n_new(c)?;
        if layer >= c.n_layers {
            return Err(Error::Layer(layer));
        }
        let have = self.layer_len(layer);
        if have + n_new > c.max_tokens {
            return Err(Error::ContextFull {
                needed: have + n_new,
                capacity: c.max_tokens,
            });
        }
        Ok(n_new)
    }

    fn layer_len(&self, layer: usize) -> usize {
        let hk = self.attn.n_kv_heads;
        match &self.state {
            State::Prefill(d) => d.get(layer * hk).map_or(0, |x| x.n_tokens()),
            State::Indexed(l) => l.get(layer).and_then(|h| h.first()).map_or(0, |h| h.len),
        }
    }

    pub(crate) fn attend(&mut self, layer: usize, qkv: Qkv<'_>, phase: Phase) -> Result<Tensor> {
        if phase == Phase::Decode && layer == 0 && matches!(self.state, State::Prefill(_)) {
            self.finish_prefill()?;
        }
        let n_new = self.check(layer, &qkv)?;
        let c = self.attn;
        let (d, hq, hk, g) = (c.head_dim, c.n_q_heads, c.n_kv_heads, c.group());
        let (q, k, v) = (qkv.q.as_slice()?, qkv.k.as_slice()?, qkv.v.as_slice()?);
        let mut y = Tensor::zeros(&[n_new, hq, d]);
        let ys = y.as_mut_slice()?;
        let ctx = make_ctx(&self.attn, &self.cfg, &self.file);
        match &mut self.state {
            State::Prefill(dense) => {
                for (h, dk) in dense[layer * hk..(layer + 1) * hk].iter_mut().enumerate() {
                    let mut qh = Vec::with_capacity(n_new * g * d);
                    let (mut kh, mut vh) =
                        (Vec::with_capacity(n_new * d), Vec::with_capacity(n_new * d));
                    for t in 0..n_new {
                        qh.extend_from_slice(
                            &q[t * hq * d + h * g * d..t * hq * d + (h + 1) * g * d],
                        );
                        kh.extend_from_slice(&k[(t * hk + h) * d..(t * hk + h + 1) * d]);
                        vh.extend_from_slice(&v[(t * hk + h) * d..(t * hk + h + 1) * d]);
                    }
                    let qt = Tensor::from_vec(&[n_new, g, d], qh)?;
                    let (kt, vt) = (
                        Tensor::from_vec(&[n_new, 1, d], kh)?,
                        Tensor::from_vec(&[n_new, 1, d], vh)?,
                    );
                    let yh = dk.attend(
                        0,
                        Qkv {
                            q: &qt,
                            k: &kt,
                            v: &vt,
                        },
                        phase,
                    )?;
                    for (t, row) in yh.as_slice()?.chunks_exact(g * d).enumerate() {
                        ys[t * hq * d + h * g * d..t * hq * d + (h + 1) * g * d]
                            .copy_from_slice(row);
                    }
                }
            }
            State::Indexed(layers) => {
                let heads = &mut layers[layer];
                for t in 0..n_new {
                    let row = &mut ys[t * hq * d..(t + 1) * hq * d];
                    let pool = &self.pool;
                    heads
                        .par_iter_mut()
                        .zip(row.par_chunks_mut(g * d))
                        .enumerate()
                        .try_for_each(|(h, (hs, out))| {
                            let kv = (t * hk + h) * d..(t * hk + h + 1) * d;
                            let mut sc = pool
                                .lock()
                                .ok()
                                .and_then(|mut p| p.pop())
                                .unwrap_or_default();
                            let r = hs.decode(
                                &q[t * hq * d + h * g * d..t * hq * d + (h + 1) * g * d],
                                &k[kv.clone()],
                                &v[kv],
                                &ctx,
                                &mut sc,
                                out,
                            );
                            if let Ok(mut p) = pool.lock() {
                                p.push(sc);
                            }
                            r
                        })?;
                    if heads.first().is_some_and(|h| h.needs_update(&ctx)) {
                        heads.par_iter_mut().try_for_each(|hs| hs.update(&ctx))?;
                    }
                }
            }
        }
        Ok(y)
    }

    /// Store prompt K/V `[n, n_kv_heads, d]` of `layer` without attending (before
    /// `finish_prefill`).
    pub(crate) fn push_kv(&mut self, layer: usize, k: &[f32], v: &[f32]) -> Result<()> {
        let (d, hk) = (self.attn.head_dim, self.attn.n_kv_heads);
        let n = k.len() / (hk * d).max(1);
        if k.len() != n * hk * d || v.len() != k.len() || layer >= self.attn.n_layers {
            return Err(Error::Shape(format!(
                "push_kv: layer {layer}, {} key / {} value elements for {hk} heads of {d}",
                k.len(),
                v.len()
            )));
        }
        let State::Prefill(dense) = &mut self.state else {
            return Err(Error::Config(
                "wave: push_kv is for the prompt, before finish_prefill".into(),
            ));
        };
        for (h, dk) in dense[layer * hk..(layer + 1) * hk].iter_mut().enumerate() {
            let pick = |x: &[f32]| -> Vec<f32> {
                (0..n)
                    .flat_map(|t| x[(t * hk + h) * d..(t * hk + h + 1) * d].to_vec())
                    .collect()
            };
            dk.push_kv(0, &pick(k), &pick(v))?;
        }
        Ok(())
    }

    pub(crate) fn finish_prefill(&mut self) -> Result<()> {
        if !matches!(self.state, State::Prefill(_)) {
            return Ok(());
        }
        self.ensure_file()?;
        let State::Prefill(dense) = std::mem::replace(&mut self.state, State::Indexed(Vec::new()))
        else {
            return Ok(());
        };
        let ctx = self.ctx();
        let heads: Vec<HeadState<E>> = dense
            .into_par_iter()
            .map(|dk| {
                let (k, v) = dk.layer_head_f32(0, 0)?;
                drop(dk);
                HeadState::build(&k, &v, &ctx)
            })
            .collect::<Result<_>>()?;
        self.state = State::Indexed(Self::by_layer(heads, self.attn.n_kv_heads));
        Ok(())
    }

    fn by_layer(heads: Vec<HeadState<E>>, hk: usize) -> Vec<Vec<HeadState<E>>> {
        let mut layers = Vec::new();
        let mut it = heads.into_iter().peekable();
        while it.peek().is_some() {
            layers.push(it.by_ref().take(hk).collect());
        }
        layers
    }

    pub(crate) fn n_tokens(&self) -> usize {
        self.layer_len(self.attn.n_layers.saturating_sub(1))
    }

    /// Forget positions `≥ n`: generated tokens leave the tail (index updates roll back);
    /// truncating into the prompt's index re-indexes the first `n` tokens as a new prompt.
    pub(crate) fn truncate(&mut self, n: usize) -> Result<()> {
        let ctx = make_ctx(&self.attn, &self.cfg, &self.file);
        let rebuild = match &mut self.state {
            State::Prefill(dense) => {
                dense.iter_mut().try_for_each(|x| x.truncate(n))?;
                false
            }
            State::Indexed(layers) => {
                let ok: Vec<bool> = layers
                    .par_iter_mut()
                    .flat_map(|l| l.par_iter_mut())
                    .map(|h| h.truncate(n, &ctx))
                    .collect::<Result<_>>()?;
                ok.contains(&false)
            }
        };
        if rebuild {
            let State::Indexed(layers) = &mut self.state else {
                return Ok(());
            };
            let d = self.attn.head_dim;
            let old: Vec<HeadState<E>> = std::mem::take(layers).into_iter().flatten().collect();
            let heads = old
                .into_par_iter()
                .map(|h| {
                    let (k, v) = h.all_rows(d)?;
                    let m = n.min(h.len);
                    drop(h);
                    HeadState::build(&k[..m * d], &v[..m * d], &ctx)
                })
                .collect::<Result<Vec<_>>>()?;
            self.state = State::Indexed(Self::by_layer(heads, self.attn.n_kv_heads));
        }
        Ok(())
    }

    pub(crate) fn memory(&self) -> MemoryUsage {
        match &self.state {
            State::Prefill(d) => MemoryUsage {
                fast_bytes: d.iter().map(|x| x.memory().fast_bytes).sum(),
                ..MemoryUsage::default()
            },
            State::Indexed(l) => {
                let scratch = self
                    .pool
                    .lock()
                    .map_or(0, |p| p.iter().map(|s| s.bytes()).sum());
                l.iter().flatten().fold(
                    MemoryUsage {
                        fast_bytes: scratch,
                        ..MemoryUsage::default()
                    },
                    |m, h| {
                        let (f, s, i) = h.bytes();
                        MemoryUsage {
                            fast_bytes: m.fast_bytes + f,
                            slow_bytes: m.slow_bytes + s,
                            index_bytes: m.index_bytes + i,
                        }
                    },
                )
            }
        }
    }

    pub(crate) fn head(&self, layer: usize, head: usize) -> Result<&HeadState<E>> {
        match &self.state {
            State::Indexed(l) => l
                .get(layer)
                .and_then(|x| x.get(head))
                .ok_or(Error::Layer(layer)),
            State::Prefill(_) => Err(Error::Config(
                "wave: the prompt is not indexed yet (call finish_prefill)".into(),
            )),
        }
    }
}
