//! Attention time per decode step, dense vs wave, on synthetic KV shaped like qwen2.5-0.5b
//! (24 layers, 14 query / 2 kv heads, d = 64; `--kv-heads 1` for an MQA shape with 7 query
//! heads, where one (layer, kv head) is all the work of a step).
//!
//! ```text
//! cargo run --release -p vkv-kv --example wave_bench -- [--ctx 8192,16384,32768] [--steps 32]
//!     [--wave wave:r=0.1,e=0.232,cache=3] [--f32] [--wave-only] [--cache-dir DIR]
//!     [--kv-heads 2]
//! ```
//! For each context: fill both backends with the same prompt K/V (`push_kv`: no O(n²)
//! prefill), build the wave index (timed), then decode `steps` tokens through all layers and
//! time only the `attend` calls. Prints per-step attention time (median), the ratio, the
//! index build time, the fast-tier hit rate, and the output difference to dense (a sanity
//! check: this data is not calibrated for accuracy; see tests/oracle.rs for that).
//!
//! Keys: topic runs + slow drift + noise with RoPE-like rotation (base 10⁶) and two massive
//! low-frequency channels; decode queries follow one earlier topic for a few steps at a time
//! (temporal locality, as in real decoding).

use std::time::Instant;

use vkv_kernels::Tensor;
use vkv_kv::{AttnConfig, DenseKv, KvBackend, KvDtype, Phase, Qkv, WaveConfig, WaveKv};

const LAYERS: usize = 24;
/// Query heads per kv head.
const G: usize = 7;
const D: usize = 64;

struct Rng(u64);

impl Rng {
    fn u(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    fn g(&mut self) -> f32 {
        // Sum of uniforms: cheap, roughly normal, unit variance.
        (self.u() + self.u() + self.u() - 1.5) * 2.0
    }
}

fn rope(x: &mut [f32], pos: usize) {
    let h = x.len() / 2;
    for i in 0..h {
        let th = pos as f64 * 1e6f64.powf(-2.0 * i as f64 / x.len() as f64);
        let (s, c) = th.sin_cos();
        let (a, b) = (x[i] as f64, x[i + h] as f64);
        x[i] = (a * c - b * s) as f32;
        x[i + h] = (a * s + b * c) as f32;
    }
}

/// One layer's data: prompt K/V `[n, hk, D]`, and per decode step q `[G·hk, D]`, k, v `[hk, D]`.
struct LayerData {
    k: Vec<f32>,
    v: Vec<f32>,
    steps: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)>,
}

fn layer_data(n: usize, steps: usize, seed: u64, hk: usize) -> LayerData {
    let hq = G * hk;
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let amp: Vec<f32> = (0..D)
        .map(|i| 0.15 + 0.85 * (i % (D / 2)) as f32 / (D / 2 - 1) as f32)
        .collect();
    let (mut k, mut v) = (vec![0.0f32; n * hk * D], vec![0.0f32; n * hk * D]);
    let mut heads = Vec::new();
    for h in 0..hk {
        let topics: Vec<f32> = (0..256 * D).map(|_| r.g()).collect();
        let mut bias: Vec<f32> = (0..D).map(|_| 0.5 * r.g()).collect();
        bias[D / 2 - 2] += 8.0;
        bias[D - 3] -= 6.0;
        let mut drift = vec![0.0f32; D];
        let (mut left, mut topic) = (0usize, 0usize);
        let mut topic_at = vec![0u16; n];
        for t in 0..n {
            if left == 0 {
                left = 16 + (r.u() * 112.0) as usize;
                topic = (r.u() * 256.0) as usize % 256;
            }
            left -= 1;
            topic_at[t] = topic as u16;
            let row = &mut k[(t * hk + h) * D..(t * hk + h + 1) * D];
            for i in 0..D {
                drift[i] = 0.99 * drift[i] + 0.15 * r.g();
                row[i] = bias[i] + amp[i] * (topics[topic * D + i] + drift[i] + 0.6 * r.g());
            }
            rope(row, t);
            for x in &mut v[(t * hk + h) * D..(t * hk + h + 1) * D] {
                *x = r.g();
            }
        }
        heads.push((topics, topic_at));
    }
    let qbias: Vec<f32> = (0..D).map(|_| 0.6 * r.g()).collect();
    let mut out = Vec::new();
    let mut targets = vec![0usize; hk];
    for s in 0..steps {
        let pos = n + s;
        let mut q = vec![0.0f32; hq * D];
        for (h, (topics, topic_at)) in heads.iter().enumerate() {
            if s % 4 == 0 {
                targets[h] = topic_at[(r.u() * n as f32) as usize % n] as usize;
            }
            for j in 0..G {
                let row = &mut q[(h * G + j) * D..(h * G + j + 1) * D];
                for i in 0..D {
                    row[i] =
                        2.5 * amp[i] * (1.2 * topics[targets[h] * D + i] + 0.4 * r.g()) + qbias[i];
                }
                rope(row, pos);
            }
        }
        let kn: Vec<f32> = (0..hk * D).map(|_| r.g()).collect();
        let vn: Vec<f32> = (0..hk * D).map(|_| r.g()).collect();
        out.push((q, kn, vn));
    }
    LayerData { k, v, steps: out }
}

fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    x[x.len() / 2]
}

/// CPU seconds used so far by every thread of this process (Linux schedstat; 0 elsewhere).
/// On a shared machine, wall time depends on the other tenants; CPU time measures our work.
fn cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|x| x.parse::<f64>().ok())
        })
        .sum::<f64>()
        * 1e-9
}

/// Decode step `s` through every layer; returns the attention wall seconds, CPU seconds and
/// the output.
fn step(
    kv: &mut dyn KvBackend,
    data: &[LayerData],
    s: usize,
    hk: usize,
) -> vkv_kv::Result<(f64, f64, Vec<f32>)> {
    let mut dt = 0.0;
    let c0 = cpu_secs();
    let mut o = Vec::new();
    for (l, ld) in data.iter().enumerate() {
        let (q, k, v) = &ld.steps[s];
        let (q, k, v) = (
            Tensor::from_vec(&[1, G * hk, D], q.clone())?,
            Tensor::from_vec(&[1, hk, D], k.clone())?,
            Tensor::from_vec(&[1, hk, D], v.clone())?,
        );
        let t0 = Instant::now();
        let y = kv.attend(
            l,
            Qkv {
                q: &q,
                k: &k,
                v: &v,
            },
            Phase::Decode,
        )?;
        dt += t0.elapsed().as_secs_f64();
        o.extend(y.into_vec()?);
    }
    Ok((dt, cpu_secs() - c0, o))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let ctxs: Vec<usize> = arg("--ctx")
        .unwrap_or_else(|| "8192,16384,32768".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let steps: usize = arg("--steps").map_or(Ok(32), |s| s.parse())?;
    let hk: usize = arg("--kv-heads").map_or(Ok(2), |s| s.parse())?;
    let hq = G * hk;
    let wave_cfg = WaveConfig::from_kv_str(&arg("--wave").unwrap_or_else(|| "wave".into()))?;
    let dtype = if args.iter().any(|a| a == "--f32") {
        KvDtype::F32
    } else {
        KvDtype::F16
    };
    println!("wave_bench: {LAYERS} layers, {hq}/{hk} heads, d={D}, {dtype:?} KV, {steps} decode steps, {} threads, {}", rayon::current_num_threads(), wave_cfg.to_kv_string());
    println!("| context | dense ms/step (wall, median) | wave ms/step | dense/wave | CPU ms/step dense / wave (mean) | dense/wave (CPU) | index build (or load) s | fast-tier hit rate (clusters / tokens) | wave−dense rel. L2 (sanity) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for &n in &ctxs {
        let data: Vec<LayerData> = (0..LAYERS)
            .map(|l| layer_data(n, steps + 2, 1000 + l as u64, hk))
            .collect();
        let attn = AttnConfig {
            n_layers: LAYERS,
            n_q_heads: hq,
            n_kv_heads: hk,
            head_dim: D,
            max_tokens: n + steps + 2,
        };
        let mut dense = DenseKv::new(attn, dtype)?;
        for (l, ld) in data.iter().enumerate() {
            dense.push_kv(l, &ld.k, &ld.v)?;
        }
        // With --cache-dir, the indexed context is built once, saved, and loaded by later runs
        // (with this run's budgets and fast-tier size): the build column then shows the load.
        let saved = arg("--cache-dir").map(|d| {
            let shape = if hk == 2 {
                String::new()
            } else {
                format!("-hk{hk}")
            };
            std::path::PathBuf::from(d).join(format!("wave-{n}-{dtype:?}{shape}.ctx"))
        });
        let t0 = Instant::now();
        let mut wave = match &saved {
            Some(p) if p.exists() => WaveKv::load(p, &wave_cfg, Some(attn.max_tokens))?,
            _ => {
                let mut w = WaveKv::new(attn, wave_cfg.clone(), dtype)?;
                for (l, ld) in data.iter().enumerate() {
                    w.push_kv(l, &ld.k, &ld.v)?;
                }
                w.finish_prefill()?;
                if let Some(p) = &saved {
                    w.save(p)?;
                }
                w
            }
        };
        let build = t0.elapsed().as_secs_f64();
        let wave_only = args.iter().any(|a| a == "--wave-only");
        // Dense and wave steps alternate, so that load changes on a shared machine hit both.
        let (mut td, mut tw, mut err) = (Vec::new(), Vec::new(), 0.0);
        let (mut cd, mut cw) = (0.0, 0.0);
        for s in 0..steps {
            let (t, c, yw) = step(&mut wave, &data, s, hk)?;
            tw.push(t);
            cw += c / steps as f64;
            if !wave_only {
                let (t, c, yd) = step(&mut dense, &data, s, hk)?;
                td.push(t);
                cd += c / steps as f64;
                let num: f64 = yw
                    .iter()
                    .zip(&yd)
                    .map(|(x, y)| ((x - y) as f64).powi(2))
                    .sum();
                let den: f64 = yd.iter().map(|y| (*y as f64).powi(2)).sum();
                err += (num / den).sqrt() / steps as f64;
            }
        }
        if wave_only {
            println!(
                "| {n} | - | {:.3} | - | {:.2} | - | {build:.1} | {:.2} | - |",
                median(tw) * 1e3,
                cw * 1e3,
                wave.cache_stats().1.hit_rate()
            );
            continue;
        }
        let (_, total) = wave.cache_stats();
        let (md, mw) = (median(td) * 1e3, median(tw) * 1e3);
        println!("| {n} | {md:.2} | {mw:.3} | {:.1}× | {:.2} / {:.2} | {:.1}× | {build:.1} | {:.2} / {:.2} | {err:.3} |", md / mw, cd * 1e3, cw * 1e3, cd / cw, total.hit_rate(), total.token_hit_rate());
        let m = wave.memory();
        eprintln!("  ctx {n}: wave memory fast {:.1} MiB, slow {:.1} MiB, index {:.1} MiB; dense {:.1} MiB", m.fast_bytes as f64 / 1048576.0, m.slow_bytes as f64 / 1048576.0, m.index_bytes as f64 / 1048576.0, dense.memory().fast_bytes as f64 / 1048576.0);
    }
    Ok(())
}
