//! [`HeadState`]: everything the wave backend keeps for one (layer, kv head) once the prompt is
//! indexed — the steady zone, the meta index, the tiered cluster records, the index epochs, and
//! the current budgets — and its construction from the prompt's K/V (spec §3.5).

use std::sync::Arc;

use super::steady::Steady;
use super::WaveElem;
use crate::attn::{SegmentScratch, WeightedScratch};
use crate::index::cluster::{build_clusters, ClusterMeta, KmeansParams, WaveConfig};
use crate::storage::{Chunk, ClusterCache, SlowFile, SlowStore, TieredClusters};
use crate::Result;

/// What one decode or update needs to know besides the head's own state.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The knobs.
    pub cfg: &'a WaveConfig,
    /// Query heads per kv head.
    pub g: usize,
    /// Head dimension.
    pub d: usize,
    /// 1/√d.
    pub scale: f32,
    /// The slow-tier scratch file (`None`: records stay in RAM).
    pub file: Option<&'a Arc<SlowFile>>,
}

/// One run of clustered tokens: the prompt's middle, or one index update (§3.8). Kept so that
/// `truncate` can roll updates back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    /// First cluster id of the epoch.
    pub first_cluster: usize,
    /// First slow-tier element of its records (a chunk boundary).
    pub slow_start: usize,
    /// Positions `first_pos .. end_pos` were clustered.
    pub first_pos: usize,
    /// End of the clustered positions.
    pub end_pos: usize,
    /// True for an index update, false for the prompt's index.
    pub update: bool,
    /// Sequence length when the epoch was created: truncating below it undoes the epoch, so
    /// that the state after `truncate(n)` is the state the sequence had at length n.
    pub created_len: usize,
}

/// Reusable decode buffers. One per worker thread (a pool in the store), not per head: the
/// same few hundred KiB are reused by every (layer, head) and stay in cache, where 48 per-head
/// copies would be cold at every step.
#[derive(Debug)]
pub struct DecodeScratch<E> {
    pub(super) raw: Vec<f32>,
    pub(super) dist: Vec<f32>,
    pub(super) tmp: Vec<f32>,
    pub(super) keys: Vec<u64>,
    pub(super) o_est: Vec<f32>,
    pub(super) lse_est: Vec<f32>,
    pub(super) lse: Vec<f32>,
    pub(super) seg: SegmentScratch,
    pub(super) est: WeightedScratch<E>,
}

/// The wave state of one (layer, kv head).
#[derive(Debug)]
pub struct HeadState<E> {
    /// Sinks + tail, exact.
    pub steady: Steady<E>,
    /// The meta index.
    pub meta: ClusterMeta<E>,
    /// Cluster records: slow tier + fast-tier cache.
    pub tiers: TieredClusters<E>,
    /// Clustered runs, oldest first.
    pub epochs: Vec<Epoch>,
    /// Retrieval budget in clusters (before clamping to the cluster count).
    pub nprobe: usize,
    /// Estimation budget in clusters (before clamping).
    pub es: usize,
    /// Tokens of the sequence held by this head.
    pub len: usize,
    /// Merged LSE `[g]` of the last decode step (diagnostics).
    pub last_lse: Vec<f32>,
}

impl<E> DecodeScratch<E> {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.raw.capacity()
            + self.dist.capacity()
            + self.tmp.capacity()
            + self.o_est.capacity()
            + self.lse_est.capacity()
            + self.lse.capacity())
            * 4
            + self.keys.capacity() * 8
            + self.seg.bytes()
            + self.est.bytes()
    }
}

impl<E> Default for DecodeScratch<E> {
    fn default() -> Self {
        Self {
            raw: Vec::new(),
            dist: Vec::new(),
            tmp: Vec::new(),
            keys: Vec::new(),
            o_est: Vec::new(),
            lse_est: Vec::new(),
            lse: Vec::new(),
            seg: SegmentScratch::default(),
            est: WeightedScratch::default(),
        }
    }
}

/// Records into a slow-tier chunk: appended to the scratch file, or kept in RAM.
pub fn store_chunk<E: WaveElem>(records: Vec<E>, file: Option<&Arc<SlowFile>>) -> Result<Chunk<E>> {
    match file {
        Some(f) => f.append(&records),
        None => Ok(Chunk::Ram(records)),
    }
}

impl<E: WaveElem> HeadState<E> {
    /// Index a prompt of `n` tokens given as f32 rows `keys, values: [n, d]` (§3.5): sinks and
    /// the last `window` tokens stay exact, the middle is clustered. Prompts shorter than
    /// `sinks + window + update_interval` keep every token exact, as the reference does.
    pub fn build(keys: &[f32], values: &[f32], ctx: &Ctx<'_>) -> Result<Self> {
        let (cfg, d) = (ctx.cfg, ctx.d);
        let n = keys.len() / d;
        let s = cfg.sinks.min(n);
        let mut meta = ClusterMeta::new(d);
        let mut slow = SlowStore::default();
        let mut epochs = Vec::new();
        let (mut nprobe, mut es, mut tail0) = (0, 0, s);
        if n >= cfg.min_indexed_prompt() {
            let (m0, m1) = (cfg.sinks, n - cfg.window);
            let plan = cfg.plan(n);
            let positions: Vec<u32> = (m0 as u32..m1 as u32).collect();
            let p = KmeansParams {
                n_clusters: plan.n_clusters,
                n_segments: plan.n_segments,
                iters: cfg.kmeans_iters,
            };
            let built = build_clusters::<E>(
                &keys[m0 * d..m1 * d],
                &values[m0 * d..m1 * d],
                &positions,
                d,
                &p,
            )?;
            meta.append(&built);
            slow.push(store_chunk(built.records, ctx.file)?);
            epochs.push(Epoch {
                first_cluster: 0,
                slow_start: 0,
                first_pos: m0,
                end_pos: m1,
                update: false,
                created_len: n,
            });
            (nprobe, es, tail0) = (plan.nprobe, plan.es, m1);
        }
        let steady = Steady::from_rows(
            d,
            &keys[..s * d],
            &values[..s * d],
            &keys[tail0 * d..],
            &values[tail0 * d..],
            tail0,
        );
        let cache = cfg
            .fast_tier()
            .then(|| ClusterCache::new(cfg.cache_pages(nprobe), cfg.page_size));
        Ok(Self {
            steady,
            meta,
            tiers: TieredClusters::new(slow, cache),
            epochs,
            nprobe,
            es,
            len: n,
            last_lse: Vec::new(),
        })
    }

    /// Effective `(nprobe, es)`: the budgets clamped to the clusters that exist.
    pub fn zones(&self) -> (usize, usize) {
        let c = self.meta.n_clusters();
        let np = self.nprobe.min(c);
        (np, self.es.min(c - np))
    }

    /// Bytes per tier: `(fast, slow, index)`. Fast = steady zone + cache; slow = the records
    /// (RAM or mapped); index = the meta index.
    pub fn bytes(&self) -> (usize, usize, usize) {
        let (ram, mapped) = self.tiers.slow.bytes();
        let cache = self.tiers.cache.as_ref().map_or(0, |c| c.bytes());
        (self.steady.bytes() + cache, ram + mapped, self.meta.bytes())
    }
}
