//! Few activation rows (decode): quantize the activations once, then stream W through the
//! integer dot kernels of [`crate::quant::dot`], rows split over rayon threads.
//!
//! Each task owns a contiguous range of output rows, i.e. a contiguous slice of W, so the two
//! threads each stream their own part of the matrix at full bandwidth. Tasks are sized to at
//! least [`MIN_TASK_BYTES`] of weights so that tiny matrices (K/V projections) do not pay more
//! in scheduling than in work.

use rayon::prelude::*;

use super::QMatrix;
use crate::quant::dot::{dot_rows, DotImpl, QActs};
use crate::Result;

/// Weight bytes below which a task is not split further.
const MIN_TASK_BYTES: usize = 48 << 10;
/// Tasks per thread (load balance on a machine shared with other work).
const TASKS_PER_THREAD: usize = 4;

/// `y = x · Wᵀ` for `m` rows of `x` with the `imp` dot kernels.
pub(super) fn gemv(w: &QMatrix, imp: DotImpl, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
    let (n, k) = (w.rows(), w.cols());
    let acts = QActs::quantize(w.ty(), x, m, k)?;
    let rb = w.stride();
    let rows_per_task = rows_per_task(n, rb);
    for i in 0..m {
        let a = acts.row(i);
        let yi = &mut y[i * n..(i + 1) * n];
        let task = |(t, yc): (usize, &mut [f32])| {
            let r0 = t * rows_per_task;
            dot_rows(
                imp,
                w.ty(),
                &w.data()[r0 * rb..(r0 + yc.len()) * rb],
                rb,
                a,
                yc,
            )
        };
        if rows_per_task >= n {
            task((0, yi))?;
        } else {
            yi.par_chunks_mut(rows_per_task)
                .enumerate()
                .try_for_each(task)?;
        }
    }
    Ok(())
}

/// Output rows per rayon task for `n` rows of `row_bytes`.
pub(super) fn rows_per_task(n: usize, row_bytes: usize) -> usize {
    let min_rows = MIN_TASK_BYTES.div_ceil(row_bytes.max(1));
    let balanced = n.div_ceil(crate::cpu::n_threads() * TASKS_PER_THREAD);
    balanced.max(min_rows).clamp(1, n.max(1))
}
