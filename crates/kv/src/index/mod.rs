//! Indexes: WHICH stored tokens a query reads.
//!
//! - [`cluster`]: RetroInfer's wave index (spec §3): segmented spherical k-means clusters of the
//!   keys with a meta index of (centroid, value sum, size) per cluster.

pub mod cluster;
