//! Run-time CPU feature detection: fast paths are chosen here once, never at compile time.

use std::sync::OnceLock;

/// SIMD levels the kernels know how to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// AVX2 + FMA + F16C.
    pub avx2: bool,
    /// AVX-512 F/BW/VL/DQ.
    pub avx512: bool,
    /// AVX-512 VNNI (vpdpbusd).
    pub avx512_vnni: bool,
    /// AVX-512 BF16 (vdpbf16ps).
    pub avx512_bf16: bool,
}

/// The features of this CPU, detected once. Setting the environment is not a knob: tests that
/// want the scalar path call the scalar functions directly.
pub fn features() -> Features {
    static F: OnceLock<Features> = OnceLock::new();
    *F.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    let avx2 = is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c");
    let avx512 = avx2
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512dq");
    Features {
        avx2,
        avx512,
        avx512_vnni: avx512 && is_x86_feature_detected!("avx512vnni"),
        avx512_bf16: avx512 && is_x86_feature_detected!("avx512bf16"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features {
        avx2: false,
        avx512: false,
        avx512_vnni: false,
        avx512_bf16: false,
    }
}

/// The number of worker threads rayon uses.
pub fn n_threads() -> usize {
    rayon::current_num_threads()
}

/// Ask the CPU to bring every cache line of `s` into L1 ahead of use (a hint: no effect on
/// results; a no-op off x86-64). For data that is read soon at an address the hardware
/// prefetchers cannot guess, such as the next of several randomly placed cluster records.
#[inline]
pub fn prefetch<T>(s: &[T]) {
    prefetch_range(s.as_ptr() as *const u8, std::mem::size_of_val(s));
}

/// [`prefetch`] of the `bytes` bytes at `p`, one hint per 64-byte line. The range may run past
/// the caller's allocation (the kernels prefetch a stream ahead into whatever follows it): a
/// prefetch never faults and reads nothing architecturally, and the address arithmetic wraps
/// (`wrapping_add`), so no out-of-bounds pointer is ever formed with `add`.
#[inline(always)]
pub fn prefetch_range(p: *const u8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut off = 0;
        while off < bytes {
            // SAFETY: see above; SSE is part of the x86-64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off) as *const i8) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}
