//! The 256-element k-quants: Q4_K and Q6_K.
//!
//! Q4_K block (144 B): `d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]`; eight sub-blocks of
//! 32 with 6-bit scale and min packed in `scales` ([`scale_min_k4`]); x = d·sc·q − dmin·m.
//! Q6_K block (210 B): `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16`; sixteen
//! sub-blocks of 16; x = d·sc·(q − 32).

use super::rd_f16;

/// The 8 six-bit scales (bytes 0..8) and 8 mins (bytes 8..16) of a Q4_K `scales[12]`, by
/// llama.cpp's `utmp` shuffle.
#[inline(always)]
pub(crate) fn q4k_scales_mins(s: &[u8]) -> [u32; 4] {
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let u = |i: usize| u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
    let (u0, u1, u2) = (u(0), u(1), u(2));
    let t3 = ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4);
    let t1 = (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4);
    [u0 & KMASK1, t1, u1 & KMASK1, t3]
}

/// The 6-bit scale and min of sub-block `j` (0..8) of a Q4_K block's 12 `scales` bytes.
#[inline]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

pub(super) fn q4_k(b: &[u8], out: &mut [f32]) {
    for (blk, y) in b.chunks_exact(144).zip(out.chunks_exact_mut(256)) {
        let d = rd_f16(blk, 0);
        let dmin = rd_f16(blk, 2);
        let scales = &blk[4..16];
        let qs = &blk[16..144];
        for g in 0..4 {
            let (sc1, m1) = scale_min_k4(2 * g, scales);
            let (sc2, m2) = scale_min_k4(2 * g + 1, scales);
            let (d1, m1) = (d * sc1 as f32, dmin * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, dmin * m2 as f32);
            let q = &qs[32 * g..32 * g + 32];
            let y = &mut y[64 * g..64 * g + 64];
            for l in 0..32 {
                y[l] = d1 * (q[l] & 0xF) as f32 - m1;
                y[l + 32] = d2 * (q[l] >> 4) as f32 - m2;
            }
        }
    }
}

pub(super) fn q6_k(b: &[u8], out: &mut [f32]) {
    for (blk, y) in b.chunks_exact(210).zip(out.chunks_exact_mut(256)) {
        let d = rd_f16(blk, 208);
        for half in 0..2 {
            let ql = &blk[64 * half..64 * half + 64];
            let qh = &blk[128 + 32 * half..128 + 32 * half + 32];
            let sc = &blk[192 + 8 * half..192 + 8 * half + 8];
            let y = &mut y[128 * half..128 * half + 128];
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
                let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
            }
        }
    }
}
