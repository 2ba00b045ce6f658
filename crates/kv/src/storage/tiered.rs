//! [`TieredClusters`]: one (layer, kv head)'s cluster records behind the wave buffer: the slow
//! tier ([`SlowStore`]) and an optional fast-tier [`ClusterCache`].
//!
//! A decode step is `begin` (hit/miss classification; mapped misses are prefetched so that
//! their page-ins overlap the estimation and steady zones' compute, each record at most once
//! per [`super::advice::ADVICE_STEPS`] steps), `record` for each
//! retrieved cluster (hits from the cache, misses read in place from the slow tier, like the
//! reference's zero-copy reads of misses), and `finish` (LRU update and admission, §3.7).
//! Which tier a record comes from never changes its bytes, so outputs do not depend on the
//! cache size.

use super::advice::AdviceLog;
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
    advice: AdviceLog,
}

impl<E: Pod + vkv_kernels::attention::KvElem> TieredClusters<E> {
    /// Records in `slow`, cached by `cache`.
    pub fn new(slow: SlowStore<E>, cache: Option<ClusterCache<E>>) -> Self {
        Self {
            slow,
            cache,
            hit: Vec::new(),
            tokens: Vec::new(),
            advice: AdviceLog::default(),
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
        if !self.slow.has_mapped() {
            return;
        }
        self.advice.begin(self.slow.generation());
        for (&c, &h) in ranked.iter().zip(&self.hit) {
            if !h && self.advice.should_advise(c) {
                let (s, l) = meta.record_range(c as usize);
                self.slow.prefetch(s, l);
            }
        }
    }

    /// Read-ahead hints given to the OS since creation (mapped misses, rate-limited).
    pub fn advice_calls(&self) -> u64 {
        self.advice.calls()
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
            ..
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Chunk, SlowFile};

    /// Mapped misses are handed to the OS's read-ahead once per cluster (not at every step);
    /// hits and RAM tiers never are; a changed slow tier re-advises. Records read the same
    /// bytes either way.
    #[test]
    fn mapped_misses_advised_once() -> Result<()> {
        let d = 4;
        let mut meta = ClusterMeta::<f32>::new(d);
        meta.sizes = vec![2, 3, 1];
        meta.starts = vec![0, 2, 5, 6];
        let data: Vec<f32> = (0..2 * d * 6).map(|x| x as f32).collect();
        let f = SlowFile::create(&std::env::temp_dir())?;
        let mut slow = SlowStore::default();
        slow.push(f.append(&data)?);
        let mut t = TieredClusters::new(slow, None);
        t.begin(&[2, 0], &meta);
        assert_eq!(t.advice_calls(), 2);
        let (s, l) = meta.record_range(2);
        assert_eq!(t.record(0, 2, &meta)?, &data[s..s + l]);
        t.finish(&[2, 0], &meta)?;
        t.begin(&[0, 1], &meta);
        assert_eq!(t.advice_calls(), 3, "only cluster 1 is new");
        t.slow.push(Chunk::Ram(vec![0.0; 8]));
        t.begin(&[0], &meta);
        assert_eq!(t.advice_calls(), 4, "a changed slow tier is advised afresh");
        let mut ram = SlowStore::default();
        ram.push(Chunk::Ram(data.clone()));
        let mut r = TieredClusters::new(ram, None);
        r.begin(&[0, 1, 2], &meta);
        assert_eq!(r.advice_calls(), 0, "RAM records are never advised");
        Ok(())
    }
}
