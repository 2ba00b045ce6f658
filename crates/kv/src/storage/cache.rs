//! The fast-tier cluster cache of the wave buffer (spec §3.7, `wave_buffer_cpu.cpp::BufferManager`).
//!
//! Granularity: a whole cluster record; capacity is counted in pages of `page_size` tokens (a
//! cluster of n tokens takes `⌈n/page⌉`). One cache per (layer, kv head), with its own LRU.
//! A decode step calls [`ClusterCache::access`] with the retrieval zone's clusters in rank order
//! (hit/miss classification and statistics), reads hits from the cache and misses from the slow
//! tier, then [`ClusterCache::update`] (the reference's `batch_update`):
//! 1. hits, in reverse rank order, move to the LRU front (the best-ranked hit ends most recent);
//! 2. admission: misses in rank order while their cumulative pages fit the capacity (a prefix:
//!    stop at the first that does not fit);
//! 3. eviction: pop LRU-tail clusters until the admitted ones fit;
//! 4. copy each admitted record in and push it to the front.

use super::lru::Lru;
use crate::Result;

/// Hit/miss counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Clusters found in the cache.
    pub hits: u64,
    /// Clusters read from the slow tier.
    pub misses: u64,
    /// Tokens of the hit clusters.
    pub hit_tokens: u64,
    /// Tokens of the missed clusters.
    pub miss_tokens: u64,
    /// Clusters copied into the cache.
    pub admitted: u64,
    /// Clusters evicted.
    pub evicted: u64,
}

impl CacheStats {
    /// Fraction of retrieved clusters that hit (0 when nothing was retrieved).
    pub fn hit_rate(&self) -> f64 {
        let t = self.hits + self.misses;
        if t == 0 {
            0.0
        } else {
            self.hits as f64 / t as f64
        }
    }

    /// Fraction of retrieved tokens that hit (the reference's "vector hit ratio").
    pub fn token_hit_rate(&self) -> f64 {
        let t = self.hit_tokens + self.miss_tokens;
        if t == 0 {
            0.0
        } else {
            self.hit_tokens as f64 / t as f64
        }
    }

    /// Component-wise sum.
    pub fn add(&mut self, o: &CacheStats) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.hit_tokens += o.hit_tokens;
        self.miss_tokens += o.miss_tokens;
        self.admitted += o.admitted;
        self.evicted += o.evicted;
    }
}

/// A cache of cluster records.
#[derive(Debug)]
pub struct ClusterCache<E> {
    capacity_pages: usize,
    used_pages: usize,
    page_size: usize,
    lru: Lru,
    slots: Vec<Option<Box<[E]>>>,
    pages: Vec<u32>,
    /// Statistics of the last step.
    pub step: CacheStats,
    /// Statistics since creation.
    pub total: CacheStats,
}

impl<E: Copy> ClusterCache<E> {
    /// An empty cache of `capacity_pages` pages of `page_size` tokens.
    pub fn new(capacity_pages: usize, page_size: usize) -> Self {
        Self {
            capacity_pages,
            used_pages: 0,
            page_size: page_size.max(1),
            lru: Lru::default(),
            slots: Vec::new(),
            pages: Vec::new(),
            step: CacheStats::default(),
            total: CacheStats::default(),
        }
    }

    /// Capacity in pages.
    pub fn capacity_pages(&self) -> usize {
        self.capacity_pages
    }

    /// Pages in use.
    pub fn used_pages(&self) -> usize {
        self.used_pages
    }

    /// Change the capacity (budgets grow with index updates); evicts down to a smaller one.
    pub fn set_capacity(&mut self, pages: usize) {
        self.capacity_pages = pages;
        while self.used_pages > self.capacity_pages {
            if !self.evict_one() {
                break;
            }
        }
    }

    /// The cached record of cluster `c`.
    pub fn get(&self, c: u32) -> Option<&[E]> {
        self.slots.get(c as usize).and_then(|s| s.as_deref())
    }

    /// Cached clusters from most to least recent.
    pub fn lru_order(&self) -> Vec<u32> {
        self.lru.iter().collect()
    }

    /// Classify the ranked clusters (`tokens[i]`: size of `ranked[i]`): `hit[i]` is whether
    /// `ranked[i]` is cached. Starts a new step of statistics.
    pub fn access(&mut self, ranked: &[u32], tokens: &[u32], hit: &mut Vec<bool>) {
        hit.clear();
        self.step = CacheStats::default();
        for (&c, &n) in ranked.iter().zip(tokens) {
            let h = self.get(c).is_some();
            hit.push(h);
            if h {
                self.step.hits += 1;
                self.step.hit_tokens += n as u64;
            } else {
                self.step.misses += 1;
                self.step.miss_tokens += n as u64;
            }
        }
    }

    fn evict_one(&mut self) -> bool {
        let Some(v) = self.lru.pop_back() else {
            return false;
        };
        if let Some(s) = self.slots.get_mut(v as usize) {
            *s = None;
        }
        self.used_pages -= self.pages.get(v as usize).copied().unwrap_or(0) as usize;
        self.step.evicted += 1;
        true
    }

    /// The reference's `batch_update` after a step's reads (see the module docs). `tokens[i]` is
    /// the size of `ranked[i]`; `fetch(c)` reads cluster c's record from the slow tier.
    pub fn update<'a, F>(
        &mut self,
        ranked: &[u32],
        tokens: &[u32],
        hit: &[bool],
        mut fetch: F,
    ) -> Result<()>
    where
        F: FnMut(u32) -> Result<&'a [E]>,
        E: 'a,
    {
        for (i, &c) in ranked.iter().enumerate().rev() {
            if hit[i] {
                self.lru.push_front(c);
            }
        }
        let mut admit = Vec::new();
        let mut need = 0usize;
        for (i, &c) in ranked.iter().enumerate() {
            if hit[i] {
                continue;
            }
            let p = (tokens[i] as usize).div_ceil(self.page_size);
            if need + p > self.capacity_pages {
                break;
            }
            need += p;
            admit.push((c, p));
        }
        while self.capacity_pages - self.used_pages.min(self.capacity_pages) < need {
            if !self.evict_one() {
                break;
            }
        }
        for (c, p) in admit {
            let rec: Box<[E]> = fetch(c)?.into();
            let i = c as usize;
            if self.slots.len() <= i {
                self.slots.resize_with(i + 1, || None);
                self.pages.resize(i + 1, 0);
            }
            self.slots[i] = Some(rec);
            self.pages[i] = p as u32;
            self.used_pages += p;
            self.lru.push_front(c);
            self.step.admitted += 1;
        }
        self.total.add(&self.step);
        Ok(())
    }

    /// Drop every cached cluster with id ≥ `c` (index-update rollback).
    pub fn invalidate_from(&mut self, c: u32) {
        for id in (c as usize)..self.slots.len() {
            if self.slots[id].take().is_some() {
                self.lru.remove(id as u32);
                self.used_pages -= self.pages[id] as usize;
            }
        }
    }

    /// Bytes of cached records.
    pub fn bytes(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .map(|s| s.len() * std::mem::size_of::<E>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records are `[c; size]`; sizes are 8·(c mod 3 + 1) tokens, so cluster c takes c mod 3 + 1
    /// pages of 8.
    fn run(cache: &mut ClusterCache<u32>, ranked: &[u32]) -> Vec<bool> {
        let sizes: Vec<u32> = ranked.iter().map(|c| 8 * (c % 3 + 1)).collect();
        let store: Vec<Vec<u32>> = (0..20).map(|c| vec![c; 8 * (c as usize % 3 + 1)]).collect();
        let mut hit = Vec::new();
        cache.access(ranked, &sizes, &mut hit);
        for (&c, &h) in ranked.iter().zip(&hit) {
            if h {
                assert_eq!(cache.get(c), Some(&store[c as usize][..]));
            }
        }
        cache
            .update(ranked, &sizes, &hit, |c| Ok(&store[c as usize][..]))
            .ok();
        hit
    }

    /// A scripted access sequence: hit/miss classification and counts, LRU order after each
    /// step (best-ranked hit most recent, admitted misses pushed in rank order), eviction of
    /// the LRU tail, and rank-prefix admission (a miss that does not fit stops admission).
    #[test]
    fn scripted_sequence() {
        let mut c = ClusterCache::<u32>::new(6, 8);
        // Step 1: all miss; pages 1 (c=0), 2 (c=1), 3 (c=2) = 6 fit exactly.
        assert_eq!(run(&mut c, &[0, 1, 2]), vec![false; 3]);
        assert_eq!(c.lru_order(), vec![2, 1, 0]);
        assert_eq!(
            (
                c.step.misses,
                c.step.miss_tokens,
                c.step.admitted,
                c.used_pages()
            ),
            (3, 48, 3, 6)
        );
        // Step 2: 1 and 0 hit (moved to the front in reverse rank: 1 ends most recent);
        // 3 (1 page) misses: evicts the tail (2, 3 pages), admitted at the front.
        assert_eq!(run(&mut c, &[1, 3, 0]), vec![true, false, true]);
        assert_eq!(c.lru_order(), vec![3, 1, 0]);
        assert_eq!((c.step.hits, c.step.hit_tokens, c.step.evicted), (2, 24, 1));
        assert!(c.get(2).is_none());
        // Step 3: rank-prefix admission. 5 (3 pages) and 4 (2 pages) fit the capacity together
        // (5 ≤ 6) but 8 (3 pages) would not: admission stops at 8 although 6 (1 page) behind it
        // would fit. Eviction pops the tail until 5 pages are free: 0 (1 page), then 1 (2).
        assert_eq!(run(&mut c, &[5, 4, 8, 6]), vec![false; 4]);
        assert_eq!(c.lru_order(), vec![4, 5, 3]);
        assert_eq!((c.step.admitted, c.step.evicted, c.used_pages()), (2, 2, 6));
        assert!(c.get(6).is_none() && c.get(8).is_none());
        // A cluster larger than the whole capacity is never admitted.
        let mut small = ClusterCache::<u32>::new(2, 8);
        run(&mut small, &[2]);
        assert_eq!((small.step.admitted, small.used_pages()), (0, 0));
        // Cumulative statistics and rates.
        assert_eq!((c.total.hits, c.total.misses), (2, 8));
        assert!((c.total.hit_rate() - 0.2).abs() < 1e-12);
        c.invalidate_from(5);
        assert_eq!((c.lru_order(), c.used_pages()), (vec![4, 3], 3));
        c.set_capacity(1);
        assert_eq!((c.lru_order(), c.used_pages()), (vec![], 0));
    }
}
