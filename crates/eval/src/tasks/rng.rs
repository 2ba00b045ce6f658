//! A small seeded RNG (SplitMix64) and seed derivation from names, so that every random
//! choice of a task is a pure function of (seed, task, length, sample, purpose).

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5851_F42D_4C95_7F2D)
    }

    /// A generator for one purpose: `parts` (e.g. seed, "haystack", length, sample) hashed
    /// with FNV-1a; independent streams for different purposes.
    pub fn derive(seed: u64, parts: &[&str]) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for p in parts {
            for b in p.bytes().chain([0xFF]) {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01B3);
            }
        }
        Self::new(h)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, self.below(i + 1));
        }
    }

    /// A number with exactly `digits` decimal digits (no leading zero).
    pub fn number(&mut self, digits: u32) -> String {
        let lo = 10u64.pow(digits.saturating_sub(1));
        (lo + self.next_u64() % (lo * 9)).to_string()
    }

    /// A random version-4 UUID string.
    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFF,
            8 + (b >> 62),
            (b >> 48) & 0xFFF,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped() {
        let mut a = Rng::derive(1, &["x", "4096"]);
        let mut b = Rng::derive(1, &["x", "4096"]);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(
            Rng::derive(1, &["x", "4096"]).next_u64(),
            Rng::derive(1, &["x4", "096"]).next_u64()
        );
        for _ in 0..100 {
            let n = a.number(7);
            assert_eq!(n.len(), 7);
            let u = a.uuid();
            assert_eq!(u.len(), 36);
            assert_eq!(u.as_bytes()[14], b'4');
        }
    }
}
