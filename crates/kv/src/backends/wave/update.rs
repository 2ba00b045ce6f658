//! Index updates during long generation (spec §3.8) and their rollback by `truncate`.
//!
//! Update: once the tail holds `window + update_interval` tokens, its oldest `update_interval`
//! tokens (never sinks, never the newest `window`) are mean-centred and clustered into
//! `update_plan().n_clusters` clusters (one segment), appended to the meta index and the slow
//! tier as a new epoch, and the budgets grow (`nprobe += 1`, `es += 15` by default). With a short
//! prompt (no prompt index) the first update creates the index, as in the reference.
//!
//! Rollback: truncating to a length `n` pops, newest first, every update epoch created after
//! the sequence reached `n`, putting its tokens back into the tail (read from its records,
//! sorted by position), so the state equals the one the sequence had at length `n`. The
//! prompt's own index cannot be rolled back piecewise: [`HeadState::truncate`] reports that the
//! caller must rebuild from all tokens.

use super::head::{store_chunk, Ctx, Epoch, HeadState};
use super::WaveElem;
use crate::index::cluster::record::unpack;
use crate::index::cluster::{build_clusters, KmeansParams};
use crate::Result;

impl<E: WaveElem> HeadState<E> {
    /// Whether the tail is full enough for an index update.
    pub fn needs_update(&self, ctx: &Ctx<'_>) -> bool {
        self.steady.tail_len() >= ctx.cfg.window + ctx.cfg.update_interval
    }

    /// Cluster the tail's oldest `update_interval` tokens into a new epoch (module docs).
    pub fn update(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (cfg, d) = (ctx.cfg, ctx.d);
        let up = cfg.update_plan();
        let (k, v, first) = self.steady.take_oldest(cfg.update_interval);
        let m = k.len() / d;
        let positions: Vec<u32> = (first as u32..(first + m) as u32).collect();
        let p = KmeansParams {
            n_clusters: up.n_clusters,
            n_segments: 1,
            iters: cfg.kmeans_iters,
        };
        let built = build_clusters::<E>(&k, &v, &positions, d, &p)?;
        let epoch = Epoch {
            first_cluster: self.meta.n_clusters(),
            slow_start: self.tiers.slow.len(),
            first_pos: first,
            end_pos: first + m,
            update: true,
            created_len: self.len,
        };
        self.meta.append(&built);
        self.tiers.slow.push(store_chunk(built.records, ctx.file)?);
        self.epochs.push(epoch);
        self.nprobe += up.nprobe;
        self.es += up.es;
        if let Some(c) = &mut self.tiers.cache {
            c.set_capacity(cfg.cache_pages(self.nprobe));
        }
        Ok(())
    }

    /// The tokens of clusters `c0 .. c1` as `(positions, keys, values)` sorted by position.
    fn cluster_rows(
        &self,
        c0: usize,
        c1: usize,
        d: usize,
    ) -> Result<(Vec<u32>, Vec<f32>, Vec<f32>)> {
        let mut rows: Vec<(u32, usize, usize)> = Vec::new(); // (position, cluster, member)
        let mut unpacked = Vec::with_capacity(c1 - c0);
        for c in c0..c1 {
            rows.extend(
                self.meta
                    .members(c)
                    .iter()
                    .enumerate()
                    .map(|(j, &p)| (p, c, j)),
            );
            let (s, l) = self.meta.record_range(c);
            unpacked.push(unpack(
                self.tiers.slow.get(s, l)?,
                self.meta.sizes[c] as usize,
                d,
            ));
        }
        rows.sort_unstable();
        let (mut k, mut v) = (
            Vec::with_capacity(rows.len() * d),
            Vec::with_capacity(rows.len() * d),
        );
        for &(_, c, j) in &rows {
            let (ck, cv) = &unpacked[c - c0];
            k.extend_from_slice(&ck[j * d..(j + 1) * d]);
            v.extend_from_slice(&cv[j * d..(j + 1) * d]);
        }
        Ok((rows.iter().map(|r| r.0).collect(), k, v))
    }

    /// Drop every cluster and epoch (all indexed tokens are being forgotten).
    fn clear_index(&mut self) -> Result<()> {
        self.meta.truncate(0);
        self.tiers.slow.truncate(0)?;
        if let Some(c) = &mut self.tiers.cache {
            c.invalidate_from(0);
        }
        self.epochs.clear();
        (self.nprobe, self.es) = (0, 0);
        Ok(())
    }

    /// Forget positions `≥ n`: index updates created after length `n` are rolled back, so the
    /// state is the one the sequence had at length `n` (repeated benchmarks see the same index).
    /// Returns `false` (and changes nothing) when `n` is shorter than the indexed prompt: the
    /// caller must rebuild.
    pub fn truncate(&mut self, n: usize, ctx: &Ctx<'_>) -> Result<bool> {
        if n >= self.len {
            return Ok(true);
        }
        if n <= self.steady.n_sinks() {
            self.clear_index()?;
        } else if self.epochs.iter().any(|e| !e.update && e.created_len > n) {
            return Ok(false);
        }
        let up = ctx.cfg.update_plan();
        while let Some(e) = self
            .epochs
            .last()
            .copied()
            .filter(|e| e.update && e.created_len > n)
        {
            let (_, k, v) = self.cluster_rows(e.first_cluster, self.meta.n_clusters(), ctx.d)?;
            let (tk, tv) = self.steady.rows(self.steady.n_sinks(), self.steady.len());
            self.steady
                .set_tail(&[k, tk].concat(), &[v, tv].concat(), e.first_pos);
            self.meta.truncate(e.first_cluster);
            self.tiers.slow.truncate(e.slow_start)?;
            self.nprobe -= up.nprobe;
            self.es -= up.es;
            if let Some(c) = &mut self.tiers.cache {
                c.invalidate_from(e.first_cluster as u32);
                c.set_capacity(ctx.cfg.cache_pages(self.nprobe));
            }
            self.epochs.pop();
        }
        self.steady.truncate(n);
        self.len = n;
        Ok(true)
    }

    /// Every stored token as `(keys, values)` `[len, d]` in position order (rebuilds, tests).
    pub fn all_rows(&self, d: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let (mut k, mut v) = self.steady.rows(0, self.steady.n_sinks());
        for (i, e) in self.epochs.iter().enumerate() {
            let c1 = self
                .epochs
                .get(i + 1)
                .map_or(self.meta.n_clusters(), |x| x.first_cluster);
            let (_, ek, ev) = self.cluster_rows(e.first_cluster, c1, d)?;
            k.extend(ek);
            v.extend(ev);
        }
        let (tk, tv) = self.steady.rows(self.steady.n_sinks(), self.steady.len());
        k.extend(tk);
        v.extend(tv);
        Ok((k, v))
    }
}
