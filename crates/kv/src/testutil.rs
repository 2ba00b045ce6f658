//! Deterministic test data shared by the unit tests.

/// `n` uniform values in [−1, 1) from `seed` (xorshift).
pub fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x2545_F491_4F6C_DD1D)
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
