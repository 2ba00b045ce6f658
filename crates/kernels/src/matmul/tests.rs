//! Every fast matmul path against (a) the f64 reference `x · dequant(W)ᵀ` within the error the
//! Q8 activation quantization can introduce, and (b) the scalar model of the same quantized
//! arithmetic within f32 rounding (so that lane-order bugs cannot hide inside (a)).
//!
//! (a) Bound: quantizing x in blocks with scale d = amax/127 (rounded through f16 for Q8_0/1:
//! ≤ 2^-11 relative, times |q| ≤ 127) moves each element by at most 0.5·d + 127·2^-11·d <
//! 0.57·d, so |Δy| ≤ 0.57 · Σ_blocks (amax_b/127) · Σ_{l∈b} |w_l|, plus 1e-5 · Σ|w·x| of f32
//! rounding. (b) Bound: 4e-6 · magnitude of [`crate::quant::dot::scalar::ModelDot`].

use super::*;
use crate::quant::dot::scalar::dot_model;
use crate::quant::dot::tests::QTYPES;
use crate::quant::dot::{ActKind, QActs};
use crate::testutil::{weights, Rng};

const MODEL_TOL: f64 = 4e-6;

fn fast_paths() -> Vec<Path> {
    let mut p: Vec<Path> = [DotImpl::Avx2, DotImpl::Avx512]
        .into_iter()
        .filter(|i| i.available())
        .map(Path::Gemv)
        .collect();
    if gemm::available() {
        p.push(Path::Gemm);
    }
    p
}

/// Every fast path's `x · Wᵀ`, named: [`fast_paths`], plus the GEMM without VNNI where the CPU
/// has VNNI (elsewhere `Path::Gemm` is that one).
fn run_fast(w: &QMatrix, x: &[f32], m: usize) -> Result<Vec<(String, Vec<f32>)>> {
    let mut out = Vec::new();
    for path in fast_paths() {
        let mut y = vec![f32::NAN; m * w.rows()];
        w.matmul_with(path, x, m, &mut y)?;
        out.push((format!("{path:?}"), y));
    }
    if gemm::Isa::best() == Some(gemm::Isa::Vnni) && act_kind(w.ty()).is_some() {
        let mut y = vec![f32::NAN; m * w.rows()];
        gemm::gemm_with(gemm::Isa::Bw, w, x, m, &mut y)?;
        out.push(("Gemm(Bw)".into(), y));
    }
    Ok(out)
}

/// Checks `y` (from some path) for `w` and `x`; returns the worst (a)-ratio for reporting.
fn check(w: &QMatrix, x: &[f32], m: usize, y: &[f32], what: &str) -> Result<f64> {
    let (n, k) = (w.rows(), w.cols());
    let wd = w.dequantize()?;
    let qb = match act_kind(w.ty()) {
        Some(ActKind::Q8_K) => 256,
        _ => 32,
    };
    let acts = QActs::quantize(w.ty(), x, m, k)?;
    let mut worst = 0.0f64;
    for i in 0..m {
        let xi = &x[i * k..(i + 1) * k];
        for r in 0..n {
            let wr = &wd[r * k..(r + 1) * k];
            let exact: f64 = wr.iter().zip(xi).map(|(&a, &b)| a as f64 * b as f64).sum();
            let absum: f64 = wr
                .iter()
                .zip(xi)
                .map(|(&a, &b)| (a as f64 * b as f64).abs())
                .sum();
            let mut bound = 1e-5 * absum + 1e-12;
            for (xb, wb) in xi.chunks_exact(qb).zip(wr.chunks_exact(qb)) {
                let amax = xb.iter().fold(0.0f32, |a, v| a.max(v.abs())) as f64;
                bound += 0.57 * amax / 127.0 * wb.iter().map(|v| v.abs() as f64).sum::<f64>();
            }
            let got = y[i * n + r] as f64;
            let err = (got - exact).abs();
            assert!(
                err <= bound,
                "{what} ({i},{r}): got {got} exact {exact} err {err:e} bound {bound:e}"
            );
            worst = worst.max(err / bound);
            let model = dot_model(w.ty(), w.row_bytes(r), acts.row(i))?;
            let merr = (got - model.value).abs();
            assert!(
                merr <= MODEL_TOL * model.magnitude + 1e-30,
                "{what} ({i},{r}): got {got} model {} err {merr:e} mag {:e}",
                model.value,
                model.magnitude
            );
        }
    }
    Ok(worst)
}

#[test]
fn quantized_paths_match_reference_and_model() -> Result<()> {
    let mut rng = Rng::new(21);
    let mut seed = 0;
    for ty in QTYPES {
        let bs = ty.block_size();
        for &nblk in &[1usize, 3] {
            let k = bs * nblk;
            for &rows in &[1usize, 3, 17, 129] {
                for &m in &[1usize, 2, 5, 33] {
                    seed += 1;
                    let raw = seed % 2 == 0;
                    let w = QMatrix::new(
                        ty,
                        rows,
                        k,
                        Bytes::from_vec(weights(ty, rows, k, seed, raw)?),
                    )?;
                    let x = rng.vec(m * k, 1.0);
                    for (path, y) in run_fast(&w, &x, m)? {
                        check(
                            &w,
                            &x,
                            m,
                            &y,
                            &format!("{ty:?} {path} {rows}x{k} m={m} raw={raw}"),
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Longer rows with real-model widths, one m, to exercise many blocks per row.
#[test]
fn quantized_paths_long_rows() -> Result<()> {
    let mut rng = Rng::new(5);
    for ty in QTYPES {
        let k = 1792;
        let k = k / ty.block_size() * ty.block_size();
        let w = QMatrix::new(ty, 40, k, Bytes::from_vec(weights(ty, 40, k, 3, false)?))?;
        let x = rng.vec(3 * k, 1.0);
        for (path, y) in run_fast(&w, &x, 3)? {
            check(&w, &x, 3, &y, &format!("{ty:?} {path} long"))?;
        }
    }
    Ok(())
}

/// Every type's largest quants against the largest activations of either sign: each byte
/// product at its extreme, where the GEMM without VNNI's i16 sums would saturate if a chunk
/// held one group too many or Q8_0's quants (255 after the offset) were not split (the result
/// would be off by thousands).
#[test]
fn extreme_quants_do_not_saturate() -> Result<()> {
    let mut rng = Rng::new(9);
    for ty in QTYPES {
        let k = 4 * ty.block_size();
        let rows = 19;
        let mut data = weights(ty, rows, k, 1, false)?;
        // The byte range of each block's quant bits (after the scales; Q6_K's come first);
        // all ones is every type's top code, 0x7f Q8_0's. The scales stay the quantizer's.
        let (range, byte) = match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 => (2..ty.type_size(), 0xff),
            GgmlType::Q4_1 | GgmlType::Q5_1 => (4..ty.type_size(), 0xff),
            GgmlType::Q8_0 => (2..ty.type_size(), 0x7f),
            GgmlType::Q4_K => (16..ty.type_size(), 0xff),
            GgmlType::Q6_K => (0..192, 0xff),
            _ => continue,
        };
        for blk in data.chunks_exact_mut(ty.type_size()) {
            blk[range.clone()].fill(byte);
        }
        let w = QMatrix::new(ty, rows, k, Bytes::from_vec(data))?;
        let m = 9;
        // Activations of one sign per row (|x| equal: every quant at ±127), then random.
        let mut x = Vec::with_capacity(m * k);
        for i in 0..m {
            let s = if i % 2 == 0 { 1.0 } else { -1.0 };
            if i < 4 {
                x.extend(std::iter::repeat_n(s, k));
            } else {
                x.extend(rng.vec(k, 1.0));
            }
        }
        for (path, y) in run_fast(&w, &x, m)? {
            check(&w, &x, m, &y, &format!("{ty:?} {path} extreme"))?;
        }
    }
    Ok(())
}

/// The reference path itself against the f64 product of the dequantized weights.
#[test]
fn reference_path_is_exact_f32() -> Result<()> {
    let mut rng = Rng::new(2);
    let w = QMatrix::new(
        GgmlType::Q4_K,
        5,
        256,
        Bytes::from_vec(weights(GgmlType::Q4_K, 5, 256, 1, true)?),
    )?;
    let x = rng.vec(2 * 256, 1.0);
    let mut y = vec![0.0; 10];
    w.matmul_with(Path::Reference, &x, 2, &mut y)?;
    let wd = w.dequantize()?;
    for i in 0..2 {
        for r in 0..5 {
            let e: f64 = (0..256)
                .map(|l| wd[r * 256 + l] as f64 * x[i * 256 + l] as f64)
                .sum();
            let mag: f64 = (0..256)
                .map(|l| (wd[r * 256 + l] as f64 * x[i * 256 + l] as f64).abs())
                .sum();
            assert!((y[i * 5 + r] as f64 - e).abs() <= 1e-6 * mag);
        }
    }
    Ok(())
}

#[test]
fn matmul_shape_errors() -> Result<()> {
    let w = QMatrix::new(
        GgmlType::Q8_0,
        2,
        32,
        Bytes::from_vec(weights(GgmlType::Q8_0, 2, 32, 1, false)?),
    )?;
    let mut y = vec![0.0; 2];
    assert!(w.matmul_into(&[0.0; 31], 1, &mut y).is_err());
    assert!(w.matmul_into(&[0.0; 32], 1, &mut y[..1]).is_err());
    assert!(QMatrix::new(GgmlType::Q8_0, 2, 32, Bytes::from_vec(vec![0; 67])).is_err());
    Ok(())
}

/// The AVX-512 panel fill builds byte-for-byte what the scalar fill builds (full and partial
/// panels, every type, raw random blocks so every bit pattern of the fields is exercised).
#[test]
fn simd_panel_fill_matches_scalar() -> Result<()> {
    use super::pack::{Panel, Spec, NR};
    if !crate::cpu::features().avx512 {
        return Ok(());
    }
    for ty in QTYPES {
        let Some(spec) = Spec::of(ty) else { continue };
        let k = 2 * ty.block_size().max(256);
        for rows in [5usize, 16, 37] {
            let w = QMatrix::new(
                ty,
                rows,
                k,
                Bytes::from_vec(weights(ty, rows, k, rows as u64, true)?),
            )?;
            for r0 in (0..rows).step_by(NR) {
                let (mut a, mut b) = (Panel::default(), Panel::default());
                a.fill_scalar(&w, spec, r0);
                b.fill(&w, spec, r0);
                assert_eq!(a.q, b.q, "{ty:?} rows={rows} r0={r0} quants");
                assert_eq!(a.dw, b.dw, "{ty:?} rows={rows} r0={r0} scales");
                assert_eq!(a.mw, b.mw, "{ty:?} rows={rows} r0={r0} mins");
            }
        }
    }
    Ok(())
}

/// Float weights: every path against the f64 product (weights are exact in f32, so only f32
/// summation error remains: 1e-5 · Σ|w·x|).
#[test]
fn float_paths_match_reference() -> Result<()> {
    let mut rng = Rng::new(33);
    let mut paths: Vec<Path> = [DotImpl::Avx2, DotImpl::Avx512]
        .into_iter()
        .filter(|i| i.available())
        .map(Path::Gemv)
        .collect();
    if float::gemm_available() {
        paths.push(Path::Gemm);
    }
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
        for &k in &[1usize, 7, 64, 129] {
            for &(rows, m) in &[(1usize, 1usize), (3, 2), (17, 5), (129, 33), (20, 9)] {
                let w = QMatrix::new(
                    ty,
                    rows,
                    k,
                    Bytes::from_vec(weights(ty, rows, k, (k * rows) as u64, false)?),
                )?;
                let wd = w.dequantize()?;
                let x = rng.vec(m * k, 1.0);
                for &path in &paths {
                    let mut y = vec![f32::NAN; m * rows];
                    w.matmul_with(path, &x, m, &mut y)?;
                    for i in 0..m {
                        for r in 0..rows {
                            let (e, mag) = (0..k).fold((0.0f64, 0.0f64), |(e, a), l| {
                                let p = wd[r * k + l] as f64 * x[i * k + l] as f64;
                                (e + p, a + p.abs())
                            });
                            let got = y[i * rows + r] as f64;
                            assert!(
                                (got - e).abs() <= 1e-5 * mag + 1e-30,
                                "{ty:?} {path:?} k={k} {rows}x{m} ({i},{r}): {got} vs {e}"
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The fused multi-matrix decode path equals separate products bit for bit (same quantized
/// activations, same kernels), for a mix of activation formats (Q5_0, Q8_0 → Q8; Q4_K → Q8_K).
#[test]
fn matmul_many_equals_separate() -> Result<()> {
    use crate::quant::quantize::quantize_row;
    let k = 512;
    let x: Vec<f32> = (0..k)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
        .collect();
    let mut mats = Vec::new();
    for (ty, rows, seed) in [
        (GgmlType::Q5_0, 37, 1u32),
        (GgmlType::Q8_0, 5, 2),
        (GgmlType::Q4_K, 130, 3),
    ] {
        let w: Vec<f32> = (0..rows * k)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 9) as f32 / 4194304.0)
                    - 1.0
            })
            .collect();
        let rb = ty.row_bytes(k)?;
        let mut bytes = vec![0u8; rows * rb];
        for (r, out) in w.chunks(k).zip(bytes.chunks_mut(rb)) {
            quantize_row(ty, r, out)?;
        }
        mats.push(QMatrix::new(ty, rows, k, Bytes::from_vec(bytes))?);
    }
    let refs: Vec<&QMatrix> = mats.iter().collect();
    let mut outs: Vec<Vec<f32>> = mats.iter().map(|w| vec![0.0; w.rows()]).collect();
    {
        let mut ys: Vec<&mut [f32]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
        QMatrix::matmul_many(&refs, &x, 1, &mut ys)?;
    }
    for (w, got) in mats.iter().zip(&outs) {
        let mut want = vec![0.0; w.rows()];
        w.matmul_into(&x, 1, &mut want)?;
        assert_eq!(got, &want, "{:?}", w.ty());
    }
    Ok(())
}
