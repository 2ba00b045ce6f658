//! [`TieredClusters`]: one (layer, kv head)'s cluster records behind the wave buffer: the slow
//! tier ([`SlowStore`]) and an optional fast-tier [`ClusterCache`].
//!
//! A decode step is `begin` (hit/miss classification; mapped misses are prefetched so that
//! their page-ins overlap the estimation and steady zones' compute), `record` for each
//! retrieved cluster (hits from the cache, misses read in place from the slow tier, like the
//! reference's zero-copy reads of misses), and `finish` (LRU update and admission, §3.7).
//! Which tier a record comes from never changes its bytes, so outputs do not depend on the
//! cache size.

use super::cache::{CacheStats, ClusterCache};
use super::pod::Pod;
use super::slow::SlowStore;
use crate::index::cluster::ClusterMeta;
use crate::{Error, Result};

/// Slow tier + fast-tier cache of one (layer, kv head).
#[derive(Debug)]
pub struct TieredClusters<E> {
    /// The slow tier.
    pub slow: SlowStore<E>,
    /// The fast tier (`None`: read the slow tier directly).
    pub cache: Option<ClusterCache<E>>,
    hit: Vec<bool>,
    tokens: Vec<u32>,
}

impl<E: Pod + vkv_kernels::attention::KvElem> TieredClusters<E> {
    /// Records in `slow`, cached by `cache`.
    pub fn new(slow: SlowStore<E>, cache: Option<ClusterCache<E>>) -> Self {
        Self {
            slow,
            cache,
            hit: Vec::new(),
            tokens: Vec::new(),
        }
    }

    /// Start a step over the retrieval zone `ranked` (best first).
    pub fn begin(&mut self, ranked: &[u32], meta: &ClusterMeta<E>) {
        self.tokens.clear();
        self.tokens
            .extend(ranked.iter().map(|&c| meta.sizes[c as usize]));
        match &mut self.cache {
            Some(cache) => cache.access(ranked, &self.tokens, &mut self.hit),
            None => {
                self.hit.clear();
                self.hit.resize(ranked.len(), false);
            }
        }
        for (&c, &h) in ranked.iter().zip(&self.hit) {
            if !h {
                let (s, l) = meta.record_range(c as usize);
                self.slow.prefetch(s, l);
            }
        }
    }

    /// The record of `ranked[i] = c` (after [`TieredClusters::begin`]).
    pub fn record(&self, i: usize, c: u32, meta: &ClusterMeta<E>) -> Result<&[E]> {
        if self.hit.get(i).copied().unwrap_or(false) {
            if let Some(r) = self.cache.as_ref().and_then(|k| k.get(c)) {
                return Ok(r);
            }
            return Err(Error::Shape(format!(
                "cache: cluster {c} classified as a hit but absent"
            )));
        }
        let (s, l) = meta.record_range(c as usize);
        self.slow.get(s, l)
    }

    /// End the step: LRU maintenance and admission of misses.
    pub fn finish(&mut self, ranked: &[u32], meta: &ClusterMeta<E>) -> Result<()> {
        let Self {
            slow,
            cache,
            hit,
            tokens,
        } = self;
        if let Some(cache) = cache {
            cache.update(ranked, tokens, hit, |c| {
                let (s, l) = meta.record_range(c as usize);
                slow.get(s, l)
            })?;
        }
        Ok(())
    }

    /// `(last step, cumulative)` statistics (zeros without a cache).
    pub fn stats(&self) -> (CacheStats, CacheStats) {
        self.cache
            .as_ref()
            .map_or_else(Default::default, |c| (c.step, c.total))
    }
}
