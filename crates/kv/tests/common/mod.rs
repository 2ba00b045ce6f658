//! Shared helpers of the kv integration tests: attention captures (synthetic, or real
//! activations from a [`vkv_kv::capture`] file named by `VKV_CAPTURE`), driving a backend
//! through prefill and decode, error metrics.
#![allow(dead_code)]

pub mod synth;

use std::path::Path;

pub use vkv_kv::capture::Capture;
use vkv_kv::{KvBackend, Phase, Qkv};

/// Prefill tokens `0..n` in chunks of `chunk`, then `finish_prefill`.
pub fn prefill(
    kv: &mut dyn KvBackend,
    cap: &Capture,
    n: usize,
    chunk: usize,
) -> vkv_kv::Result<()> {
    let mut t0 = 0;
    while t0 < n {
        let t1 = (t0 + chunk).min(n);
        for l in 0..cap.n_layers {
            let (q, k, v) = cap.qkv(l, t0, t1)?;
            kv.attend(
                l,
                Qkv {
                    q: &q,
                    k: &k,
                    v: &v,
                },
                Phase::Prefill,
            )?;
        }
        t0 = t1;
    }
    kv.finish_prefill()
}

/// Decode token `t` through every layer; returns each layer's output `[hq·d]`.
pub fn decode(kv: &mut dyn KvBackend, cap: &Capture, t: usize) -> vkv_kv::Result<Vec<Vec<f32>>> {
    (0..cap.n_layers)
        .map(|l| {
            let (q, k, v) = cap.qkv(l, t, t + 1)?;
            Ok(kv
                .attend(
                    l,
                    Qkv {
                        q: &q,
                        k: &k,
                        v: &v,
                    },
                    Phase::Decode,
                )?
                .into_vec()?)
        })
        .collect()
}

/// ‖a − b‖ / ‖b‖.
pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (num / den.max(1e-30)).sqrt()
}

/// Exact LSE (f64) of the group query `q: [g, d]` over keys `[n, d]`, scaled by `1/√d`.
pub fn exact_lse(q: &[f32], keys: &[f32], d: usize) -> Vec<f64> {
    q.chunks_exact(d)
        .map(|qh| {
            let s: Vec<f64> = keys
                .chunks_exact(d)
                .map(|k| {
                    qh.iter()
                        .zip(k)
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum::<f64>()
                        / (d as f64).sqrt()
                })
                .collect();
            let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            m + s.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
        })
        .collect()
}

/// Mean and max of a sample.
pub fn mean_max(x: &[f64]) -> (f64, f64) {
    (
        x.iter().sum::<f64>() / x.len().max(1) as f64,
        x.iter().copied().fold(0.0, f64::max),
    )
}

/// The `VKV_CAPTURE` file, if set.
pub fn env_capture() -> Option<Capture> {
    let p = std::env::var_os("VKV_CAPTURE")?;
    Some(Capture::load(Path::new(&p)).expect("VKV_CAPTURE must name a VKVCAP01 file"))
}
