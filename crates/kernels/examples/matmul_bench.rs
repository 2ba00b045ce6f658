//! Matmul benchmark on the real qwen2.5-0.5b shapes and types (synthetic weights: random but
//! valid blocks), fast path vs the portable reference path.
//!
//! The qwen2.5-0.5b Q4_K_M file stores attn_q/k/v/o and ffn_gate/up in Q5_0 (and some attn_v in
//! Q8_0) because 896 columns is not a multiple of the K-quants' 256; ffn_down is Q4_K or Q6_K,
//! the output matrix Q8_0 and the tied-size token embedding Q5_0. The `@1024` rows measure the
//! K-quants on the FFN / output row counts with the nearest valid column count.
//!
//! `cargo run --release -p vkv-kernels --example matmul_bench [-- [m1|m512|m<N>]... [TYPE]... [noref]]`
//!
//! m = 1 reports GB/s of weight bytes streamed; m > 1 reports effective GFLOP/s (2·m·n·k / time).
//! Times are medians over repeated runs (the machine is shared; medians and ratios are what
//! matter). Threads: rayon's default (all cores). "cpu-rate" divides the work by the process
//! CPU time per run over the thread count, i.e. what the threads achieve while they actually
//! run: on a machine loaded by other work it is the better estimate of idle-machine speed.

use std::time::{Duration, Instant};

use vkv_kernels::matmul::Path;
use vkv_kernels::{Bytes, GgmlType, QMatrix, Result};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Random raw blocks with small finite f16 scales: valid data of any size, made fast.
fn random_matrix(ty: GgmlType, rows: usize, cols: usize, seed: u64) -> Result<QMatrix> {
    let mut rng = Rng(seed | 1);
    let n = ty.row_bytes(cols)? * rows;
    let mut b = Vec::with_capacity(n);
    while b.len() < n {
        b.extend_from_slice(&rng.next().to_le_bytes());
    }
    b.truncate(n);
    let f16_at = |blk: &mut [u8], at: usize, rng: &mut Rng| {
        let v = half::f16::from_f32(rng.f32().abs() * 0.01 + 1e-4);
        blk[at..at + 2].copy_from_slice(&v.to_le_bytes());
    };
    for blk in b.chunks_exact_mut(ty.type_size()) {
        match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => f16_at(blk, 0, &mut rng),
            GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K => {
                f16_at(blk, 0, &mut rng);
                f16_at(blk, 2, &mut rng);
            }
            GgmlType::Q6_K => f16_at(blk, 208, &mut rng),
            GgmlType::F16 | GgmlType::BF16 | GgmlType::F32 => {
                let v = rng.f32() * 0.05;
                let bytes: Vec<u8> = match ty {
                    GgmlType::F16 => half::f16::from_f32(v).to_le_bytes().to_vec(),
                    GgmlType::BF16 => half::bf16::from_f32(v).to_le_bytes().to_vec(),
                    _ => v.to_le_bytes().to_vec(),
                };
                blk.copy_from_slice(&bytes);
            }
        }
    }
    QMatrix::new(ty, rows, cols, Bytes::from_vec(b))
}

/// CPU seconds (user + system, all threads) this process has used, from `/proc/self/stat`
/// (clock ticks of 1/100 s); None where unavailable.
fn process_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Timing of one measurement.
struct Timing {
    /// Median wall seconds per run.
    wall: f64,
    /// CPU seconds per run divided by the thread count: the wall time an otherwise idle machine
    /// would show if the threads were busy throughout (robust to time stolen by other load).
    cpu: f64,
}

/// Median seconds of `f` over runs taking about `budget` in total (3..=max_runs runs).
fn median_secs(
    budget: Duration,
    max_runs: usize,
    mut f: impl FnMut() -> Result<()>,
) -> Result<Timing> {
    f()?; // warm-up (page faults, rayon start)
    let mut times = Vec::new();
    let start = Instant::now();
    let cpu0 = process_cpu_secs();
    while times.len() < 3 || (start.elapsed() < budget && times.len() < max_runs) {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu = match (cpu0, process_cpu_secs()) {
        // Below ~20 clock ticks in total the figure is meaningless.
        (Some(a), Some(b)) if b - a >= 0.2 => {
            (b - a) / times.len() as f64 / rayon::current_num_threads() as f64
        }
        _ => f64::NAN,
    };
    times.sort_by(f64::total_cmp);
    Ok(Timing {
        wall: times[times.len() / 2],
        cpu,
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut ms: Vec<usize> = args
        .iter()
        .filter_map(|a| a.strip_prefix('m').and_then(|v| v.parse().ok()))
        .collect();
    if ms.is_empty() {
        ms = vec![1, 512];
    }
    let type_filter: Vec<&String> = args
        .iter()
        .filter(|a| a.starts_with('Q') || a.starts_with('F') || a.starts_with('B'))
        .collect();
    let with_ref = !args.iter().any(|a| a == "noref");
    // `gemv` / `gemv-avx2` / `gemm`: force that path for the fast column (default: what matmul_into picks).
    let force = if args.iter().any(|a| a == "gemv") {
        Some(Path::Gemv(vkv_kernels::quant::dot::DotImpl::best()))
    } else if args.iter().any(|a| a == "gemv-avx2") {
        Some(Path::Gemv(vkv_kernels::quant::dot::DotImpl::Avx2))
    } else if args.iter().any(|a| a == "gemm") {
        Some(Path::Gemm)
    } else {
        None
    };
    // `reps<N>`: exactly N timed runs (for `perf stat` cycle counts), no time budget.
    let reps: Option<usize> = args
        .iter()
        .find_map(|a| a.strip_prefix("reps").and_then(|v| v.parse().ok()));
    use GgmlType::*;
    let shapes: Vec<(&str, usize, usize, Vec<GgmlType>)> = vec![
        ("attn_q/o", 896, 896, vec![Q5_0, Q8_0]),
        ("attn_k/v", 128, 896, vec![Q5_0, Q8_0]),
        ("ffn_gate/up", 4864, 896, vec![Q5_0, Q8_0, Q4_0]),
        ("ffn_down", 896, 4864, vec![Q4_K, Q6_K, Q5_0, Q8_0]),
        ("gate/up@1024", 4864, 1024, vec![Q4_K, Q6_K]),
        ("output", 151936, 896, vec![Q8_0, Q5_0]),
        ("output@1024", 151936, 1024, vec![Q6_K]),
        ("smol ffn_up", 1536, 576, vec![Q4_1, Q5_1]),
        ("smol ffn_dn", 576, 1536, vec![Q4_1]),
        ("float ffn", 4864, 896, vec![F32, F16, BF16]),
    ];
    println!(
        "threads: {}  features: {:?}",
        rayon::current_num_threads(),
        vkv_kernels::cpu::features()
    );
    println!(
        "| {:<12} | {:>6}x{:<5} | {:<5} | {:>4} | {:>10} | {:>13} | {:>13} | {:>10} | {:>13} | {:>7} |",
        "tensor", "rows", "cols", "type", "m", "fast", "fast rate", "fast cpu-rate", "reference", "ref rate", "speedup"
    );
    println!(
        "|{:-<14}|{:-<15}|{:-<7}|{:-<6}|{:-<12}|{:-<15}|{:-<15}|{:-<12}|{:-<15}|{:-<9}|",
        "", "", "", "", "", "", "", "", "", ""
    );
    let mut rng = Rng(77);
    for (name, n, k, types) in shapes {
        for ty in types {
            if !type_filter.is_empty() && !type_filter.iter().any(|t| t.as_str() == ty.name()) {
                continue;
            }
            let w = random_matrix(ty, n, k, 1234 + n as u64)?;
            for &m in &ms {
                let x: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
                let mut y = vec![0.0f32; m * n];
                let work = 2.0 * m as f64 * n as f64 * k as f64;
                let rate = |t: f64| {
                    if t.is_nan() {
                        "-".to_string()
                    } else if m == 1 {
                        format!("{:7.2} GB/s", w.n_bytes() as f64 / t / 1e9)
                    } else {
                        format!("{:6.1} GFLOP/s", work / t / 1e9)
                    }
                };
                let big = work > 5e10;
                let mut fast = || match force {
                    Some(p) => w.matmul_with(p, &x, m, &mut y),
                    None => w.matmul_into(&x, m, &mut y),
                };
                let tf = match reps {
                    Some(r) => median_secs(Duration::ZERO, r.max(3), &mut fast)?,
                    None => median_secs(
                        Duration::from_millis(if big { 3000 } else { 700 }),
                        200,
                        &mut fast,
                    )?,
                };
                let (tr, rr, speed) = if with_ref {
                    let budget = Duration::from_millis(if big { 1 } else { 500 });
                    let tr =
                        median_secs(budget, 50, || w.matmul_with(Path::Reference, &x, m, &mut y))?
                            .wall;
                    (
                        format!("{:8.3}ms", tr * 1e3),
                        rate(tr),
                        format!("{:6.1}x", tr / tf.wall),
                    )
                } else {
                    ("-".into(), "-".into(), "-".into())
                };
                println!(
                    "| {:<12} | {:>6}x{:<5} | {:<5} | {:>4} | {:>8.3}ms | {:>13} | {:>13} | {:>10} | {:>13} | {:>7} |",
                    name,
                    n,
                    k,
                    ty.name(),
                    m,
                    tf.wall * 1e3,
                    rate(tf.wall),
                    rate(tf.cpu),
                    tr,
                    rr,
                    speed
                );
            }
        }
    }
    Ok(())
}
