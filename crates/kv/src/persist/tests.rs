//! Round trips (bit-exact continuation) and the errors of damaged files.

use std::path::PathBuf;

use vkv_kernels::Tensor;

use crate::testutil::rnd;
use crate::{
    AttnConfig, DenseKv, Error, KvBackend, KvDtype, Phase, Qkv, Result, WaveConfig, WaveKv,
};

const ATTN: AttnConfig = AttnConfig {
    n_layers: 2,
    n_q_heads: 4,
    n_kv_heads: 2,
    head_dim: 16,
    max_tokens: 2000,
};

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("vkv-persist-{}-{name}", std::process::id()))
}

/// Keys with some structure (a drifting mean), so that clusters are not degenerate.
type Push<'a> = &'a mut dyn FnMut(usize, &[f32], &[f32]) -> Result<()>;

fn fill(kv: Push<'_>, n: usize) -> Result<()> {
    let per = ATTN.n_kv_heads * ATTN.head_dim;
    for l in 0..ATTN.n_layers {
        let k: Vec<f32> = rnd(n * per, 10 + l as u64)
            .iter()
            .enumerate()
            .map(|(i, x)| x + ((i / per) as f32 / 97.0).sin() * 2.0)
            .collect();
        kv(l, &k, &rnd(n * per, 20 + l as u64))?;
    }
    Ok(())
}

/// Decode token `t` (random q/k/v from `t`) through every layer; all outputs concatenated.
fn step(kv: &mut dyn KvBackend, t: usize) -> Result<Vec<f32>> {
    let (hq, hk, d) = (ATTN.n_q_heads, ATTN.n_kv_heads, ATTN.head_dim);
    let mut out = Vec::new();
    for l in 0..ATTN.n_layers {
        let s = (t * 8 + l) as u64 * 3;
        let (q, k, v) = (
            Tensor::from_vec(&[1, hq, d], rnd(hq * d, s))?,
            Tensor::from_vec(&[1, hk, d], rnd(hk * d, s + 1))?,
            Tensor::from_vec(&[1, hk, d], rnd(hk * d, s + 2))?,
        );
        out.extend(
            kv.attend(
                l,
                Qkv {
                    q: &q,
                    k: &k,
                    v: &v,
                },
                Phase::Decode,
            )?
            .into_vec()?,
        );
    }
    Ok(out)
}

#[test]
fn dense_round_trip_is_bit_exact() -> Result<()> {
    for dtype in [KvDtype::F16, KvDtype::F32] {
        let mut a = DenseKv::new(ATTN, dtype)?;
        fill(&mut |l, k, v| a.push_kv(l, k, v), 300)?;
        step(&mut a, 300)?;
        let p = tmp("dense");
        a.save(&p)?;
        let mut b = DenseKv::load(&p, Some(400))?;
        std::fs::remove_file(&p).ok();
        assert_eq!(
            (b.n_tokens(), b.dtype(), b.attn_config().max_tokens),
            (301, dtype, 400)
        );
        for t in 301..320 {
            assert_eq!(step(&mut a, t)?, step(&mut b, t)?, "{dtype:?} token {t}");
        }
    }
    Ok(())
}

/// An indexed wave context with an index update behind it: saved, loaded into RAM and loaded
/// with its records mapped in place, all three continue bit-identically, truncation included.
#[test]
fn wave_round_trip_is_bit_exact() -> Result<()> {
    let cfg = WaveConfig {
        window: 16,
        update_interval: 64,
        segment_size: 512,
        ..WaveConfig::default()
    };
    let mut a = WaveKv::new(ATTN, cfg.clone(), KvDtype::F16)?;
    assert!(
        matches!(a.save(&tmp("early")), Err(Error::Config(_))),
        "save before the index exists"
    );
    fill(&mut |l, k, v| a.push_kv(l, k, v), 1500)?;
    a.finish_prefill()?;
    for t in 1500..1600 {
        step(&mut a, t)?;
    }
    assert_eq!(a.head_info(0, 0)?.updates, 1);
    let p = tmp("wave");
    a.save(&p)?;
    let mut ram = WaveKv::load(&p, &cfg, None)?;
    let mapped_cfg = WaveConfig {
        slow_dir: Some(std::env::temp_dir()),
        cache_factor: 1.0,
        ..cfg.clone()
    };
    let mut mapped = WaveKv::load(&p, &mapped_cfg, None)?;
    let m = mapped.memory();
    assert!(m.slow_bytes > 0 && m.fast_bytes < m.slow_bytes);
    for l in 0..2 {
        assert_eq!(ram.layer_head_f32(l, 1)?, a.layer_head_f32(l, 1)?);
    }
    for t in 1600..1700 {
        let y = step(&mut a, t)?;
        assert_eq!(step(&mut ram, t)?, y, "RAM load, token {t}");
        assert_eq!(step(&mut mapped, t)?, y, "mapped load, token {t}");
    }
    assert_eq!(
        mapped.head_info(1, 0)?.updates,
        3,
        "updates appended behind a mapped file"
    );
    for kv in [&mut a, &mut ram, &mut mapped] {
        kv.truncate(1500)?;
    }
    let y = step(&mut a, 1500)?;
    assert_eq!(
        (step(&mut ram, 1500)?, step(&mut mapped, 1500)?),
        (y.clone(), y)
    );
    drop(mapped);
    std::fs::remove_file(&p).ok();
    Ok(())
}

#[test]
fn damaged_files_are_clear_errors() -> Result<()> {
    let mut a = DenseKv::new(ATTN, KvDtype::F16)?;
    fill(&mut |l, k, v| a.push_kv(l, k, v), 100)?;
    let p = tmp("damage");
    a.save(&p)?;
    let good = std::fs::read(&p).map_err(|e| Error::io("read", &p, e))?;
    let write = |b: &[u8]| std::fs::write(&p, b).map_err(|e| Error::io("write", &p, e));
    let check = |what: &str, want_corrupt: bool| {
        let r = DenseKv::load(&p, None);
        let ok = match &r {
            Err(Error::Corrupt { .. }) => want_corrupt,
            Err(Error::Incompatible { .. }) => !want_corrupt,
            _ => false,
        };
        assert!(ok, "{what}: {:?}", r.err());
    };
    let mut b = good.clone();
    b[good.len() / 2] ^= 1;
    write(&b)?;
    check("flipped bit in the data", true);
    write(&good[..good.len() - 100])?;
    check("truncated", true);
    write(&good[..20])?;
    check("truncated to the prelude", true);
    let mut b = good.clone();
    b[8] = 9;
    write(&b)?;
    check("another version", false);
    write(b"not a context at all, just text")?;
    check("wrong magic", false);
    write(&good)?;
    assert!(
        matches!(
            WaveKv::load(&p, &WaveConfig::default(), None),
            Err(Error::Incompatible { .. })
        ),
        "dense file loaded as wave"
    );
    assert!(DenseKv::load(&p, None).is_ok());
    assert!(matches!(
        DenseKv::load(&tmp("missing"), None),
        Err(Error::Io { .. })
    ));
    std::fs::remove_file(&p).ok();
    Ok(())
}
