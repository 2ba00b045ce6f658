//! `#[target_feature]` entry points: one row loop per (type, ISA), with the kernels inlined.

use super::isa::{Avx2, Isa, Vnni};
use super::{kquants, legacy, ActRow};
use crate::GgmlType;

/// Rows of `ty` against `a` with AVX2 kernels.
///
/// # Safety
/// avx2, fma and f16c are available; shapes were validated by [`super::dot_rows`]
/// (`w.len() == row_bytes·y.len()`, `row_bytes` is `ty`'s row size for `a.len()`, `a` is in
/// `ty`'s activation format, `row_bytes > 0`).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows_avx2(
    ty: GgmlType,
    w: &[u8],
    row_bytes: usize,
    a: ActRow<'_>,
    y: &mut [f32],
) {
    // SAFETY: forwarded contract; features enabled on this function.
    unsafe { rows::<Avx2>(ty, w, row_bytes, a, y) }
}

/// Rows of `ty` against `a` with AVX-512 VNNI kernels.
///
/// # Safety
/// As [`rows_avx2`], plus avx512f/bw/vl/vnni available.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn rows_avx512(
    ty: GgmlType,
    w: &[u8],
    row_bytes: usize,
    a: ActRow<'_>,
    y: &mut [f32],
) {
    // SAFETY: forwarded contract; features enabled on this function.
    unsafe { rows::<Vnni>(ty, w, row_bytes, a, y) }
}

/// Weight rows are prefetched this many rows ahead of use. Each thread streams its own range of
/// rows; left to the hardware prefetchers, a stream from DRAM ran at ~6 GB/s per thread against
/// ~11 in cache (`matmul_bench`: the 151936-row output matrix 11.8 → 17–21 GB/s with it).
const PREFETCH_ROWS: usize = 4;

#[inline(always)]
unsafe fn rows<I: Isa>(ty: GgmlType, w: &[u8], row_bytes: usize, a: ActRow<'_>, y: &mut [f32]) {
    macro_rules! each_row {
        ($kernel:path, $a:expr) => {
            for (i, (o, wr)) in y.iter_mut().zip(w.chunks_exact(row_bytes)).enumerate() {
                let next = (i + PREFETCH_ROWS) * row_bytes;
                if let Some(ahead) = w.get(next..next + row_bytes) {
                    crate::cpu::prefetch(ahead);
                }
                // SAFETY: `wr` is one whole row of `ty` and `a` matches it (the contract).
                *o = unsafe { $kernel(wr, $a) };
            }
        };
    }
    match (ty, a) {
        (GgmlType::Q4_0, ActRow::Q8(a)) => each_row!(legacy::q4_0::<I>, &a),
        (GgmlType::Q4_1, ActRow::Q8(a)) => each_row!(legacy::q4_1::<I>, &a),
        (GgmlType::Q5_0, ActRow::Q8(a)) => each_row!(legacy::q5_0::<I>, &a),
        (GgmlType::Q5_1, ActRow::Q8(a)) => each_row!(legacy::q5_1::<I>, &a),
        (GgmlType::Q8_0, ActRow::Q8(a)) => each_row!(legacy::q8_0::<I>, &a),
        (GgmlType::Q4_K, ActRow::Q8K(a)) => each_row!(kquants::q4_k::<I>, &a),
        (GgmlType::Q6_K, ActRow::Q8K(a)) => each_row!(kquants::q6_k::<I>, &a),
        _ => y.fill(f32::NAN),
    }
}
