//! Saving and loading an indexed [`WaveKv`]: KV + index + config in one file.
//!
//! Per (layer, kv head): sequence length, steady zone (raw blocked keys/values), meta index
//! (centroids, value sums, sizes, record offsets, positions), epochs, and the cluster records as
//! one array per epoch. On load the records either stay in the file — mapped in place as the
//! slow tier when the config has a `slow_dir`, so a saved context larger than RAM loads
//! without reading it into memory — or are copied into RAM.
//!
//! The index structure (sinks, window, cluster size, segment size, k-means iterations, update
//! interval) comes from the file; the run-time knobs (budgets, fast-tier size, page size, slow
//! tier) come from the caller, and the budgets are recomputed from them (§3.3, §3.8), so one
//! saved context can be decoded with other budgets.

use std::path::Path;

use half::f16;
use vkv_kernels::attention::layout;

use super::container::{Kind, Reader, Writer};
use super::dense::{dtype_code, get_attn, put_attn, MAX_COUNT};
use crate::backends::wave::head::{Epoch, HeadState};
use crate::backends::wave::steady::Steady;
use crate::backends::wave::{AnyWave, State, WaveElem, WaveKv, WaveStore};
use crate::index::cluster::{ClusterMeta, WaveConfig};
use crate::storage::{Chunk, ClusterCache, SlowStore, TieredClusters};
use crate::{Error, KvDtype, Result};

fn put_head<'a, E: WaveElem>(w: &mut Writer<'a>, h: &'a HeadState<E>) {
    w.usize(h.len);
    let (k, v, n_sinks, n, tail_start) = h.steady.raw();
    for x in [n_sinks, n, tail_start] {
        w.usize(x);
    }
    w.array(k);
    w.array(v);
    let m = &h.meta;
    w.array(&m.centroids);
    w.array(&m.value_sums);
    w.array(&m.sizes);
    w.array(&m.starts);
    w.array(&m.positions);
    w.usize(h.epochs.len());
    for e in &h.epochs {
        for x in [
            e.first_cluster,
            e.slow_start,
            e.first_pos,
            e.end_pos,
            e.update as usize,
            e.created_len,
        ] {
            w.usize(x);
        }
    }
    w.usize(h.tiers.slow.chunks().len());
    for c in h.tiers.slow.chunks() {
        w.array(c.as_slice());
    }
}

fn save_store<E: WaveElem>(s: &WaveStore<E>, path: &Path) -> Result<()> {
    let State::Indexed(layers) = &s.state else {
        return Err(Error::Config(
            "wave: save after finish_prefill (the index is what is saved)".into(),
        ));
    };
    let mut w = Writer::new();
    put_attn(&mut w, &s.attn);
    let c = &s.cfg;
    w.f64(c.retrieval_budget);
    w.f64(c.estimation_budget);
    for x in [
        c.sinks,
        c.window,
        c.avg_cluster_size,
        c.segment_size,
        c.kmeans_iters,
        c.update_interval,
        c.page_size,
    ] {
        w.usize(x);
    }
    w.f64(c.cache_factor);
    for h in layers.iter().flatten() {
        put_head(&mut w, h);
    }
    w.write(path, Kind::Wave, dtype_code(s.dtype))
}

fn get_head<E: WaveElem>(
    r: &mut Reader,
    cfg: &WaveConfig,
    d: usize,
    max_tokens: usize,
) -> Result<HeadState<E>> {
    let bad = |r: &Reader, why: String| Error::Corrupt {
        path: r.path().into(),
        reason: why,
    };
    let len = r.usize(max_tokens)?;
    let (n_sinks, n, tail_start) = (
        r.usize(MAX_COUNT)?,
        r.usize(MAX_COUNT)?,
        r.usize(MAX_COUNT)?,
    );
    let (k, v) = (r.vec::<E>()?, r.vec::<E>()?);
    let steady = Steady::from_raw(d, k, v, n_sinks, n, tail_start).ok_or_else(|| {
        bad(
            r,
            format!("steady zone of {n} tokens does not fit its arrays"),
        )
    })?;
    let mut meta = ClusterMeta::<E>::new(d);
    meta.centroids = r.vec()?;
    meta.value_sums = r.vec()?;
    meta.sizes = r.vec()?;
    meta.starts = r.vec()?;
    meta.positions = r.vec()?;
    let c = meta.sizes.len();
    let starts_ok = meta.starts.len() == c + 1
        && meta.starts[0] == 0
        && meta
            .starts
            .windows(2)
            .zip(&meta.sizes)
            .all(|(w, &s)| w[1] == w[0] + s as u64);
    if !starts_ok
        || meta.centroids.len() != layout::key_len(c, d)
        || meta.value_sums.len() != c * d
        || meta.positions.len() as u64 != meta.starts[c]
    {
        return Err(bad(
            r,
            format!("meta index of {c} clusters is inconsistent"),
        ));
    }
    let n_epochs = r.usize(MAX_COUNT)?;
    let mut epochs = Vec::with_capacity(n_epochs.min(1 << 16));
    for _ in 0..n_epochs {
        let mut f = [0usize; 6];
        for x in &mut f {
            *x = r.usize(MAX_COUNT)?;
        }
        epochs.push(Epoch {
            first_cluster: f[0],
            slow_start: f[1],
            first_pos: f[2],
            end_pos: f[3],
            update: f[4] != 0,
            created_len: f[5],
        });
    }
    let mut slow = SlowStore::default();
    let n_chunks = r.usize(MAX_COUNT)?;
    for i in 0..n_chunks {
        let chunk = if cfg.slow_dir.is_some() {
            r.chunk::<E>()?
        } else {
            Chunk::Ram(r.vec::<E>()?)
        };
        if epochs.get(i).map(|e| e.slow_start) != Some(slow.len()) {
            return Err(bad(r, format!("record chunk {i} does not start its epoch")));
        }
        slow.push(chunk);
    }
    let cl_ok = epochs
        .windows(2)
        .all(|w| w[0].first_cluster <= w[1].first_cluster)
        && epochs.last().is_none_or(|e| e.first_cluster <= c);
    if n_chunks != epochs.len()
        || slow.len() as u64 != 2 * d as u64 * meta.starts[c]
        || !cl_ok
        || len != tail_start + (n - n_sinks)
    {
        return Err(bad(r, "records, epochs and lengths do not match".into()));
    }
    // Budgets from the caller's knobs: the prompt's plan plus the growth of each update.
    let up = cfg.update_plan();
    let (mut nprobe, mut es) = epochs.iter().find(|e| !e.update).map_or((0, 0), |e| {
        let p = cfg.plan(e.created_len);
        (p.nprobe, p.es)
    });
    let updates = epochs.iter().filter(|e| e.update).count();
    nprobe += updates * up.nprobe;
    es += updates * up.es;
    let cache = cfg
        .fast_tier()
        .then(|| ClusterCache::new(cfg.cache_pages(nprobe), cfg.page_size));
    Ok(HeadState {
        steady,
        meta,
        tiers: TieredClusters::new(slow, cache),
        epochs,
        nprobe,
        es,
        len,
        last_lse: Vec::new(),
    })
}

fn load_store<E: WaveElem>(
    r: &mut Reader,
    runtime: &WaveConfig,
    dtype: KvDtype,
    max_tokens: Option<usize>,
) -> Result<WaveStore<E>> {
    let mut attn = get_attn(r)?;
    let (_r, _e) = (r.f64()?, r.f64()?); // the saver's budgets: informational, the caller's win
    let mut f = [0usize; 7];
    for x in &mut f {
        *x = r.usize(MAX_COUNT)?;
    }
    let _cache = r.f64()?;
    let cfg = WaveConfig {
        sinks: f[0],
        window: f[1],
        avg_cluster_size: f[2],
        segment_size: f[3],
        kmeans_iters: f[4],
        update_interval: f[5],
        ..runtime.clone()
    };
    cfg.validate()?;
    attn.max_tokens = max_tokens.unwrap_or(attn.max_tokens);
    let heads = (0..attn.n_layers * attn.n_kv_heads)
        .map(|_| get_head::<E>(r, &cfg, attn.head_dim, attn.max_tokens))
        .collect::<Result<Vec<_>>>()?;
    r.done()?;
    let mut layers: Vec<Vec<HeadState<E>>> = Vec::new();
    let mut it = heads.into_iter();
    for _ in 0..attn.n_layers {
        layers.push(it.by_ref().take(attn.n_kv_heads).collect());
    }
    let mut s = WaveStore {
        attn,
        cfg,
        dtype,
        file: None,
        state: State::Indexed(layers),
        pool: Default::default(),
    };
    s.ensure_file()?;
    Ok(s)
}

impl WaveKv {
    /// Save the indexed context (KV, index, config) to `path` (format: [`crate::persist`]).
    /// Errors before `finish_prefill`. The fast-tier cache is not saved (it starts cold).
    pub fn save(&self, path: &Path) -> Result<()> {
        match &self.inner {
            AnyWave::F16(s) => save_store(s, path),
            AnyWave::F32(s) => save_store(s, path),
        }
    }

    /// Load a context saved by [`WaveKv::save`], with the run-time knobs of `cfg` (module docs);
    /// `max_tokens` overrides the saved capacity. With `cfg.slow_dir` set, the records are
    /// mapped from `path` in place (keep the file while the cache lives).
    pub fn load(path: &Path, cfg: &WaveConfig, max_tokens: Option<usize>) -> Result<Self> {
        cfg.validate()?;
        let mut r = Reader::open(path, Kind::Wave)?;
        let inner = match r.dtype {
            0 => AnyWave::F16(load_store::<f16>(&mut r, cfg, KvDtype::F16, max_tokens)?),
            1 => AnyWave::F32(load_store::<f32>(&mut r, cfg, KvDtype::F32, max_tokens)?),
            x => {
                return Err(Error::Incompatible {
                    path: path.into(),
                    reason: format!("unknown element type code {x}"),
                })
            }
        };
        Ok(Self { inner })
    }
}
