//! What this machine can do right now: FMA peak, streaming read bandwidth and random-access
//! latency, per thread and on all threads. The development and CI machines are shared VMs whose
//! memory in particular varies between days (2026-12-01: a random 64-byte read took ~280 ns
//! where the same VM type had allowed ~2.5× faster wave decode the day before), so a benchmark
//! entry in docs/PERF.md is only comparable with another if both quote this probe, and ratios
//! are only meaningful when measured side by side in one run.
//!
//! `cargo run --release -p vkv-kernels --example machine_probe [-- MiB]` (buffer size, 512 MiB
//! by default: far past the last-level cache).
//!
//! - FMA peak: 12 independent chains of 16-lane (AVX-512) or 8-lane (AVX2) FMAs per thread.
//! - Stream: a sequential sum over the buffer, 8 lanes of u64 at a time (what dense decode's
//!   K/V scan is bound by).
//! - Latency: a pointer chase through a random cyclic permutation of the buffer's 64-byte
//!   lines (what a wave decode step's scattered cluster reads are bound by, before prefetch).

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// FLOP per second of one thread's FMA chains, or 0 without a vector unit we know.
fn fma_rate() -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let f = vkv_kernels::cpu::features();
        let iters = 20_000_000u64;
        let t0 = Instant::now();
        // SAFETY: each body runs only where its feature was detected.
        let (x, lanes) = unsafe {
            if f.avx512 {
                (x86::chains512(iters), 16.0)
            } else if f.avx2 {
                (x86::chains256(iters), 8.0)
            } else {
                return 0.0;
            }
        };
        let secs = t0.elapsed().as_secs_f64();
        std::hint::black_box(x);
        iters as f64 * 12.0 * lanes * 2.0 / secs
    }
    #[cfg(not(target_arch = "x86_64"))]
    0.0
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub unsafe fn chains512(iters: u64) -> f32 {
        let (b, c) = (_mm512_set1_ps(0.999), _mm512_set1_ps(0.001));
        let mut a = [_mm512_setzero_ps(); 12];
        for (i, x) in a.iter_mut().enumerate() {
            *x = _mm512_set1_ps(i as f32);
        }
        for _ in 0..iters {
            for x in a.iter_mut() {
                *x = _mm512_fmadd_ps(*x, b, c);
            }
        }
        a.iter().map(|x| _mm512_reduce_add_ps(*x)).sum()
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn chains256(iters: u64) -> f32 {
        let (b, c) = (_mm256_set1_ps(0.999), _mm256_set1_ps(0.001));
        let mut a = [_mm256_setzero_ps(); 12];
        for (i, x) in a.iter_mut().enumerate() {
            *x = _mm256_set1_ps(i as f32);
        }
        for _ in 0..iters {
            for x in a.iter_mut() {
                *x = _mm256_fmadd_ps(*x, b, c);
            }
        }
        let mut out = [0.0f32; 8];
        let mut s = 0.0;
        for x in a {
            // SAFETY: `out` holds 8 floats.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), x) };
            s += out.iter().sum::<f32>();
        }
        s
    }
}

/// Bytes per second of one sequential pass over `buf`.
fn stream_rate(buf: &[u64]) -> f64 {
    let t0 = Instant::now();
    let mut acc = [0u64; 8];
    for c in buf.chunks_exact(8) {
        for (a, x) in acc.iter_mut().zip(c) {
            *a = a.wrapping_add(*x);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    std::mem::size_of_val(buf) as f64 / secs
}

/// A random cyclic permutation of the buffer's lines: `buf[8·i]` holds the index of the word
/// that starts the next line to visit (Sattolo's algorithm, xorshift, fixed seed).
fn make_chase(buf: &mut [u64]) {
    let lines = buf.len() / 8;
    let mut order: Vec<u64> = (0..lines as u64).collect();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..lines).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % i as u64) as usize);
    }
    for (i, &o) in order.iter().enumerate() {
        buf[o as usize * 8] = order[(i + 1) % lines] * 8;
    }
}

/// Nanoseconds per dependent random read.
fn chase_latency(buf: &[u64], steps: usize) -> f64 {
    let mut c = 0usize;
    let t0 = Instant::now();
    for _ in 0..steps {
        c = buf[c] as usize;
    }
    let secs = t0.elapsed().as_secs_f64();
    std::hint::black_box(c);
    secs * 1e9 / steps as f64
}

/// Runs `f` on `threads` threads at once (each on its own data) and returns the per-thread
/// results.
fn on_threads<T: Send>(threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let hs: Vec<_> = (0..threads).map(|i| s.spawn(move || f(i))).collect();
        hs.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(512);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let words = mib * (1 << 20) / 8 / threads.max(1);
    println!(
        "{threads} threads, {} MiB per thread; medians of 3",
        (words * 8) >> 20
    );
    let mut bufs: Vec<Vec<u64>> = (0..threads).map(|_| vec![1u64; words]).collect();

    let fma1 = median((0..3).map(|_| fma_rate()).collect());
    let fma_all = median(
        (0..3)
            .map(|_| on_threads(threads, |_| fma_rate()).iter().sum())
            .collect(),
    );
    let st1 = median((0..3).map(|_| stream_rate(&bufs[0])).collect());
    let st_all = median(
        (0..3)
            .map(|_| on_threads(threads, |i| stream_rate(&bufs[i])).iter().sum())
            .collect(),
    );
    for b in bufs.iter_mut() {
        make_chase(b);
    }
    let steps = 2_000_000;
    let lat1 = median((0..3).map(|_| chase_latency(&bufs[0], steps)).collect());
    let lat_all = median(
        (0..3)
            .map(|_| {
                let v = on_threads(threads, |i| chase_latency(&bufs[i], steps));
                v.iter().sum::<f64>() / v.len().max(1) as f64
            })
            .collect(),
    );
    println!("| probe | one thread | all {threads} threads |\n|---|---:|---:|");
    println!(
        "| FMA peak, GFLOP/s | {:.1} | {:.1} |",
        fma1 / 1e9,
        fma_all / 1e9
    );
    println!(
        "| stream read, GB/s | {:.1} | {:.1} |",
        st1 / 1e9,
        st_all / 1e9
    );
    println!("| random 64-byte read, ns | {lat1:.0} | {lat_all:.0} |");
}
