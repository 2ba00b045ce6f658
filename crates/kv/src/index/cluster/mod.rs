//! The wave index of RetroInfer (spec §3): keys clustered per (layer, kv head) with segmented
//! spherical k-means, and a meta index of (centroid, value sum, size) per cluster that ranks
//! clusters for a query (retrieval zone: read exactly; estimation zone: approximated from the
//! meta index alone; the rest: ignored).
//!
//! - [`config`]: [`WaveConfig`], every knob with the reference defaults, and the budget formulas
//!   of §3.3 ([`IndexPlan`]).
//! - [`kmeans`]: segmented spherical k-means exactly as §3.5, on top of [`assign`], the blocked
//!   inner-product argmax kernel.
//! - [`record`]: the cluster-contiguous record layout of keys and values in the slow tier.
//! - [`meta`]: the meta index ([`ClusterMeta`]) and its growth by index updates (§3.8).
//! - [`build`]: one (layer, kv head)'s index and records from its prompt K/V.

pub mod assign;
pub mod build;
pub mod config;
mod config_str;
pub mod kmeans;
pub mod meta;
pub mod record;

pub use build::{build_clusters, BuiltClusters};
pub use config::{IndexPlan, UpdatePlan, WaveConfig};
pub use kmeans::{segmented_kmeans, Clustering, KmeansParams};
pub use meta::ClusterMeta;
