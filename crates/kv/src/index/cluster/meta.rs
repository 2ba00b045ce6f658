//! [`ClusterMeta`]: the meta index of one (layer, kv head) (spec §3.4): per cluster the
//! centroid, value sum and size, where its record lies, and which token positions it holds.
//!
//! Centroids are kept in the blocked key layout ([`BlockedCentroids`]) so that scoring a GQA
//! group against every centroid runs on the SIMD score micro-kernel. Index updates (§3.8)
//! append clusters; rolling an update back truncates them.

use super::assign::BlockedCentroids;
use super::build::BuiltClusters;
use super::record::record_len;

/// The meta index of one (layer, kv head).
#[derive(Debug, Clone)]
pub struct ClusterMeta {
    /// Centroids in key space, blocked layout.
    pub centroids: BlockedCentroids,
    /// Σ of member values, `[C, d]`.
    pub value_sums: Vec<f32>,
    /// Members per cluster, `[C]` (0 marks an empty cluster, never selected).
    pub sizes: Vec<u32>,
    /// Record offsets in tokens, `[C + 1]`: cluster c holds tokens `starts[c] .. starts[c+1]` of
    /// the cluster-contiguous order; its record starts at element `2·d·starts[c]`.
    pub starts: Vec<u64>,
    /// Token positions in record order, `[starts[C]]`.
    pub positions: Vec<u32>,
}

impl ClusterMeta {
    /// An empty index for head dim `d`.
    pub fn new(d: usize) -> Self {
        Self { centroids: BlockedCentroids { data: Vec::new(), n: 0, d }, value_sums: Vec::new(), sizes: Vec::new(), starts: vec![0], positions: Vec::new() }
    }

    /// Head dimension.
    pub fn d(&self) -> usize {
        self.centroids.d
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
        let d = self.d();
        (2 * d * self.starts[c] as usize, record_len(self.sizes[c] as usize, d))
    }

    /// Token positions held by cluster `c`.
    pub fn members(&self, c: usize) -> &[u32] {
        &self.positions[self.starts[c] as usize..self.starts[c + 1] as usize]
    }

    /// Append the clusters of `b` (their records go to the slow tier separately).
    pub fn append<E>(&mut self, b: &BuiltClusters<E>) {
        self.centroids.push_rows(&b.centroids);
        self.value_sums.extend_from_slice(&b.value_sums);
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
        let d = self.d();
        self.centroids.truncate(c);
        self.value_sums.truncate(c * d);
        self.sizes.truncate(c);
        self.starts.truncate(c + 1);
        self.positions.truncate(self.starts[c] as usize);
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.centroids.data.len() * 4 + self.value_sums.len() * 4 + self.sizes.len() * 4 + self.starts.len() * 8 + self.positions.len() * 4
    }
}
