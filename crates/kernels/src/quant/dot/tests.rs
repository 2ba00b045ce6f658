//! SIMD dot kernels against the scalar model of the same quantized arithmetic.
//!
//! Tolerance: integer block sums are exact in every kernel, so they differ from the model only
//! by f32 rounding of the float scaling and accumulation (a few ulp of the partial sums), hence
//! |fast − model| ≤ 4e-6 · magnitude (see [`super::scalar::ModelDot`]: Σ|w·x| in quantized
//! units). A single wrong quant moves the result by |d·x_l| — about 1/(k·|q|avg) of the
//! magnitude — which `one_wrong_quant_is_detected` checks exceeds the bound for k = 1024.

use super::scalar::dot_model;
use super::*;
use crate::quant::q8::{Q8KRows, Q8Rows};
use crate::testutil::{weights, Rng};
use crate::Result;

pub(crate) const QTYPES: [GgmlType; 7] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
];

const TOL: f64 = 4e-6;

fn impls() -> Vec<DotImpl> {
    [DotImpl::Avx2, DotImpl::Avx512]
        .into_iter()
        .filter(|i| i.available())
        .collect()
}

#[test]
fn simd_dots_match_scalar_model() -> Result<()> {
    let mut rng = Rng::new(3);
    for ty in QTYPES {
        let bs = ty.block_size();
        for nblk in [1usize, 3, 19] {
            let k = bs * nblk;
            for raw in [false, true] {
                let rows = 17;
                let w = weights(ty, rows, k, 100 + nblk as u64, raw)?;
                let rb = ty.row_bytes(k)?;
                let x = rng.vec(k, 1.0);
                let acts = QActs::quantize(ty, &x, 1, k)?;
                let a = acts.row(0);
                for imp in impls() {
                    let mut y = vec![0.0f32; rows];
                    dot_rows(imp, ty, &w, rb, a, &mut y)?;
                    for (r, &got) in y.iter().enumerate() {
                        let m = dot_model(ty, &w[r * rb..(r + 1) * rb], a)?;
                        let err = (got as f64 - m.value).abs();
                        assert!(
                            err <= TOL * m.magnitude + 1e-30,
                            "{ty:?} {imp:?} k={k} raw={raw} row {r}: got {got} model {} (err {err:e}, mag {:e})",
                            m.value,
                            m.magnitude
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// The AVX2 and AVX-512 instantiations agree with each other to the same bound.
#[test]
fn avx2_and_avx512_agree() -> Result<()> {
    if !(DotImpl::Avx2.available() && DotImpl::Avx512.available()) {
        return Ok(());
    }
    let mut rng = Rng::new(9);
    for ty in QTYPES {
        let k = 512;
        let w = weights(ty, 5, k, 77, true)?;
        let rb = ty.row_bytes(k)?;
        let x = rng.vec(k, 2.0);
        let acts = QActs::quantize(ty, &x, 1, k)?;
        let (mut y2, mut y5) = (vec![0.0; 5], vec![0.0; 5]);
        dot_rows(DotImpl::Avx2, ty, &w, rb, acts.row(0), &mut y2)?;
        dot_rows(DotImpl::Avx512, ty, &w, rb, acts.row(0), &mut y5)?;
        for r in 0..5 {
            let m = dot_model(ty, &w[r * rb..(r + 1) * rb], acts.row(0))?;
            assert!(
                ((y2[r] - y5[r]) as f64).abs() <= 2.0 * TOL * m.magnitude,
                "{ty:?} row {r}: {} vs {}",
                y2[r],
                y5[r]
            );
        }
    }
    Ok(())
}

/// The tolerance is tight enough to see one wrong quant in one block of a long row.
#[test]
fn one_wrong_quant_is_detected() -> Result<()> {
    let mut rng = Rng::new(5);
    for ty in QTYPES {
        let k = 1024;
        let mut w = weights(ty, 1, k, 8, false)?;
        // |x| constant so that every activation quantizes to ±127 and the flip is visible.
        let x: Vec<f32> = (0..k)
            .map(|_| if rng.f32() < 0.0 { -1.0 } else { 1.0 })
            .collect();
        let acts = QActs::quantize(ty, &x, 1, k)?;
        let good = dot_model(ty, &w, acts.row(0))?;
        // Flip the low bit of a quant byte in the middle of the row (past any scale fields).
        let at = w.len() / 2 + 7;
        w[at] ^= 1;
        let bad = dot_model(ty, &w, acts.row(0))?;
        assert!(
            (bad.value - good.value).abs() > TOL * good.magnitude,
            "{ty:?}: {} vs {}",
            bad.value,
            good.value
        );
    }
    Ok(())
}

#[test]
fn shape_errors() -> Result<()> {
    let w = weights(GgmlType::Q4_0, 2, 64, 1, false)?;
    let q = Q8Rows::quantize(&[0.5; 64], 1, 64)?;
    let mut y = vec![0.0; 3];
    assert!(dot_rows(
        DotImpl::Scalar,
        GgmlType::Q4_0,
        &w,
        36,
        ActRow::Q8(q.row(0)),
        &mut y
    )
    .is_err());
    let qk = Q8KRows::quantize(&[0.5; 256], 1, 256)?;
    let mut y1 = vec![0.0; 1];
    assert!(dot_rows(
        DotImpl::Scalar,
        GgmlType::Q4_0,
        &w[..36],
        36,
        ActRow::Q8K(qk.row(0)),
        &mut y1
    )
    .is_err());
    Ok(())
}
