//! Attention pieces shared by the sparse backends, built on the kernels' micro-kernels.
//!
//! - [`segments`]: exact attention of one GQA group's query over several disjoint runs of
//!   tokens (a steady zone, cluster records read in place), with LSE.
//! - [`weighted`]: the estimation zone's weighted-denominator attention over
//!   (centroid, value sum, size) triples (spec §1.3), with LSE, so it merges exactly with the
//!   exact parts ([`vkv_kernels::attention::merge_into`], spec §1.2).
//! - [`group_score`]: ranking clusters for a GQA group (softmax over clusters per query head,
//!   summed over the group's heads, spec §3.6 step 1).
//! - [`topk`]: deterministic top-k selection; [`reduce`]: vectorizable maxima.

pub mod group_score;
pub mod reduce;
pub mod segments;
pub mod topk;
pub mod weighted;

pub use group_score::group_cluster_scores;
pub use segments::{attend_segments, Segment, SegmentScratch};
pub use topk::{top_k, top_k_split};
pub use weighted::{weighted_attend, weighted_attend_scored, ScoredClusters, WeightedScratch};
