//! What this machine can do right now ([`vkv_kernels::probe`]): FMA peak, streaming read
//! bandwidth and random-read latency, on one thread and on all. `vkv bench` records the same
//! probe in its reports; this prints it alone, as a table for docs/PERF.md.
//!
//! `cargo run --release -p vkv-kernels --example machine_probe [-- MiB]` (buffer in all, 512 MiB
//! by default: far past the last-level cache).

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(512);
    let p = vkv_kernels::probe::probe(mib);
    let vnni = if p.vnni { ", VNNI" } else { "" };
    println!(
        "{} threads, {}{vnni}, {} MiB per thread; medians of 3",
        p.threads, p.simd, p.mib_per_thread
    );
    println!(
        "| probe | one thread | all {} threads |\n|---|---:|---:|",
        p.threads
    );
    println!(
        "| FMA peak, GFLOP/s | {:.1} | {:.1} |",
        p.fma_gflops.one, p.fma_gflops.all
    );
    println!(
        "| stream read, GB/s | {:.1} | {:.1} |",
        p.stream_gbs.one, p.stream_gbs.all
    );
    println!(
        "| random 64-byte read, ns | {:.0} | {:.0} |",
        p.latency_ns.one, p.latency_ns.all
    );
}
