//! Simple reference weight quantizers: an f32 row → GGML blocks of any type we read.
//!
//! They exist to build valid test and benchmark matrices, so they favour clarity over the
//! error-minimizing searches of llama.cpp's `quantize_row_*_impl`: plain min/max scaling with
//! round-to-nearest. The byte layouts are exactly the ones [`super::dequantize_row`] reads.

use half::{bf16, f16};

use super::q8::nearest_int;
use crate::{Error, GgmlType, Result};

/// Quantize `x` (a whole number of blocks) into `out` (exactly `ty.row_bytes(x.len())` bytes).
pub fn quantize_row(ty: GgmlType, x: &[f32], out: &mut [u8]) -> Result<()> {
    let need = ty.row_bytes(x.len())?;
    if out.len() != need {
        return Err(Error::DataSize {
            what: format!("{} quantize output", ty.name()),
            got: out.len(),
            expected: need,
        });
    }
    let bs = ty.block_size();
    let ts = ty.type_size();
    for (xb, ob) in x.chunks_exact(bs).zip(out.chunks_exact_mut(ts)) {
        match ty {
            GgmlType::F32 => ob.copy_from_slice(&xb[0].to_le_bytes()),
            GgmlType::F16 => ob.copy_from_slice(&f16::from_f32(xb[0]).to_le_bytes()),
            GgmlType::BF16 => ob.copy_from_slice(&bf16::from_f32(xb[0]).to_le_bytes()),
            GgmlType::Q4_0 => q4_0(xb, ob),
            GgmlType::Q4_1 => q4_1(xb, ob),
            GgmlType::Q5_0 => q5_0(xb, ob),
            GgmlType::Q5_1 => q5_1(xb, ob),
            GgmlType::Q8_0 => q8_0(xb, ob),
            GgmlType::Q4_K => q4_k(xb, ob),
            GgmlType::Q6_K => q6_k(xb, ob),
        }
    }
    Ok(())
}

/// Quantize a `[rows, cols]` f32 matrix row by row into one byte buffer.
pub fn quantize_matrix(ty: GgmlType, x: &[f32], rows: usize, cols: usize) -> Result<Vec<u8>> {
    if x.len() != rows * cols {
        return Err(Error::Shape(format!(
            "quantize_matrix: {} values for {rows}x{cols}",
            x.len()
        )));
    }
    let rb = ty.row_bytes(cols)?;
    let mut out = vec![0u8; rb * rows];
    if cols > 0 {
        for (xr, or) in x.chunks_exact(cols).zip(out.chunks_exact_mut(rb)) {
            quantize_row(ty, xr, or)?;
        }
    }
    Ok(out)
}

fn put_f16(b: &mut [u8], v: f32) {
    b.copy_from_slice(&f16::from_f32(v).to_le_bytes());
}

fn min_max(x: &[f32]) -> (f32, f32) {
    x.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// The signed value of largest magnitude (first one on ties), as llama.cpp picks it.
fn signed_max(x: &[f32]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    max
}

/// Symmetric 4/5-bit blocks: `d = max / −half`, `q = clamp(round(x/d) + half)`.
fn symmetric(xb: &[f32], half: i32) -> (f32, [u8; 32]) {
    let d = signed_max(xb) / -(half as f32);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut q = [0u8; 32];
    for (o, &v) in q.iter_mut().zip(xb) {
        *o = (nearest_int(v * id) + half).clamp(0, 2 * half - 1) as u8;
    }
    (d, q)
}

/// Asymmetric blocks: `x ≈ d·q + min`, `q ∈ 0..=qmax`.
fn asymmetric(xb: &[f32], qmax: i32) -> (f32, f32, [u8; 32]) {
    let (lo, hi) = min_max(xb);
    let d = (hi - lo) / qmax as f32;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut q = [0u8; 32];
    for (o, &v) in q.iter_mut().zip(xb) {
        *o = nearest_int((v - lo) * id).clamp(0, qmax) as u8;
    }
    (d, lo, q)
}

fn pack_nibbles(q: &[u8; 32], out: &mut [u8]) {
    for j in 0..16 {
        out[j] = (q[j] & 0xF) | ((q[j + 16] & 0xF) << 4);
    }
}

fn pack_high_bits(q: &[u8; 32]) -> [u8; 4] {
    let mut qh = 0u32;
    for (j, &v) in q.iter().enumerate() {
        qh |= (((v >> 4) & 1) as u32) << j;
    }
    qh.to_le_bytes()
}

fn q4_0(xb: &[f32], ob: &mut [u8]) {
    let (d, q) = symmetric(xb, 8);
    put_f16(&mut ob[0..2], d);
    pack_nibbles(&q, &mut ob[2..18]);
}

fn q5_0(xb: &[f32], ob: &mut [u8]) {
    let (d, q) = symmetric(xb, 16);
    put_f16(&mut ob[0..2], d);
    ob[2..6].copy_from_slice(&pack_high_bits(&q));
    pack_nibbles(&q, &mut ob[6..22]);
}

fn q4_1(xb: &[f32], ob: &mut [u8]) {
    let (d, m, q) = asymmetric(xb, 15);
    put_f16(&mut ob[0..2], d);
    put_f16(&mut ob[2..4], m);
    pack_nibbles(&q, &mut ob[4..20]);
}

fn q5_1(xb: &[f32], ob: &mut [u8]) {
    let (d, m, q) = asymmetric(xb, 31);
    put_f16(&mut ob[0..2], d);
    put_f16(&mut ob[2..4], m);
    ob[4..8].copy_from_slice(&pack_high_bits(&q));
    pack_nibbles(&q, &mut ob[8..24]);
}

fn q8_0(xb: &[f32], ob: &mut [u8]) {
    let amax = xb.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(&mut ob[0..2], d);
    for (o, &v) in ob[2..34].iter_mut().zip(xb) {
        *o = nearest_int(v * id).clamp(-127, 127) as i8 as u8;
    }
}

/// Q4_K: per sub-block of 32, `x ≈ d·sc·q − dmin·m` with 6-bit `sc`, `m` and 4-bit `q`.
fn q4_k(xb: &[f32], ob: &mut [u8]) {
    let mut scale = [0.0f32; 8];
    let mut minv = [0.0f32; 8];
    for (j, sb) in xb.chunks_exact(32).enumerate() {
        let (lo, hi) = min_max(sb);
        let lo = lo.min(0.0);
        scale[j] = (hi - lo) / 15.0;
        minv[j] = -lo;
    }
    let max_scale = scale.iter().fold(0.0f32, |a, &v| a.max(v));
    let max_min = minv.iter().fold(0.0f32, |a, &v| a.max(v));
    let d = f16::from_f32(max_scale / 63.0).to_f32();
    let dmin = f16::from_f32(max_min / 63.0).to_f32();
    let mut ls = [0u8; 8];
    let mut lm = [0u8; 8];
    for j in 0..8 {
        ls[j] = if d > 0.0 {
            nearest_int(scale[j] / d).clamp(0, 63) as u8
        } else {
            0
        };
        lm[j] = if dmin > 0.0 {
            nearest_int(minv[j] / dmin).clamp(0, 63) as u8
        } else {
            0
        };
    }
    put_f16(&mut ob[0..2], d);
    put_f16(&mut ob[2..4], dmin);
    let sc = &mut ob[4..16];
    sc.fill(0);
    for j in 0..8 {
        if j < 4 {
            sc[j] = ls[j];
            sc[j + 4] = lm[j];
        } else {
            sc[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4);
            sc[j - 4] |= (ls[j] >> 4) << 6;
            sc[j] |= (lm[j] >> 4) << 6;
        }
    }
    let mut q = [0u8; 256];
    for j in 0..8 {
        let dl = d * ls[j] as f32;
        let ml = dmin * lm[j] as f32;
        for l in 0..32 {
            let v = xb[32 * j + l];
            q[32 * j + l] = if dl > 0.0 {
                nearest_int((v + ml) / dl).clamp(0, 15) as u8
            } else {
                0
            };
        }
    }
    let qs = &mut ob[16..144];
    for g in 0..4 {
        for l in 0..32 {
            qs[32 * g + l] = q[64 * g + l] | (q[64 * g + 32 + l] << 4);
        }
    }
}

/// Q6_K: per sub-block of 16, `x ≈ d·sc·(q − 32)` with signed 8-bit `sc` and 6-bit `q`.
fn q6_k(xb: &[f32], ob: &mut [u8]) {
    let mut scale = [0.0f32; 16];
    for (j, sb) in xb.chunks_exact(16).enumerate() {
        scale[j] = signed_max(sb) / -32.0;
    }
    let max_scale = signed_max(&scale);
    ob.fill(0);
    if max_scale == 0.0 {
        return;
    }
    let iscale = -128.0 / max_scale;
    let d = f16::from_f32(1.0 / iscale).to_f32();
    let mut sc = [0i8; 16];
    for j in 0..16 {
        sc[j] = nearest_int(iscale * scale[j]).clamp(-128, 127) as i8;
    }
    let mut l = [32u8; 256];
    for j in 0..16 {
        let dl = d * sc[j] as f32;
        if dl == 0.0 {
            continue;
        }
        for i in 0..16 {
            l[16 * j + i] = (nearest_int(xb[16 * j + i] / dl).clamp(-32, 31) + 32) as u8;
        }
    }
    let (ql, rest) = ob.split_at_mut(128);
    let (qh, rest) = rest.split_at_mut(64);
    let (scales, dbytes) = rest.split_at_mut(16);
    for half in 0..2 {
        let lh = &l[128 * half..128 * half + 128];
        let ql = &mut ql[64 * half..64 * half + 64];
        let qh = &mut qh[32 * half..32 * half + 32];
        for i in 0..32 {
            ql[i] = (lh[i] & 0xF) | ((lh[i + 64] & 0xF) << 4);
            ql[i + 32] = (lh[i + 32] & 0xF) | ((lh[i + 96] & 0xF) << 4);
            qh[i] = (lh[i] >> 4)
                | ((lh[i + 32] >> 4) << 2)
                | ((lh[i + 64] >> 4) << 4)
                | ((lh[i + 96] >> 4) << 6);
        }
    }
    for (o, s) in scales.iter_mut().zip(sc) {
        *o = s as u8;
    }
    put_f16(dbytes, d);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::dequantize_row;

    fn data(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (i as f32 * 0.7311).sin() * 1.7 + (i as f32 * 0.013).cos() * 0.3)
            .collect()
    }

    /// Round trip within a per-type bound relative to the block's range.
    #[test]
    fn round_trip_every_type() -> Result<()> {
        let n = 512;
        let x = data(n);
        let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        // Worst case relative to amax: symmetric Q4/Q5 clip the far end by one step (1/8, 1/16);
        // the asymmetric and K types are within about half a step.
        for (ty, tol) in [
            (GgmlType::F32, 0.0),
            (GgmlType::F16, 1e-3),
            (GgmlType::BF16, 8e-3),
            (GgmlType::Q4_0, 0.13),
            (GgmlType::Q4_1, 0.07),
            (GgmlType::Q5_0, 0.065),
            (GgmlType::Q5_1, 0.035),
            (GgmlType::Q8_0, 0.005),
            (GgmlType::Q4_K, 0.08),
            (GgmlType::Q6_K, 0.04),
        ] {
            let mut b = vec![0u8; ty.row_bytes(n)?];
            quantize_row(ty, &x, &mut b)?;
            let mut y = vec![0.0f32; n];
            dequantize_row(ty, &b, &mut y)?;
            let err = x
                .iter()
                .zip(&y)
                .fold(0.0f32, |a, (p, q)| a.max((p - q).abs()));
            assert!(
                err <= tol * amax + 1e-6,
                "{ty:?}: max err {err} vs {}",
                tol * amax
            );
        }
        Ok(())
    }
}
