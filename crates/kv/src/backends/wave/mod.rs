//! [`WaveKv`]: RetroInfer's wave index + wave buffer as a KV backend (spec §3).
//!
//! Per (layer, kv head), after prefill the context is split into three zones (§3.2):
//! - **steady** — the first `sinks` tokens, the last `window` prompt tokens and every token
//!   generated since the last index update: exact attention;
//! - **retrieval** — the tokens of the top `nprobe` clusters (1.8% of clusters), ranked by the
//!   group's summed per-head softmax over centroids: exact attention, read through the wave
//!   buffer (fast-tier cluster cache over a slow tier in RAM or a memory-mapped file);
//! - **estimation** — the next `es` clusters (23.2%): weighted attention over their
//!   (centroid, value sum, size);
//!
//! and the partial results merge by log-sum-exp; the remaining ~75% of clusters are ignored.
//! Prefill is exact (like [`crate::DenseKv`]); [`KvBackend::finish_prefill`] builds the index
//! (segmented spherical k-means, §3.5, in parallel over (layer, kv head)); every
//! `update_interval` generated tokens the oldest tail tokens are clustered and appended (§3.8).
//! Prompts shorter than `sinks + window + update_interval` stay exact until the first update.
//!
//! Files: [`steady`] (steady zone), [`head`] (one (layer, kv head)'s state and index build),
//! [`decode`] (the tripartite step), [`update`] (index updates and their rollback), `store`
//! (the state machine over layers and heads).

pub mod decode;
pub mod head;
pub mod steady;
mod store;
pub mod update;

use half::f16;
use vkv_kernels::attention::micro::SimdElem;
use vkv_kernels::Tensor;

pub use decode::Selection;
pub(crate) use store::{State, WaveStore};

use crate::index::cluster::WaveConfig;
use crate::storage::pod::Pod;
use crate::storage::CacheStats;
use crate::{AttnConfig, KvBackend, KvDtype, MemoryUsage, Phase, Qkv, Result};

/// Element types the wave backend stores (f16, f32).
pub trait WaveElem: SimdElem + Pod {}
impl WaveElem for f16 {}
impl WaveElem for f32 {}

pub(crate) enum AnyWave {
    F16(WaveStore<f16>),
    F32(WaveStore<f32>),
}

macro_rules! with {
    ($s:expr, $x:ident => $e:expr) => {
        match $s {
            AnyWave::F16($x) => $e,
            AnyWave::F32($x) => $e,
        }
    };
}

/// The counts behind one (layer, kv head)'s zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadInfo {
    /// Clusters in the meta index.
    pub n_clusters: usize,
    /// Retrieval-zone clusters per step (clamped to the clusters that exist).
    pub nprobe: usize,
    /// Estimation-zone clusters per step.
    pub es: usize,
    /// Tokens in the steady zone.
    pub steady_tokens: usize,
    /// Tokens held by clusters.
    pub indexed_tokens: usize,
    /// Index updates applied since the prompt.
    pub updates: usize,
}

/// RetroInfer's tripartite attention over a wave index and wave buffer (module docs).
pub struct WaveKv {
    pub(crate) inner: AnyWave,
}

impl WaveKv {
    /// An empty cache for `attn`, storing `dtype`, with the knobs of `cfg`.
    pub fn new(attn: AttnConfig, cfg: WaveConfig, dtype: KvDtype) -> Result<Self> {
        if attn.n_kv_heads == 0
            || !attn.n_q_heads.is_multiple_of(attn.n_kv_heads)
            || attn.head_dim == 0
        {
            return Err(crate::Error::Shape(format!(
                "invalid attention config {attn:?}"
            )));
        }
        Ok(Self {
            inner: match dtype {
                KvDtype::F16 => AnyWave::F16(WaveStore::new(attn, cfg, dtype)?),
                KvDtype::F32 => AnyWave::F32(WaveStore::new(attn, cfg, dtype)?),
            },
        })
    }

    /// Store `n` prompt tokens' K/V at `layer` without attending: `k, v: [n, n_kv_heads, d]`
    /// (token-major, post-RoPE). Only before [`KvBackend::finish_prefill`]; fill every layer to
    /// the same length. For loading contexts and benchmarks that skip the O(n²) prefill.
    pub fn push_kv(&mut self, layer: usize, k: &[f32], v: &[f32]) -> Result<()> {
        with!(&mut self.inner, s => s.push_kv(layer, k, v))
    }

    /// The knobs.
    pub fn config(&self) -> &WaveConfig {
        with!(&self.inner, s => &s.cfg)
    }

    /// Whether `finish_prefill` has indexed the prompt.
    pub fn is_indexed(&self) -> bool {
        with!(&self.inner, s => matches!(s.state, State::Indexed(_)))
    }

    /// Fast-tier statistics summed over every (layer, kv head): `(last step, cumulative)`.
    pub fn cache_stats(&self) -> (CacheStats, CacheStats) {
        let mut acc = (CacheStats::default(), CacheStats::default());
        with!(&self.inner, s => if let State::Indexed(l) = &s.state {
            for h in l.iter().flatten() {
                let (a, b) = h.tiers.stats();
                acc.0.add(&a);
                acc.1.add(&b);
            }
        });
        acc
    }

    /// Zone sizes of (layer, kv head) (after `finish_prefill`).
    pub fn head_info(&self, layer: usize, head: usize) -> Result<HeadInfo> {
        with!(&self.inner, s => {
            let h = s.head(layer, head)?;
            let (nprobe, es) = h.zones();
            Ok(HeadInfo {
                n_clusters: h.meta.n_clusters(),
                nprobe,
                es,
                steady_tokens: h.steady.len(),
                indexed_tokens: h.meta.n_tokens(),
                updates: h.epochs.iter().filter(|e| e.update).count(),
            })
        })
    }

    /// The clusters that the group query `q: [g, d]` of kv head `head` would select now.
    pub fn select(&self, layer: usize, head: usize, q: &[f32]) -> Result<Selection> {
        with!(&self.inner, s => s.head(layer, head)?.select(q, &s.ctx()))
    }

    /// Positions attended exactly for `q: [g, d]`: the steady zone and the retrieval zone's
    /// members (recall measurements).
    pub fn exact_positions(&self, layer: usize, head: usize, q: &[f32]) -> Result<Vec<u32>> {
        with!(&self.inner, s => {
            let h = s.head(layer, head)?;
            let sel = h.select(q, &s.ctx())?;
            let mut p = h.steady.positions();
            for c in sel.retrieval {
                p.extend_from_slice(h.meta.members(c as usize));
            }
            Ok(p)
        })
    }

    /// Token positions held by cluster `c` of (layer, kv head).
    pub fn cluster_members(&self, layer: usize, head: usize, c: usize) -> Result<Vec<u32>> {
        with!(&self.inner, s => {
            let h = s.head(layer, head)?;
            if c >= h.meta.n_clusters() {
                return Err(crate::Error::Shape(format!("cluster {c} of {}", h.meta.n_clusters())));
            }
            Ok(h.meta.members(c).to_vec())
        })
    }

    /// The merged log-sum-exp `[g]` of the last decode step of (layer, kv head) (error
    /// measurements against the exact LSE).
    pub fn last_lse(&self, layer: usize, head: usize) -> Result<Vec<f32>> {
        with!(&self.inner, s => Ok(s.head(layer, head)?.last_lse.clone()))
    }

    /// Every token of (layer, kv head) as f32 rows `(keys, values)` `[n, d]` in position
    /// order, read back from the zones (tests, persistence checks).
    pub fn layer_head_f32(&self, layer: usize, head: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        with!(&self.inner, s => match &s.state {
            State::Prefill(d) => d.get(layer * s.attn.n_kv_heads + head).ok_or(crate::Error::Layer(layer))?.layer_head_f32(0, 0),
            State::Indexed(_) => s.head(layer, head)?.all_rows(s.attn.head_dim),
        })
    }
}

impl KvBackend for WaveKv {
    fn attend(&mut self, layer: usize, qkv: Qkv<'_>, phase: Phase) -> Result<Tensor> {
        with!(&mut self.inner, s => s.attend(layer, qkv, phase))
    }

    fn finish_prefill(&mut self) -> Result<()> {
        with!(&mut self.inner, s => s.finish_prefill())
    }

    fn n_tokens(&self) -> usize {
        with!(&self.inner, s => s.n_tokens())
    }

    fn truncate(&mut self, n: usize) -> Result<()> {
        with!(&mut self.inner, s => s.truncate(n))
    }

    fn memory(&self) -> MemoryUsage {
        with!(&self.inner, s => s.memory())
    }
    fn fast_tier_hit_rate(&self) -> Option<f64> {
        self.config()
            .fast_tier()
            .then(|| self.cache_stats().1.hit_rate())
    }
}
