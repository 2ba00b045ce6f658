//! Deterministic top-k: the indices of the `k` largest finite scores, best first, ties broken by
//! the lower index (so that runs and tests are reproducible).

use std::cmp::Ordering;

fn better(s: &[f32], a: u32, b: u32) -> Ordering {
    // Descending score, then ascending index. Only finite scores are compared.
    s[b as usize].total_cmp(&s[a as usize]).then(a.cmp(&b))
}

/// Indices of the `k` largest finite entries of `scores`, sorted best first. `−∞` and NaN
/// entries (masked clusters) are never selected, so fewer than `k` may come back.
pub fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    top_k_split(scores, k, k)
}

/// The `k` largest finite entries like [`top_k`], but only the first `sorted` of them are
/// sorted (best first); the rest follow in an unspecified but deterministic order. The split
/// point is exact: entries `sorted..` rank below every entry before them.
pub fn top_k_split(scores: &[f32], k: usize, sorted: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32).filter(|&i| scores[i as usize].is_finite()).collect();
    let k = k.min(idx.len());
    if k == 0 {
        return Vec::new();
    }
    if k < idx.len() {
        idx.select_nth_unstable_by(k - 1, |&a, &b| better(scores, a, b));
        idx.truncate(k);
    }
    let sorted = sorted.min(k);
    if sorted > 0 && sorted < k {
        idx.select_nth_unstable_by(sorted - 1, |&a, &b| better(scores, a, b));
    }
    idx[..sorted].sort_unstable_by(|&a, &b| better(scores, a, b));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_full_sort() {
        let mut x = 12345u64;
        let s: Vec<f32> = (0..1000)
            .map(|i| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                if i % 97 == 0 {
                    f32::NEG_INFINITY
                } else {
                    ((x >> 40) % 50) as f32 // many ties
                }
            })
            .collect();
        for k in [0usize, 1, 7, 300, 989, 2000] {
            let got = top_k(&s, k);
            let mut all: Vec<u32> = (0..s.len() as u32).filter(|&i| s[i as usize].is_finite()).collect();
            all.sort_by(|&a, &b| better(&s, a, b));
            all.truncate(k);
            assert_eq!(got, all, "k={k}");
        }
        assert_eq!(top_k(&[1.0, f32::NAN, 3.0], 3), vec![2, 0]);
        // Split: the first 5 sorted, the next 295 are exactly the following ranks.
        let full = top_k(&s, 300);
        let split = top_k_split(&s, 300, 5);
        assert_eq!(split[..5], full[..5]);
        let mut rest = split[5..].to_vec();
        rest.sort_by(|&a, &b| better(&s, a, b));
        assert_eq!(rest, full[5..]);
    }
}
