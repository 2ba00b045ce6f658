//! A small, fast, streaming 64-bit checksum for saved contexts (no dependency).
//!
//! Four independent lanes each absorb one little-endian u64 word per 32-byte block with
//! `lane = rotl((lane ^ w) · K, 31)`: every step is a bijection of the lane state, so a
//! change in any single word always changes the final value. Four lanes keep four multiplies
//! in flight (several GB/s), which matters because loading verifies every byte of the file.

const K: u64 = 0x9E37_79B9_7F4A_7C15;
const SEEDS: [u64; 4] = [
    0xCBF2_9CE4_8422_2325,
    0x8422_2325_CBF2_9CE4,
    0x1000_0000_01B3_0000,
    0x27D4_EB2F_1656_67C5,
];

/// Streaming checksum state.
#[derive(Debug, Clone)]
pub struct Hasher {
    lanes: [u64; 4],
    buf: [u8; 32],
    nbuf: usize,
    len: u64,
}

impl Default for Hasher {
    fn default() -> Self {
        Self {
            lanes: SEEDS,
            buf: [0; 32],
            nbuf: 0,
            len: 0,
        }
    }
}

impl Hasher {
    #[inline]
    fn block(lanes: &mut [u64; 4], b: &[u8]) {
        for (i, l) in lanes.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *l = ((*l ^ u64::from_le_bytes(w)).wrapping_mul(K)).rotate_left(31);
        }
    }

    /// Absorb bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.nbuf > 0 {
            let take = (32 - self.nbuf).min(data.len());
            self.buf[self.nbuf..self.nbuf + take].copy_from_slice(&data[..take]);
            self.nbuf += take;
            data = &data[take..];
            if self.nbuf < 32 {
                return;
            }
            let buf = self.buf;
            Self::block(&mut self.lanes, &buf);
            self.nbuf = 0;
        }
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            Self::block(&mut self.lanes, c);
        }
        let rem = chunks.remainder();
        self.buf[..rem.len()].copy_from_slice(rem);
        self.nbuf = rem.len();
    }

    /// The checksum of everything absorbed.
    pub fn finish(&self) -> u64 {
        let mut lanes = self.lanes;
        if self.nbuf > 0 {
            let mut b = [0u8; 32];
            b[..self.nbuf].copy_from_slice(&self.buf[..self.nbuf]);
            Self::block(&mut lanes, &b);
        }
        let mut h = self.len.wrapping_mul(K);
        for (i, l) in lanes.iter().enumerate() {
            h ^= l.rotate_left(16 * i as u32);
            h = (h ^ (h >> 29)).wrapping_mul(K);
        }
        h ^ (h >> 32)
    }
}

/// Checksum of one buffer.
pub fn hash64(data: &[u8]) -> u64 {
    let mut h = Hasher::default();
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_oneshot_and_detects_changes() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = hash64(&data);
        for split in [0usize, 1, 31, 32, 33, 500, 999, 1000] {
            let mut h = Hasher::default();
            h.update(&data[..split]);
            h.update(&data[split..]);
            assert_eq!(h.finish(), whole, "split {split}");
        }
        for i in [0usize, 17, 511, 999] {
            let mut d = data.clone();
            d[i] ^= 0x10;
            assert_ne!(hash64(&d), whole, "flip at {i}");
        }
        assert_ne!(hash64(&data[..999]), whole, "truncation");
        assert_ne!(
            hash64(&[0u8; 32]),
            hash64(&[0u8; 31]),
            "zero padding is not the same data"
        );
    }
}
