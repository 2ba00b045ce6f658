//! Exact attention with online softmax, for one KV head and its GQA group of query heads.
//!
//! The caller (a KV backend) owns the key/value layout; this module sees one KV head's keys and
//! values as contiguous rows `[n_ctx, d]` of f32 or f16 ([`KvElem`]). Queries are the G query
//! heads that share that KV head, for `n_new` consecutive tokens. Work is tiled over keys, so no
//! `n_new × n_ctx` score matrix is ever built, and every tile of K/V is converted to f32 once and
//! used by all `n_new·G` queries (this is what makes prefill cache-friendly).
//!
//! Output per (token, head): the normalized attention output and its log-sum-exp, so that
//! disjoint partial results merge exactly ([`merge`]).

mod exact;
mod flash;
pub mod layout;
mod merge;
pub mod micro;

pub use exact::{attend_head_group, GroupQuery};
pub use flash::{flash_attend, KvView, TILE};
pub use merge::{merge_into, Partial};

use half::f16;

/// An element type a KV store may hold.
pub trait KvElem: Copy + Send + Sync + 'static {
    /// Convert a run of elements to f32.
    fn to_f32_slice(src: &[Self], dst: &mut [f32]);
    /// Convert from f32 (storing).
    fn from_f32(v: f32) -> Self;
}

impl KvElem for f32 {
    fn to_f32_slice(src: &[Self], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
    fn from_f32(v: f32) -> Self {
        v
    }
}

impl KvElem for f16 {
    fn to_f32_slice(src: &[Self], dst: &mut [f32]) {
        use half::slice::HalfFloatSliceExt;
        src.convert_to_f32_slice(dst);
    }
    fn from_f32(v: f32) -> Self {
        f16::from_f32(v)
    }
}
