//! Small vectorizable reductions for the decode path.
//!
//! `f32::max` folds do not vectorize (NaN semantics force a sequential chain of `maxss`, ~4
//! cycles per element); sixteen independent lanes with a compare-and-select do, which matters
//! for the per-head maxima over thousands of cluster scores every decode step.

/// The largest element (`−∞` when empty). NaNs are ignored.
pub fn max(x: &[f32]) -> f32 {
    const L: usize = 16;
    let mut m = [f32::NEG_INFINITY; L];
    let chunks = x.chunks_exact(L);
    let rem = chunks.remainder();
    for ch in chunks {
        for l in 0..L {
            m[l] = if ch[l] > m[l] { ch[l] } else { m[l] };
        }
    }
    let mut r = f32::NEG_INFINITY;
    for v in m.iter().chain(rem) {
        r = if *v > r { *v } else { r };
    }
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn max_matches_fold() {
        for n in [0usize, 1, 15, 16, 17, 100] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 37) % 23) as f32 - 11.0).collect();
            assert_eq!(
                super::max(&x),
                x.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                "n={n}"
            );
        }
        assert_eq!(super::max(&[f32::NAN, 2.0, f32::NEG_INFINITY]), 2.0);
    }
}
