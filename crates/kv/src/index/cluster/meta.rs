//! [`ClusterMeta`]: the meta index of one (layer, kv head) (spec §3.4): per cluster the
//! centroid, value sum and size, where its record lies, and which token positions it holds.
//!
//! Centroids and value sums are stored in the KV element type `E`, as the reference stores
//! them in the model dtype: decode is memory-bound, and at 32K tokens the centroids are the
//! largest thing each step reads, so f16 halves the step's traffic. Sizes stay `u32` (a half
//! type loses exactness above 2048, bf16 above 256). Centroids are in the blocked key layout so
//! that scoring a GQA group against every centroid runs on the SIMD score micro-kernel. Index
//! updates (§3.8) append clusters; rolling an update back truncates them.

use vkv_kernels::attention::layout;
use vkv_kernels::attention::KvElem;

use super::build::BuiltClusters;
use super::record::record_len;

/// The meta index of one (layer, kv head).
#[derive(Debug, Clone)]
pub struct ClusterMeta<E> {
    d: usize,
    /// Centroids in key space, blocked layout (`key_len(C, d)` elements).
    pub centroids: Vec<E>,
    /// Σ of member values, `[C, d]`.
    pub value_sums: Vec<E>,
    /// Members per cluster, `[C]` (0 marks an empty cluster, never selected).
    pub sizes: Vec<u32>,
    /// Record offsets in tokens, `[C + 1]`: cluster c holds tokens `starts[c] .. starts[c+1]` of
    /// the cluster-contiguous order; its record starts at element `2·d·starts[c]`.
    pub starts: Vec<u64>,
    /// Token positions in record order, `[starts[C]]`.
    pub positions: Vec<u32>,
}

impl<E: KvElem> ClusterMeta<E> {
    /// An empty index for head dim `d`.
    pub fn new(d: usize) -> Self {
        Self {
            d,
            centroids: Vec::new(),
            value_sums: Vec::new(),
            sizes: Vec::new(),
            starts: vec![0],
            positions: Vec::new(),
        }
    }

    /// Head dimension.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Clusters C.
    pub fn n_clusters(&self) -> usize {
        self.sizes.len()
    }

    /// Tokens held by clusters.
    pub fn n_tokens(&self) -> usize {
        self.positions.len()
    }

    /// Element range `(start, len)` of cluster `c`'s record in the cluster-contiguous order.
    pub fn record_range(&self, c: usize) -> (usize, usize) {
        (
            2 * self.d * self.starts[c] as usize,
            record_len(self.sizes[c] as usize, self.d),
        )
    }

    /// Token positions held by cluster `c`.
    pub fn members(&self, c: usize) -> &[u32] {
        &self.positions[self.starts[c] as usize..self.starts[c + 1] as usize]
    }

    /// Centroid `c` as f32.
    pub fn centroid(&self, c: usize) -> Vec<f32> {
        let mut r = vec![0.0; self.d];
        layout::key_row(&self.centroids, c, self.d, &mut r);
        r
    }

    /// Append the clusters of `b` (their records go to the slow tier separately).
    pub fn append<R>(&mut self, b: &BuiltClusters<R>) {
        let (n, d) = (self.n_clusters(), self.d);
        layout::push_keys(&mut self.centroids, n, &b.centroids, d);
        self.value_sums
            .extend(b.value_sums.iter().map(|x| E::from_f32(*x)));
        self.sizes.extend_from_slice(&b.sizes);
        let mut s = self.starts.last().copied().unwrap_or(0);
        for &n in &b.sizes {
            s += n as u64;
            self.starts.push(s);
        }
        self.positions.extend_from_slice(&b.positions);
    }

    /// Keep the first `c` clusters.
    pub fn truncate(&mut self, c: usize) {
        if c >= self.n_clusters() {
            return;
        }
        self.centroids.truncate(layout::key_len(c, self.d));
        self.value_sums.truncate(c * self.d);
        self.sizes.truncate(c);
        self.starts.truncate(c + 1);
        self.positions.truncate(self.starts[c] as usize);
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.centroids.len() + self.value_sums.len()) * std::mem::size_of::<E>()
            + self.sizes.len() * 4
            + self.starts.len() * 8
            + self.positions.len() * 4
    }
}
