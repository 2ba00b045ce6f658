//! The wave buffer end to end: where cluster records live must not change a single output bit.
//!
//! Three WaveKv instances decode the same tokens: slow tier in RAM with the default fast tier
//! (3 × nprobe clusters), slow tier in an (unlinked) memory-mapped file with a fast tier of
//! 0.5 × nprobe clusters (far below the KV size), and no fast tier at all. Outputs must be
//! identical through several index updates (which append to the file), and the statistics and
//! memory accounting must show what happened.

mod common;

use common::synth::{synthetic, SynthSpec};
use common::{decode, prefill};
use vkv_kv::{KvBackend, KvDtype, WaveConfig, WaveKv};

#[test]
fn mmap_slow_tier_with_tiny_cache_equals_ram() -> anyhow::Result<()> {
    let (n_prompt, n_gen) = (4096, 100);
    let cap = synthetic(&SynthSpec {
        n_layers: 2,
        hq: 14,
        hk: 2,
        d: 64,
        n: n_prompt + n_gen,
        decode_from: n_prompt,
        needles: 4,
        seed: 11,
        rope: true,
    });
    let base = WaveConfig {
        segment_size: 2048,
        update_interval: 32,
        ..WaveConfig::default()
    };
    let dir = std::env::temp_dir();
    let cfgs = [
        base.clone(),
        WaveConfig {
            cache_factor: 0.5,
            slow_dir: Some(dir.clone()),
            ..base.clone()
        },
        WaveConfig {
            cache_factor: 0.0,
            ..base.clone()
        },
        WaveConfig {
            slow_dir: Some(dir.clone()),
            ..base.clone()
        },
    ];
    let mut kvs = Vec::new();
    for c in cfgs {
        let mut kv = WaveKv::new(cap.attn(cap.n), c, KvDtype::F16)?;
        prefill(&mut kv, &cap, n_prompt, 1024)?;
        kvs.push(kv);
    }
    // The scratch file is unlinked at once: nothing named vkv-wave-<pid>-* is left in the dir.
    let prefix = format!("vkv-wave-{}-", std::process::id());
    assert!(!std::fs::read_dir(&dir)?
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(&prefix)));
    let mut first = Vec::new();
    for t in n_prompt..n_prompt + n_gen {
        let outs: Vec<Vec<Vec<f32>>> = kvs
            .iter_mut()
            .map(|kv| decode(kv, &cap, t))
            .collect::<Result<_, _>>()?;
        assert_eq!(
            outs[1], outs[0],
            "mmap + tiny cache differs from RAM at token {t}"
        );
        assert_eq!(outs[2], outs[0], "no cache differs from RAM at token {t}");
        assert_eq!(
            outs[3], outs[0],
            "mmap + default cache differs from RAM at token {t}"
        );
        first.push(outs[0].clone());
    }
    assert_eq!(kvs[0].head_info(0, 0)?.updates, 3);
    // The fast tier exists only in front of a file: RAM runs report no cache traffic.
    assert_eq!(kvs[0].cache_stats().1, Default::default());
    let (ram, mapped, none) = (
        kvs[3].cache_stats().1,
        kvs[1].cache_stats().1,
        kvs[2].cache_stats().1,
    );
    println!(
        "mmap cache×3: {ram:?} hit rate {:.3}\nmmap cache×0.5: {mapped:?} hit rate {:.3}",
        ram.hit_rate(),
        mapped.hit_rate()
    );
    // Every retrieved cluster is counted once per step and head.
    let per_step = (ram.hits + ram.misses) / n_gen as u64;
    assert!(per_step >= 2 * 2 * 5, "{per_step} clusters per step"); // nprobe = 5 at 4096 tokens, +1 per update
    assert_eq!(ram.hits + ram.misses, mapped.hits + mapped.misses);
    assert!(
        ram.hits > 0 && ram.hit_rate() > mapped.hit_rate(),
        "a larger cache hits more"
    );
    assert!(mapped.misses > 0 && mapped.evicted > 0);
    assert_eq!(none, Default::default());
    // Memory: the mapped run keeps a small fast tier over the whole KV in the slow tier.
    let (m0, m1) = (kvs[0].memory(), kvs[1].memory());
    let kv_bytes = 2 * 2 * (n_prompt + n_gen) * 64 * 2 * 2; // layers·heads·tokens·d·(K,V)·f16
    assert!(
        m1.slow_bytes > kv_bytes * 8 / 10 && m1.slow_bytes <= kv_bytes,
        "slow {} of {kv_bytes}",
        m1.slow_bytes
    );
    assert_eq!(m0.slow_bytes, m1.slow_bytes);
    assert!(
        m1.fast_bytes * 4 < m1.slow_bytes,
        "fast {} slow {}",
        m1.fast_bytes,
        m1.slow_bytes
    );
    assert!(m0.index_bytes > 0 && m0.index_bytes == m1.index_bytes);
    // Truncating back to the prompt drops the appended (mapped) chunks and cached clusters and
    // restores the state after prefill: a replay reproduces every output (warm cache or not).
    kvs[1].truncate(n_prompt)?;
    assert_eq!(
        (kvs[1].n_tokens(), kvs[1].head_info(1, 1)?.updates),
        (n_prompt, 0)
    );
    for t in n_prompt..n_prompt + n_gen {
        assert_eq!(
            decode(&mut kvs[1], &cap, t)?,
            first[t - n_prompt],
            "replay at token {t}"
        );
    }
    Ok(())
}
