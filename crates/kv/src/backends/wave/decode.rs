//! Tripartite attention of one decode token for one (layer, kv head) (spec §3.2, §3.6):
//!
//! 1. score every centroid with the group's G query heads (SIMD score micro-kernel over the
//!    blocked centroids), softmax over clusters per head, sum over heads, top `nprobe + es`;
//! 2. retrieval zone = the top `nprobe` clusters: the wave buffer classifies them (hits in the
//!    fast tier, misses in the slow tier; mapped misses start paging in now);
//! 3. estimation zone = the next `es` clusters: weighted attention over (centroid, value sum,
//!    size), reusing the step-1 scores (§1.3) — computed while the misses page in;
//! 4. exact attention over steady zone ∪ retrieval zone in one softmax, every record read in
//!    place, in rank order (so outputs do not depend on where records live);
//! 5. LSE-merge of 4 with 3 (§1.2), then the wave buffer's LRU/admission update (§3.7).
//!
//! Everything else (~75% of the clusters) is ignored.

use vkv_kernels::attention::micro;
use vkv_kernels::attention::{merge_into, Partial};

use super::head::{Ctx, DecodeScratch, HeadState};
use super::WaveElem;
use crate::attn::{
    attend_segments, group_cluster_scores, top_k_split, weighted_attend_scored, ScoredClusters,
    Segment,
};
use crate::index::cluster::record;
use crate::index::cluster::ClusterMeta;
use crate::Result;

/// The clusters a query selects, best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Retrieval zone (read exactly).
    pub retrieval: Vec<u32>,
    /// Estimation zone (approximated from the meta index).
    pub estimation: Vec<u32>,
}

/// Raw scores `raw: [g, ld]` of `q: [g, d]` against every centroid; returns `ld`.
fn score_centroids<E: WaveElem>(
    q: &[f32],
    g: usize,
    d: usize,
    meta: &ClusterMeta<E>,
    raw: &mut Vec<f32>,
) -> usize {
    let c = meta.n_clusters();
    let nb = c.div_ceil(16);
    let ld = nb * 16;
    // The micro-kernel writes all `g × ld` scores: grow without clearing.
    if raw.len() < g * ld {
        raw.resize(g * ld, 0.0);
    }
    if nb > 0 {
        micro::scores::<E>(q, g, d, &meta.centroids, nb, raw, ld);
    }
    ld
}

/// Rank clusters for `q` and split the top `np + es` into the two zones.
fn rank<E: WaveElem>(
    q: &[f32],
    ctx: &Ctx<'_>,
    meta: &ClusterMeta<E>,
    np: usize,
    es: usize,
    sc: &mut DecodeScratch<E>,
) -> Result<(usize, Selection)> {
    let ld = score_centroids(q, ctx.g, ctx.d, meta, &mut sc.raw);
    let (raw, dist) = (&sc.raw, &mut sc.dist);
    let c = meta.n_clusters();
    dist.resize(c, 0.0);
    group_cluster_scores(
        ScoredClusters { raw, ld, g: ctx.g },
        c,
        ctx.scale,
        &meta.sizes,
        dist,
        &mut sc.tmp,
    )?;
    // Only the retrieval zone needs rank order (cache admission, summation order).
    let mut top = top_k_split(&dist[..c], np + es, np, &mut sc.keys);
    let estimation = top.split_off(np.min(top.len()));
    Ok((
        ld,
        Selection {
            retrieval: top,
            estimation,
        },
    ))
}

impl<E: WaveElem> HeadState<E> {
    /// Append the token's `k, v: [d]` to the steady zone and attend `q: [g, d]` over the whole
    /// context; writes `out: [g, d]`.
    /// `sc` is scratch (any thread's).
    pub fn decode(
        &mut self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        ctx: &Ctx<'_>,
        sc: &mut DecodeScratch<E>,
        out: &mut [f32],
    ) -> Result<()> {
        self.steady.push(k, v, ctx.cfg.sinks, self.len);
        self.len += 1;
        self.attend(q, ctx, sc, out)?;
        self.last_lse.clear();
        self.last_lse.extend_from_slice(&sc.lse);
        Ok(())
    }

    /// The zones `q: [g, d]` selects (no attention, no cache traffic): diagnostics and recall.
    pub fn select(&self, q: &[f32], ctx: &Ctx<'_>) -> Result<Selection> {
        let (np, es) = self.zones();
        if self.meta.n_clusters() == 0 {
            return Ok(Selection::default());
        }
        Ok(rank(q, ctx, &self.meta, np, es, &mut DecodeScratch::default())?.1)
    }

    /// Tripartite attention of `q: [g, d]` over what is stored (module docs); `out: [g, d]`.
    pub fn attend(
        &mut self,
        q: &[f32],
        ctx: &Ctx<'_>,
        sc: &mut DecodeScratch<E>,
        out: &mut [f32],
    ) -> Result<()> {
        let (g, d) = (ctx.g, ctx.d);
        let (np, es) = self.zones();
        let Self {
            steady,
            meta,
            tiers,
            ..
        } = self;
        sc.lse.resize(g, 0.0);
        if meta.n_clusters() == 0 || np + es == 0 {
            return attend_segments(
                q,
                g,
                d,
                ctx.scale,
                &[steady.segment()],
                &mut sc.seg,
                out,
                &mut sc.lse,
            );
        }
        let (ld, sel) = rank(q, ctx, meta, np, es, sc)?;
        tiers.begin(&sel.retrieval, meta);
        sc.o_est.resize(g * d, 0.0);
        sc.lse_est.resize(g, 0.0);
        weighted_attend_scored(
            ScoredClusters {
                raw: &sc.raw,
                ld,
                g,
            },
            ctx.scale,
            &sel.estimation,
            &meta.value_sums,
            &meta.sizes,
            d,
            &mut sc.est,
            &mut sc.o_est,
            &mut sc.lse_est,
        )?;
        {
            let mut segs: Vec<Segment<'_, E>> = Vec::with_capacity(sel.retrieval.len() + 1);
            segs.push(steady.segment());
            for (i, &c) in sel.retrieval.iter().enumerate() {
                segs.push(record::segment(
                    tiers.record(i, c, meta)?,
                    meta.sizes[c as usize] as usize,
                    d,
                ));
            }
            attend_segments(q, g, d, ctx.scale, &segs, &mut sc.seg, out, &mut sc.lse)?;
        }
        for h in 0..g {
            let part = Partial {
                out: &sc.o_est[h * d..(h + 1) * d],
                lse: sc.lse_est[h],
            };
            merge_into(&mut out[h * d..(h + 1) * d], &mut sc.lse[h], part);
        }
        tiers.finish(&sel.retrieval, meta)
    }
}
