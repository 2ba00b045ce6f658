//! The 32-element "legacy" quants: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
//!
//! In the 4/5-bit types byte `j` of `qs` holds element `j` in its low nibble and element `j+16`
//! in its high nibble; Q5's fifth bits are the 32 bits of `qh` (bit j → element j).

use super::rd_f16;

pub(super) fn q4_0(b: &[u8], out: &mut [f32]) {
    for (blk, y) in b.chunks_exact(18).zip(out.chunks_exact_mut(32)) {
        let d = rd_f16(blk, 0);
        let qs = &blk[2..18];
        for j in 0..16 {
            y[j] = ((qs[j] & 0x0F) as i32 - 8) as f32 * d;
            y[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
        }
    }
}

pub(super) fn q4_1(b: &[u8], out: &mut [f32]) {
    for (blk, y) in b.chunks_exact(20).zip(out.chunks_exact_mut(32)) {
        let d = rd_f16(blk, 0);
        let m = rd_f16(blk, 2);
        let qs = &blk[4..20];
        for j in 0..16 {
            y[j] = (qs[j] & 0x0F) as f32 * d + m;
            y[j + 16] = (qs[j] >> 4) as f32 * d + m;
        }
    }
}

fn q5_values(qh: u32, qs: &[u8], j: usize) -> (i32, i32) {
    let xh0 = (((qh >> j) << 4) & 0x10) as u8;
    let xh1 = ((qh >> (j + 12)) & 0x10) as u8;
    (((qs[j] & 0x0F) | xh0) as i32, ((qs[j] >> 4) | xh1) as i32)
}

pub(super) fn q5_0(b: &[u8], out: &mut [f32]) {
    for (blk, y) in b.chunks_exact(22).zip(out.chunks_exact_mut(32)) {
        let d = rd_f16(blk, 0);
        let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
        let qs = &blk[6..22];
        for j in 0..16 {
            let (x0, x1) = q5_values(qh, qs, j);
            y[j] = (x0 - 16) as f32 * d;
            y[j + 16] = (x1 - 16) as f32 * d;
        }
    }
}

pub(super) fn q5_1(b: &[u8], out: &mut [f32]) {
    for (blk, y) in b.chunks_exact(24).zip(out.chunks_exact_mut(32)) {
        let d = rd_f16(blk, 0);
        let m = rd_f16(blk, 2);
        let qh = u32::from_le_bytes([blk[4], blk[5], blk[6], blk[7]]);
        let qs = &blk[8..24];
        for j in 0..16 {
            let (x0, x1) = q5_values(qh, qs, j);
            y[j] = x0 as f32 * d + m;
            y[j + 16] = x1 as f32 * d + m;
        }
    }
}

pub(super) fn q8_0(b: &[u8], out: &mut [f32]) {
    for (blk, y) in b.chunks_exact(34).zip(out.chunks_exact_mut(32)) {
        let d = rd_f16(blk, 0);
        for j in 0..32 {
            y[j] = (blk[2 + j] as i8) as f32 * d;
        }
    }
}
