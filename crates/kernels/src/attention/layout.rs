//! The blocked key layout shared by every KV store that uses the fast attention kernel.
//!
//! Keys of one head are stored in blocks of [`BLOCK`] tokens; inside a block, dimension-major:
//! element `(token t, dim i)` lives at `(t / 16)·d·16 + i·16 + t % 16`. One 16-lane load then
//! holds dimension `i` of 16 consecutive keys, so a query's scores for 16 keys accumulate with
//! broadcast FMAs and no horizontal sums, and every loaded key serves all G query heads of a
//! GQA group. Values stay token-major (`[n, d]`): the P·V product wants whole value rows.

use super::KvElem;

/// Tokens per key block.
pub const BLOCK: usize = 16;

/// Index of `(t, i)` in a blocked key array with head dim `d`.
#[inline]
pub fn key_index(t: usize, i: usize, d: usize) -> usize {
    (t / BLOCK) * d * BLOCK + i * BLOCK + t % BLOCK
}

/// Elements a blocked key array needs for `n` tokens (whole blocks).
#[inline]
pub fn key_len(n: usize, d: usize) -> usize {
    n.div_ceil(BLOCK) * BLOCK * d
}

/// Append token keys (`rows: [m, d]` f32, contiguous) at positions `n..n+m` of a blocked array,
/// growing it by whole blocks.
pub fn push_keys<E: KvElem>(kb: &mut Vec<E>, n: usize, rows: &[f32], d: usize) {
    let m = rows.len() / d.max(1);
    let need = key_len(n + m, d);
    if kb.len() < need {
        kb.resize(need, E::from_f32(0.0));
    }
    for (j, row) in rows.chunks_exact(d).enumerate() {
        let t = n + j;
        let base = (t / BLOCK) * d * BLOCK + t % BLOCK;
        for (i, x) in row.iter().enumerate() {
            kb[base + i * BLOCK] = E::from_f32(*x);
        }
    }
}

/// Read key `t` back as f32 (tests, index building).
pub fn key_row<E: KvElem>(kb: &[E], t: usize, d: usize, out: &mut [f32]) {
    let mut one = [0.0f32];
    for (i, o) in out.iter_mut().enumerate().take(d) {
        E::to_f32_slice(&kb[key_index(t, i, d)..key_index(t, i, d) + 1], &mut one);
        *o = one[0];
    }
}

/// Convert token-major keys `[n, d]` into the blocked layout.
pub fn to_blocked<E: KvElem>(rows: &[f32], d: usize) -> Vec<E> {
    let mut kb = Vec::new();
    push_keys(&mut kb, 0, rows, d);
    kb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_read_back() {
        let d = 4;
        let rows: Vec<f32> = (0..(37 * d)).map(|x| x as f32).collect();
        let mut kb: Vec<f32> = Vec::new();
        push_keys(&mut kb, 0, &rows[..20 * d], d);
        push_keys(&mut kb, 20, &rows[20 * d..], d);
        assert_eq!(kb.len(), key_len(37, d));
        let mut r = vec![0.0; d];
        for t in 0..37 {
            key_row(&kb, t, d, &mut r);
            assert_eq!(r, rows[t * d..(t + 1) * d]);
        }
    }
}
