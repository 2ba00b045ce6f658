//! Several matrices applied to the same activations in one pass (decode).
//!
//! A decode step multiplies one hidden state by Q, K and V, and one normed state by the FFN's
//! gate and up matrices. Done separately, each product quantizes the same activations again
//! and opens its own parallel region (a barrier each). Here the activation row is quantized
//! once per activation format, and the row ranges of all matrices form one task list for one
//! parallel region.

use rayon::prelude::*;

use super::gemv::rows_per_task;
use super::{Path, QMatrix};
use crate::quant::dot::{act_kind, dot_rows, ActKind, DotImpl, QActs};
use crate::{Error, Result};

/// `ys[j] = x · mats[j]ᵀ` for one activation row `x`. Returns false (doing nothing) when the
/// fused path does not apply (float weights, scalar CPU), so the caller falls back.
pub(super) fn gemv_many(mats: &[&QMatrix], x: &[f32], ys: &mut [&mut [f32]]) -> Result<bool> {
    let imp = DotImpl::best();
    if imp == DotImpl::Scalar
        || mats.iter().any(|w| {
            act_kind(w.ty()).is_none() || !matches!(Path::select(w.ty(), 1), Path::Gemv(_))
        })
    {
        return Ok(false);
    }
    let k = x.len();
    if mats.len() != ys.len()
        || mats
            .iter()
            .zip(ys.iter())
            .any(|(w, y)| w.cols() != k || y.len() != w.rows())
    {
        return Err(Error::Shape(
            "matmul_many: matrices, activations and outputs disagree".into(),
        ));
    }
    let needs = |kind: fn(ActKind) -> bool| mats.iter().any(|w| act_kind(w.ty()).is_some_and(kind));
    let q8 = if needs(|a| a != ActKind::Q8_K) {
        Some(QActs::quantize(crate::GgmlType::Q8_0, x, 1, k)?)
    } else {
        None
    };
    let q8k = if needs(|a| a == ActKind::Q8_K) {
        Some(QActs::quantize(crate::GgmlType::Q4_K, x, 1, k)?)
    } else {
        None
    };
    let mut tasks: Vec<(usize, usize, &mut [f32])> = Vec::new();
    for (j, y) in ys.iter_mut().enumerate() {
        let w = mats[j];
        let per = rows_per_task(w.rows(), w.stride());
        for (c, chunk) in y.chunks_mut(per).enumerate() {
            tasks.push((j, c * per, chunk));
        }
    }
    tasks.into_par_iter().try_for_each(|(j, r0, y)| {
        let w = mats[j];
        let acts = if act_kind(w.ty()) == Some(ActKind::Q8_K) {
            q8k.as_ref()
        } else {
            q8.as_ref()
        };
        let a = acts
            .ok_or_else(|| Error::Shape("matmul_many: activations missing".into()))?
            .row(0);
        let rb = w.stride();
        dot_rows(
            imp,
            w.ty(),
            &w.data()[r0 * rb..(r0 + y.len()) * rb],
            rb,
            a,
            y,
        )
    })?;
    Ok(true)
}
