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

#[inline(always)]
unsafe fn rows<I: Isa>(ty: GgmlType, w: &[u8], row_bytes: usize, a: ActRow<'_>, y: &mut [f32]) {
    let rows = y.iter_mut().zip(w.chunks_exact(row_bytes));
    // SAFETY (every arm): each `wr` is one whole row of `ty` and `a` matches it (the contract).
    match (ty, a) {
        (GgmlType::Q4_0, ActRow::Q8(a)) => {
            for (o, wr) in rows {
                *o = unsafe { legacy::q4_0::<I>(wr, &a) };
            }
        }
        (GgmlType::Q4_1, ActRow::Q8(a)) => {
            for (o, wr) in rows {
                *o = unsafe { legacy::q4_1::<I>(wr, &a) };
            }
        }
        (GgmlType::Q5_0, ActRow::Q8(a)) => {
            for (o, wr) in rows {
                *o = unsafe { legacy::q5_0::<I>(wr, &a) };
            }
        }
        (GgmlType::Q5_1, ActRow::Q8(a)) => {
            for (o, wr) in rows {
                *o = unsafe { legacy::q5_1::<I>(wr, &a) };
            }
        }
        (GgmlType::Q8_0, ActRow::Q8(a)) => {
            for (o, wr) in rows {
                *o = unsafe { legacy::q8_0::<I>(wr, &a) };
            }
        }
        (GgmlType::Q4_K, ActRow::Q8K(a)) => {
            for (o, wr) in rows {
                *o = unsafe { kquants::q4_k::<I>(wr, &a) };
            }
        }
        (GgmlType::Q6_K, ActRow::Q8K(a)) => {
            for (o, wr) in rows {
                *o = unsafe { kquants::q6_k::<I>(wr, &a) };
            }
        }
        _ => y.fill(f32::NAN),
    }
}
