//! [`WaveConfig`]: the knobs of the wave index and wave buffer, with RetroInfer's defaults, and
//! the budget formulas of spec §3.3 (`config/config.py::generate_config` and
//! `retroinfer_cache.py::__init__` in the reference).
//!
//! All rounding follows Python's `round` (half to even), so that the worked examples of §3.3
//! (131072 tokens → 16 segments, 8192 clusters, nprobe 147, es 1901, cache 441 clusters) come
//! out exactly.

use std::path::PathBuf;

use crate::{Error, Result};

/// Cluster counts are multiples of this (the reference's kernels need multiples of 8).
pub const CLUSTER_MULTIPLE: usize = 8;

/// Every knob of the wave backend. `Default` is the reference configuration (§3.12) except for
/// the retrieval budget and the cluster size: 20 % of the clusters read exactly instead of the
/// paper's 1.8 %, in clusters of 8 tokens instead of 16 ([`WaveConfig::reference`]). On
/// qwen2.5-0.5b the reference budget loses pass keys that dense finds at 16K and its next-token
/// KL from dense is 5× higher; 10 % keeps them, and halving the cluster size at the same token
/// budget also answers the one 32K pass key that 16-token clusters lose and halves the KL at
/// 8K; 20 % closes the last gap (frequent-word extraction at 16K, 3.3 points below dense at
/// 10 %) at ~12 % of the 32K decode speed (docs/EVAL.md, "Choosing the default budget").
#[derive(Debug, Clone, PartialEq)]
pub struct WaveConfig {
    /// Fraction of clusters read exactly (retrieval zone): `nprobe = round(C · r)`. 0.2 (the
    /// reference's 0.018 in [`WaveConfig::reference`]).
    pub retrieval_budget: f64,
    /// Fraction of clusters estimated from the meta index (estimation zone). 0.232.
    pub estimation_budget: f64,
    /// Attention sinks: the first tokens, always exact (steady zone). 4.
    pub sinks: usize,
    /// The last prompt tokens kept exact, and the newest tokens kept out of index updates. 64.
    pub window: usize,
    /// Average tokens per cluster: `C ≈ ctx / avg_cluster_size`. 8 (the reference's 16 in
    /// [`WaveConfig::reference`]).
    pub avg_cluster_size: usize,
    /// Tokens per k-means segment: `S = max(round(ctx / segment_size), 1)`. 8192.
    pub segment_size: usize,
    /// k-means iterations; all but the last are segmented and normalised, the last is global
    /// and unnormalised. 10.
    pub kmeans_iters: usize,
    /// Generated tokens between index updates; also the minimum middle part that gets an index
    /// at prefill (shorter prompts stay exact). 1024.
    pub update_interval: usize,
    /// Tokens per page, the unit in which the fast-tier capacity is counted. 8.
    pub page_size: usize,
    /// Fast-tier capacity as a multiple of the retrieval zone, in clusters (`3 × nprobe`), used
    /// when the slow tier is a file (`slow_dir`). 0 disables the fast tier: retrieved clusters
    /// are read from the slow tier directly. With the slow tier in RAM both tiers would be the
    /// same memory, so no fast tier is kept ([`WaveConfig::fast_tier`]; measured ~1 ms per step
    /// faster at 32K, docs/PERF.md, "Wave attention").
    pub cache_factor: f64,
    /// Where the slow tier lives: `None` keeps it in RAM; `Some(dir)` puts it in an unlinked
    /// memory-mapped scratch file created in `dir` (a context larger than RAM still runs).
    pub slow_dir: Option<PathBuf>,
}

impl WaveConfig {
    /// The reference implementation's configuration (spec §3.12): retrieval budget 0.018,
    /// 16 tokens per cluster.
    pub fn reference() -> Self {
        Self {
            retrieval_budget: 0.018,
            avg_cluster_size: 16,
            ..Self::default()
        }
    }

    /// Whether a fast-tier cache fronts the slow tier: only when the slow tier is a file.
    pub fn fast_tier(&self) -> bool {
        self.cache_factor > 0.0 && self.slow_dir.is_some()
    }
}

impl Default for WaveConfig {
    fn default() -> Self {
        Self {
            retrieval_budget: 0.2,
            estimation_budget: 0.232,
            sinks: 4,
            window: 64,
            avg_cluster_size: 8,
            segment_size: 8192,
            kmeans_iters: 10,
            update_interval: 1024,
            page_size: 8,
            cache_factor: 3.0,
            slow_dir: None,
        }
    }
}

/// The index geometry and budgets for a prompt of `ctx` tokens (spec §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexPlan {
    /// k-means segments S.
    pub n_segments: usize,
    /// Clusters C (a multiple of `lcm(8, S)`).
    pub n_clusters: usize,
    /// Retrieval-zone clusters.
    pub nprobe: usize,
    /// Estimation-zone clusters.
    pub es: usize,
}

/// Clusters and budget growth of one index update (spec §3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdatePlan {
    /// New clusters per update (64 by default).
    pub n_clusters: usize,
    /// Growth of nprobe per update (1).
    pub nprobe: usize,
    /// Growth of es per update (15).
    pub es: usize,
}

/// Python's `round` (half to even) for non-negative values.
pub fn py_round(x: f64) -> usize {
    x.round_ties_even().max(0.0) as usize
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl WaveConfig {
    /// Check the knobs.
    pub fn validate(&self) -> Result<()> {
        let frac = |x: f64| (0.0..=1.0).contains(&x);
        if !frac(self.retrieval_budget) || !frac(self.estimation_budget) {
            return Err(Error::Config(format!(
                "budgets must be in [0, 1]: r={} e={}",
                self.retrieval_budget, self.estimation_budget
            )));
        }
        if self.avg_cluster_size == 0
            || self.segment_size == 0
            || self.page_size == 0
            || self.update_interval < 16
        {
            return Err(Error::Config(format!("cluster size, segment size and page size must be > 0, update interval ≥ 16: {self:?}")));
        }
        if self.kmeans_iters == 0 || !(self.cache_factor >= 0.0 && self.cache_factor.is_finite()) {
            return Err(Error::Config(format!(
                "k-means iterations must be ≥ 1 and the cache factor ≥ 0: {self:?}"
            )));
        }
        Ok(())
    }

    /// Steady tokens around the indexed middle of a prompt: sinks + window.
    pub fn steady_prompt_tokens(&self) -> usize {
        self.sinks + self.window
    }

    /// Prompts shorter than this keep every token exact (§3.5 step 8: `N < 68 + 1024`).
    pub fn min_indexed_prompt(&self) -> usize {
        self.steady_prompt_tokens() + self.update_interval
    }

    /// Segments, clusters and budgets for a prompt of `ctx` tokens (§3.3).
    pub fn plan(&self, ctx: usize) -> IndexPlan {
        let n_segments = py_round(ctx as f64 / self.segment_size as f64).max(1);
        let n_factor = CLUSTER_MULTIPLE / gcd(CLUSTER_MULTIPLE, n_segments) * n_segments;
        let raw = py_round(ctx as f64 / self.avg_cluster_size as f64).max(n_factor);
        let lower = raw / n_factor * n_factor;
        let upper = lower + n_factor;
        let n_clusters = if raw - lower <= upper - raw {
            lower
        } else {
            upper
        };
        let (nprobe, es) = self.budgets(n_clusters);
        IndexPlan {
            n_segments,
            n_clusters,
            nprobe,
            es,
        }
    }

    /// `(nprobe, es)` for `n_clusters` clusters.
    pub fn budgets(&self, n_clusters: usize) -> (usize, usize) {
        let nprobe =
            py_round(n_clusters as f64 * self.retrieval_budget).clamp(1, n_clusters.max(1));
        let es = py_round(n_clusters as f64 * self.estimation_budget)
            .min(n_clusters.saturating_sub(nprobe));
        (nprobe, es)
    }

    /// The plan of one index update: `max(round(U/16)//8·8, 8)` clusters, budgets grown by
    /// `max(round(·), 1)` (§3.3, §3.8).
    pub fn update_plan(&self) -> UpdatePlan {
        let per = py_round(self.update_interval as f64 / self.avg_cluster_size as f64);
        let n_clusters = (per / CLUSTER_MULTIPLE * CLUSTER_MULTIPLE).max(CLUSTER_MULTIPLE);
        UpdatePlan {
            n_clusters,
            nprobe: py_round(n_clusters as f64 * self.retrieval_budget).max(1),
            es: py_round(n_clusters as f64 * self.estimation_budget).max(1),
        }
    }

    /// Fast-tier capacity in clusters for a retrieval zone of `nprobe` clusters (`3 × nprobe`).
    pub fn cache_clusters(&self, nprobe: usize) -> usize {
        (self.cache_factor * nprobe as f64).ceil() as usize
    }

    /// Pages an average cluster occupies (`round(16 / 8) = 2`).
    pub fn pages_per_cluster(&self) -> usize {
        py_round(self.avg_cluster_size as f64 / self.page_size as f64).max(1)
    }

    /// Fast-tier capacity in pages for `nprobe` (the reference's `cache_pages`).
    pub fn cache_pages(&self, nprobe: usize) -> usize {
        self.cache_clusters(nprobe) * self.pages_per_cluster()
    }

    /// Pages a cluster of `n` tokens occupies.
    pub fn pages_of(&self, n: usize) -> usize {
        n.div_ceil(self.page_size)
    }

    /// The reference GPU execution-buffer size in pages, `max(32, 4·nprobe) · 2` (150 clusters
    /// for contexts ≤ 4096). Informational: the CPU decode reads clusters in place, so it has no
    /// fixed execution buffer and never drops clusters for lack of room.
    pub fn reference_buffer_pages(&self, ctx: usize, nprobe: usize) -> usize {
        let clusters = if ctx <= 4096 { 150 } else { 32 };
        clusters.max(4 * nprobe) * self.pages_per_cluster()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked examples of spec §3.3, row by row.
    #[test]
    fn worked_examples() {
        let c = WaveConfig::reference();
        for &(ctx, segs, clusters, nprobe, es, cache, buf) in &[
            (
                131072usize,
                16usize,
                8192usize,
                147usize,
                1901usize,
                441usize,
                1176usize,
            ),
            (120000, 15, 7440, 134, 1726, 402, 1072),
            (1_024_000, 125, 64000, 1152, 14848, 3456, 9216),
        ] {
            let p = c.plan(ctx);
            assert_eq!(
                p,
                IndexPlan {
                    n_segments: segs,
                    n_clusters: clusters,
                    nprobe,
                    es
                },
                "ctx {ctx}"
            );
            assert_eq!(c.cache_clusters(p.nprobe), cache, "ctx {ctx}");
            assert_eq!(c.cache_pages(p.nprobe), 2 * cache);
            assert_eq!(c.reference_buffer_pages(ctx, p.nprobe), buf, "ctx {ctx}");
        }
        assert_eq!(
            c.update_plan(),
            UpdatePlan {
                n_clusters: 64,
                nprobe: 1,
                es: 15
            }
        );
        assert_eq!(c.min_indexed_prompt(), 4 + 64 + 1024);
    }

    /// Small contexts: one segment, clusters a multiple of 8, nprobe at least 1.
    #[test]
    fn small_contexts() {
        let c = WaveConfig::reference();
        let p = c.plan(2048);
        assert_eq!(
            (p.n_segments, p.n_clusters, p.nprobe, p.es),
            (1, 128, 2, 30)
        );
        let p = c.plan(32768);
        assert_eq!(
            (p.n_segments, p.n_clusters, p.nprobe, p.es),
            (4, 2048, 37, 475)
        );
        let p = c.plan(100);
        assert_eq!((p.n_segments, p.n_clusters), (1, 8));
        // The default differs from the reference only in the retrieval budget and the cluster
        // size: twice the clusters, 20 % of them retrieved.
        let d = WaveConfig::default();
        assert_eq!(
            WaveConfig {
                retrieval_budget: 0.018,
                avg_cluster_size: 16,
                ..d.clone()
            },
            c
        );
        assert_eq!(d.plan(32768).n_clusters, 4096);
        assert_eq!(d.plan(32768).nprobe, 819);
        assert_eq!(py_round(2.5), 2);
        assert_eq!(py_round(3.5), 4);
        // Full retrieval: every cluster exact, nothing estimated.
        let all = WaveConfig {
            retrieval_budget: 1.0,
            estimation_budget: 0.0,
            ..c
        };
        assert_eq!(all.budgets(2048), (2048, 0));
        assert!(WaveConfig {
            retrieval_budget: 1.5,
            ..WaveConfig::default()
        }
        .validate()
        .is_err());
    }
}
