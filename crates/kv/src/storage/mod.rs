//! Storage: WHERE the bytes of the KV live, independent of which tokens a query reads.
//!
//! The wave buffer of RetroInfer (spec §3.7) on a CPU: cluster records live in a [`slow`] tier
//! (RAM, or a memory-mapped file so that a context larger than RAM still runs), and a [`cache`]
//! of whole clusters in the fast tier (anonymous RAM) absorbs the retrieval zone's reuse across
//! decode steps. [`tiered`] puts them together for one (layer, kv head).
//!
//! - [`advice`]: rate-limits the OS read-ahead hints for mapped records.
//! - [`pod`]: the plain-old-data element types whose bytes are read in place from files.
//! - [`lru`]: an O(1) intrusive LRU list over cluster ids.

pub mod advice;
pub mod cache;
pub mod lru;
pub mod pod;
pub mod slow;
pub mod tiered;

pub use cache::{CacheStats, ClusterCache};
pub use slow::{Chunk, SlowFile, SlowStore};
pub use tiered::TieredClusters;
