//! Deterministic top-k: the indices of the `k` largest finite scores, best first, ties broken by
//! the lower index (so that runs and tests are reproducible).

#[cfg(test)]
fn better(s: &[f32], a: u32, b: u32) -> std::cmp::Ordering {
    // Descending score, then ascending index. Only finite scores are compared.
    s[b as usize].total_cmp(&s[a as usize]).then(a.cmp(&b))
}

/// A u64 whose ascending order is "worse first": the score's bits made order-preserving in the
/// high half, the complemented index in the low half (so a lower index wins a tie). Sorting
/// plain integers avoids an indirect comparator over the scores.
#[inline]
fn key(s: f32, i: u32) -> u64 {
    let b = s.to_bits();
    let ord = if b >> 31 == 1 { !b } else { b | 0x8000_0000 };
    ((ord as u64) << 32) | (u32::MAX - i) as u64
}

#[inline]
fn index(k: u64) -> u32 {
    u32::MAX - (k as u32)
}

/// Indices of the `k` largest finite entries of `scores`, sorted best first. `−∞` and NaN
/// entries (masked clusters) are never selected, so fewer than `k` may come back.
pub fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    top_k_split(scores, k, k, &mut Vec::new())
}

/// The `k` largest finite entries like [`top_k`], but only the first `sorted` of them are
/// sorted (best first); the rest follow in an unspecified but deterministic order. The split
/// point is exact: entries `sorted..` rank below every entry before them.
/// `keys` is scratch.
pub fn top_k_split(scores: &[f32], k: usize, sorted: usize, keys: &mut Vec<u64>) -> Vec<u32> {
    keys.clear();
    keys.extend(
        scores
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_finite())
            .map(|(i, &s)| key(s, i as u32)),
    );
    let n = keys.len();
    let k = k.min(n);
    if k == 0 {
        return Vec::new();
    }
    // Best k at the end, ascending order: worst … best.
    if k < n {
        keys.select_nth_unstable(n - k);
    }
    let top = &mut keys[n - k..];
    let sorted = sorted.min(k);
    if sorted > 0 && sorted < k {
        top.select_nth_unstable(k - sorted);
    }
    top[k - sorted..].sort_unstable();
    // Best first: the sorted part reversed, then the rest.
    top.iter().rev().map(|&x| index(x)).collect()
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
            let mut all: Vec<u32> = (0..s.len() as u32)
                .filter(|&i| s[i as usize].is_finite())
                .collect();
            all.sort_by(|&a, &b| better(&s, a, b));
            all.truncate(k);
            assert_eq!(got, all, "k={k}");
        }
        assert_eq!(top_k(&[1.0, f32::NAN, 3.0], 3), vec![2, 0]);
        // Split: the first 5 sorted, the next 295 are exactly the following ranks.
        let full = top_k(&s, 300);
        let split = top_k_split(&s, 300, 5, &mut Vec::new());
        assert_eq!(split[..5], full[..5]);
        let mut rest = split[5..].to_vec();
        rest.sort_by(|&a, &b| better(&s, a, b));
        assert_eq!(rest, full[5..]);
    }
}
