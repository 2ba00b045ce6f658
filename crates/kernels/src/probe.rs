//! A few seconds' measurement of what the machine can do right now: FMA peak, streaming read
//! bandwidth and the latency of a random 64-byte read, on one thread and on all.
//!
//! Why it exists: the machines this engine is developed and benchmarked on are shared VMs whose
//! memory varies from day to day on the same CPU type (docs/PERF.md, "Machine probe": one day a
//! random read took ~260 ns and every decode mode ran 2–3× slower than the day before). Decode
//! is bound by memory (dense by bandwidth, wave's scattered cluster reads by latency), prefill by
//! the FMA units; a benchmark that records this probe beside its numbers says which of the three
//! moved. `vkv bench` runs it before measuring; `examples/machine_probe.rs` prints it alone.

use std::time::Instant;

use crate::cpu;

/// One measurement on one thread and on all threads at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerThreads {
    /// One thread alone.
    pub one: f64,
    /// All threads together (a sum for rates, a mean for latency).
    pub all: f64,
}

/// The probe's results.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineProbe {
    /// Threads used for the "all" column (the machine's available parallelism).
    pub threads: usize,
    /// SIMD level the FMA probe ran (`avx512`, `avx2` or `none`) and the CPU's VNNI flag,
    /// which picks the prefill GEMM's path.
    pub simd: &'static str,
    /// AVX-512 VNNI present.
    pub vnni: bool,
    /// FMA peak, GFLOP/s (0 without a vector unit this probe knows).
    pub fma_gflops: PerThreads,
    /// Sequential read of a buffer far beyond the last-level cache, GB/s.
    pub stream_gbs: PerThreads,
    /// Dependent random 64-byte reads over that buffer, ns each.
    pub latency_ns: PerThreads,
    /// Buffer per thread, MiB.
    pub mib_per_thread: usize,
}

impl MachineProbe {
    /// One line for logs and report headers.
    pub fn summary(&self) -> String {
        format!(
            "{} threads ({}{}): FMA {:.0} GFLOP/s, stream read {:.1} GB/s, random read {:.0} ns \
             (one thread: {:.0} GFLOP/s, {:.1} GB/s, {:.0} ns)",
            self.threads,
            self.simd,
            if self.vnni { "+vnni" } else { "" },
            self.fma_gflops.all,
            self.stream_gbs.all,
            self.latency_ns.all,
            self.fma_gflops.one,
            self.stream_gbs.one,
            self.latency_ns.one,
        )
    }
}

/// Runs the probe with `mib` MiB of buffer in all (split across the threads; at least 16 MiB
/// per thread). Takes a few seconds; medians of 3 for every figure.
pub fn probe(mib: usize) -> MachineProbe {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let words = (mib << 20) / 8 / threads;
    let words = words.max(2 << 20) / 8 * 8;
    let mut bufs: Vec<Vec<u64>> = (0..threads).map(|_| vec![1u64; words]).collect();
    let fma = PerThreads {
        one: median3(|| fma_rate(FMA_ITERS)),
        all: median3(|| on_threads(threads, |_| fma_rate(FMA_ITERS)).iter().sum()),
    };
    let stream = PerThreads {
        one: median3(|| bufs.first().map_or(0.0, |b| stream_rate(b))),
        all: median3(|| on_threads(threads, |i| stream_rate(&bufs[i])).iter().sum()),
    };
    for b in bufs.iter_mut() {
        make_chase(b);
    }
    let latency = PerThreads {
        one: median3(|| bufs.first().map_or(0.0, |b| chase_ns(b))),
        all: median3(|| {
            let v = on_threads(threads, |i| chase_ns(&bufs[i]));
            v.iter().sum::<f64>() / v.len().max(1) as f64
        }),
    };
    MachineProbe {
        threads,
        simd: simd_level(),
        vnni: cpu::features().avx512_vnni,
        fma_gflops: fma,
        stream_gbs: stream,
        latency_ns: latency,
        mib_per_thread: (words * 8) >> 20,
    }
}

/// One thread's FMA peak in GFLOP/s right now (~0.1 s; 0 without a known vector unit). A
/// compute-bound benchmark that divides its rate by this peak, measured beside it, reports an
/// efficiency that does not move with the machine's clock.
pub fn fma_peak_gflops() -> f64 {
    fma_rate(FMA_ITERS)
}

/// FMA iterations per measurement (12 chains each): ~0.1 s.
const FMA_ITERS: u64 = 10_000_000;

/// Dependent reads per latency measurement.
const CHASE_STEPS: usize = 1_000_000;

fn median3(mut f: impl FnMut() -> f64) -> f64 {
    let mut v = [f(), f(), f()];
    v.sort_by(f64::total_cmp);
    v[1]
}

/// Runs `f(i)` on `threads` threads at once and returns their results.
fn on_threads<T: Send>(threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let f = &f;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads).map(|i| s.spawn(move || f(i))).collect();
        hs.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

/// The vector unit the FMA probe uses: `avx512`, `avx2` or `none`.
fn simd_level() -> &'static str {
    let f = cpu::features();
    if f.avx512 {
        "avx512"
    } else if f.avx2 {
        "avx2"
    } else {
        "none"
    }
}

/// One thread's FMA rate in GFLOP/s over `iters` iterations of 12 independent FMA chains (0
/// without a vector unit this probe knows).
fn fma_rate(iters: u64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let t0 = Instant::now();
        // SAFETY: each body runs only where `simd_level` found its feature.
        let (x, lanes) = unsafe {
            match simd_level() {
                "avx512" => (x86::chains512(iters), 16.0),
                "avx2" => (x86::chains256(iters), 8.0),
                _ => return 0.0,
            }
        };
        let secs = t0.elapsed().as_secs_f64().max(1e-9);
        std::hint::black_box(x);
        iters as f64 * 12.0 * lanes * 2.0 / secs / 1e9
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = iters;
        0.0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// 12 chains of `a = a·b + c` on 16 lanes.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn chains512(iters: u64) -> f32 {
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

    /// 12 chains of `a = a·b + c` on 8 lanes.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn chains256(iters: u64) -> f32 {
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

/// GB/s of one sequential pass over `buf` (8 independent sums: the loads, not the adds, bound
/// it).
fn stream_rate(buf: &[u64]) -> f64 {
    let t0 = Instant::now();
    let mut acc = [0u64; 8];
    for c in buf.chunks_exact(8) {
        for (a, x) in acc.iter_mut().zip(c) {
            *a = a.wrapping_add(*x);
        }
    }
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    std::hint::black_box(acc);
    std::mem::size_of_val(buf) as f64 / secs / 1e9
}

/// Links the buffer's 64-byte lines into one random cycle: the first word of each line holds
/// the index of the next line's first word (Sattolo's algorithm, fixed seed).
fn make_chase(buf: &mut [u64]) {
    let lines = buf.len() / 8;
    if lines == 0 {
        return;
    }
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

/// Nanoseconds per dependent random read through a chain built by [`make_chase`].
fn chase_ns(buf: &[u64]) -> f64 {
    let mut c = 0usize;
    let t0 = Instant::now();
    for _ in 0..CHASE_STEPS {
        c = buf.get(c).map_or(0, |&n| n as usize);
    }
    let secs = t0.elapsed().as_secs_f64();
    std::hint::black_box(c);
    secs * 1e9 / CHASE_STEPS as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chase visits every line exactly once per cycle (a single cycle, not several short
    /// ones that would stay in cache and understate the latency).
    #[test]
    fn chase_is_one_cycle() {
        let mut buf = vec![0u64; 8 * 1000 + 3];
        make_chase(&mut buf);
        let mut seen = vec![false; 1000];
        let mut c = 0usize;
        for _ in 0..1000 {
            assert_eq!(c % 8, 0);
            assert!(!seen[c / 8], "line {} visited twice", c / 8);
            seen[c / 8] = true;
            c = buf[c] as usize;
        }
        assert_eq!(c, 0, "back at the start after every line");
        assert!(seen.iter().all(|&s| s));
    }

    /// Small probe: every figure positive and finite (the FMA ones where the CPU has a known
    /// vector unit). No ratios between them: the test machine may be busy with other work.
    #[test]
    fn probe_reports_positive_rates() {
        let p = probe(32);
        let ok =
            |x: PerThreads| x.one > 0.0 && x.all > 0.0 && x.one.is_finite() && x.all.is_finite();
        assert!(ok(p.stream_gbs), "{p:?}");
        assert!(ok(p.latency_ns), "{p:?}");
        assert!(p.simd == "none" || ok(p.fma_gflops), "{p:?}");
        assert!(p.mib_per_thread >= 16, "at least 16 MiB per thread");
        assert!(p.summary().contains("GFLOP/s"));
    }
}
