//! Attention micro-benchmark: one KV head's GQA group (qwen2.5-0.5b shapes: G = 7, d = 64,
//! f16 K/V) at several depths, prefill (512 new tokens) and decode (1 token), 2 KV heads run
//! in parallel as in a real layer. Prints time per layer, GFLOP/s (4·n_q·n_k·d per head:
//! QKᵀ and PV), that rate as a percentage of the FMA peak measured beside it (which moves with
//! the shared machine's clock less than the rate does) and, for decode, the K/V bytes read per
//! second.
//!
//! `cargo run --release -p vkv-kernels --example attn_bench [depths...]`

use std::time::Instant;

use half::f16;
use rayon::prelude::*;
use vkv_kernels::attention::{flash_attend, layout, GroupQuery, KvView};

fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> vkv_kernels::Result<()> {
    let depths: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let depths = if depths.is_empty() {
        vec![4096, 16384, 32768]
    } else {
        depths
    };
    let (g, d, hk) = (7usize, 64usize, 2usize);
    println!(
        "| test | depth | ms / layer | GFLOP/s | % of FMA peak | KV GB/s |\n|---|---:|---:|---:|---:|---:|"
    );
    for &depth in &depths {
        for (test, n_new) in [("decode", 1usize), ("prefill512", 512)] {
            let n = depth + n_new;
            let heads: Vec<(Vec<f16>, Vec<f16>, Vec<f32>)> = (0..hk)
                .map(|h| {
                    let k = rnd(n * d, 1 + h as u64);
                    let v: Vec<f16> = rnd(n * d, 9 + h as u64)
                        .iter()
                        .map(|x| f16::from_f32(*x))
                        .collect();
                    (
                        layout::to_blocked::<f16>(&k, d),
                        v,
                        rnd(n_new * g * d, 5 + h as u64),
                    )
                })
                .collect();
            let reps = if n_new == 1 { 20 } else { 3 };
            let mut times = Vec::new();
            let mut peaks = Vec::new();
            for _ in 0..reps {
                peaks.push(hk as f64 * vkv_kernels::probe::fma_peak_gflops());
                let t0 = Instant::now();
                // Split like DenseKv: prefill by 16-token chunks per head, decode by key ranges.
                let tasks: Vec<(usize, usize, usize)> = if n_new == 1 {
                    let per = n.div_ceil(2).div_ceil(16) * 16;
                    (0..hk)
                        .flat_map(|h| {
                            (0..n)
                                .step_by(per)
                                .map(move |k0| (h, k0, (k0 + per).min(n)))
                        })
                        .collect()
                } else {
                    (0..hk)
                        .flat_map(|h| (0..n_new).step_by(16).map(move |t0| (h, t0, 0)))
                        .collect()
                };
                tasks
                    .par_iter()
                    .try_for_each(|&(h, a, b)| -> vkv_kernels::Result<()> {
                        let (kb, v, q) = &heads[h];
                        if n_new == 1 {
                            let (mut o, mut l) = (vec![0.0; g * d], vec![0.0; g]);
                            let gq = GroupQuery {
                                q,
                                n_new: 1,
                                g,
                                d,
                                stride_t: g * d,
                                first_pos: n - 1 - a,
                                scale: 0.125,
                            };
                            flash_attend(
                                gq,
                                KvView {
                                    keys: &kb[a * d..],
                                    values: &v[a * d..b * d],
                                    n: b - a,
                                },
                                &mut o,
                                g * d,
                                &mut l,
                            )
                        } else {
                            let nt = 16.min(n_new - a);
                            let (mut o, mut l) = (vec![0.0; nt * g * d], vec![0.0; nt * g]);
                            let gq = GroupQuery {
                                q: &q[a * g * d..],
                                n_new: nt,
                                g,
                                d,
                                stride_t: g * d,
                                first_pos: depth + a,
                                scale: 0.125,
                            };
                            flash_attend(
                                gq,
                                KvView {
                                    keys: kb,
                                    values: v,
                                    n,
                                },
                                &mut o,
                                g * d,
                                &mut l,
                            )
                        }
                    })?;
                times.push(t0.elapsed().as_secs_f64());
            }
            let t = median(times);
            let flop =
                4.0 * (n_new * g * hk) as f64 * (depth as f64 + n_new as f64 / 2.0) * d as f64;
            let kv_bytes = (2 * n * d * 2 * hk) as f64;
            let gbs = if n_new == 1 {
                format!("{:.1}", kv_bytes / t / 1e9)
            } else {
                "–".into()
            };
            let peak = median(peaks);
            println!(
                "| {test} | {depth} | {:.3} | {:.1} | {:.0} | {gbs} |",
                t * 1e3,
                flop / t / 1e9,
                100.0 * flop / t / 1e9 / peak
            );
        }
    }
    Ok(())
}
