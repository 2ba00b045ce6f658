//! F32 / F16 / BF16 weights: f32 activations, f32 accumulation, no activation quantization.
//!
//! - [`gemv`]: per-row dot products read straight from the weight bytes (unaligned loads;
//!   F16 through F16C, BF16 by a 16-bit shift), rows split over rayon threads.
//! - [`gemm`] (AVX-512): panels of 16 rows gathered and converted into an f32 `[k][16]` layout,
//!   then 8 activation rows at a time: per k one panel load and 8 FMAs with the activation
//!   broadcast, 16 outputs per activation row in one register.

use rayon::prelude::*;

use super::{QMatrix, SharedY};
use crate::quant::dot::DotImpl;
use crate::{Error, GgmlType, Result};

/// Rows per GEMV task at least (a few hundred KB of weights).
const MIN_TASK_ROWS: usize = 32;

/// `y = x · Wᵀ`, few rows of `x`: one dot product per (x row, W row).
pub(super) fn gemv(w: &QMatrix, imp: DotImpl, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    let (n, k) = (w.rows(), w.cols());
    if !matches!(w.ty(), GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
        || !imp.available()
        || imp == DotImpl::Scalar
    {
        return Err(Error::UnsupportedType(format!(
            "float GEMV {imp:?} for {}",
            w.ty().name()
        )));
    }
    let per_task = n.div_ceil(crate::cpu::n_threads() * 4).max(MIN_TASK_ROWS);
    for (xi, yi) in x.chunks_exact(k).zip(y.chunks_exact_mut(n)).take(m) {
        yi.par_chunks_mut(per_task).enumerate().for_each(|(t, yc)| {
            for (j, o) in yc.iter_mut().enumerate() {
                *o = dot_row(w, imp, t * per_task + j, xi);
            }
        });
    }
    Ok(())
}

/// `W_r · x` for a float type.
fn dot_row(w: &QMatrix, imp: DotImpl, r: usize, x: &[f32]) -> f32 {
    let b = w.row_bytes(r);
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `imp` was checked available by the caller; `b` holds exactly x.len()
        // elements of w's type.
        match imp {
            DotImpl::Avx512 => return unsafe { super::float_x86::dot_avx512(w.ty(), b, x) },
            DotImpl::Avx2 => return unsafe { super::float_x86::dot_avx2(w.ty(), b, x) },
            DotImpl::Scalar => {}
        }
    }
    let _ = imp;
    let mut row = vec![0.0f32; x.len()];
    match crate::quant::dequantize_row(w.ty(), b, &mut row) {
        Ok(()) => row.iter().zip(x).map(|(a, b)| a * b).sum(),
        Err(_) => f32::NAN,
    }
}

/// Whether this CPU runs the float GEMM.
pub(super) fn gemm_available() -> bool {
    crate::cpu::features().avx512
}

/// `y = x · Wᵀ` for many rows of `x` (AVX-512).
pub(super) fn gemm(w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    let (n, k) = (w.rows(), w.cols());
    if !matches!(w.ty(), GgmlType::F32 | GgmlType::F16 | GgmlType::BF16) || !gemm_available() {
        return Err(Error::UnsupportedType(format!(
            "float GEMM for {}",
            w.ty().name()
        )));
    }
    let out = SharedY::new(y);
    #[cfg(target_arch = "x86_64")]
    (0..n.div_ceil(16))
        .into_par_iter()
        .for_each_init(Vec::new, |panel: &mut Vec<f32>, p| {
            let r0 = p * 16;
            // SAFETY: avx512f checked above; the panel is filled for rows r0.. of w; x holds m·k
            // floats; this panel alone writes columns r0..r0+16 (clipped to n) of y's m rows.
            unsafe {
                super::float_x86::fill_panel(panel, w, r0);
                super::float_x86::panel_gemm(panel, x, k, m, out.ptr(), n, r0);
            }
        });
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (out, x, m, k, n);
    Ok(())
}
