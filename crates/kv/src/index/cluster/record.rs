//! The cluster record: one cluster's keys and values as ONE contiguous run of `2·n·d` elements,
//! so that retrieving a cluster is one contiguous read (one memcpy into the fast tier, one
//! range of an mmap'd file), and the decode kernel reads it in place.
//!
//! ```text
//! [ keys of tokens 0 .. 16⌊n/16⌋, blocked layout (16-token blocks, dimension-major) ]
//! [ keys of the m = n mod 16 remaining tokens: a ragged block, dimension-major [d, m] ]
//! [ values of all n tokens, token-major [n, d]                                      ]
//! ```
//! Why not pad each cluster to whole 16-token blocks: clusters average 16 tokens with a wide
//! size spread, so padding would add ≈ 7.5 tokens per cluster (≈ 45% more key bytes, and as
//! much more I/O per miss). The ragged block costs nothing in space; the decode kernel
//! ([`crate::attn::segments`]) widens it to one zero-padded block (dimension-major, so that is
//! `d` short contiguous copies) and runs the same block kernel on it.

use vkv_kernels::attention::layout::{self, BLOCK};
use vkv_kernels::attention::KvElem;

use crate::attn::Segment;

/// Elements of a record of `n` tokens.
#[inline]
pub fn record_len(n: usize, d: usize) -> usize {
    2 * n * d
}

/// Tokens of a record whose keys are blocked.
#[inline]
pub fn blocked_tokens(n: usize) -> usize {
    n / BLOCK * BLOCK
}

/// Append the record of the tokens `rows` (indices into `keys`/`values`, both `[N, d]` f32) to
/// `dst`.
pub fn push_record<E: KvElem>(
    dst: &mut Vec<E>,
    keys: &[f32],
    values: &[f32],
    rows: &[u32],
    d: usize,
) {
    let n = rows.len();
    let nb = blocked_tokens(n);
    let start = dst.len();
    dst.resize(start + nb * d, E::from_f32(0.0));
    for (t, &r) in rows[..nb].iter().enumerate() {
        let base = start + (t / BLOCK) * d * BLOCK + t % BLOCK;
        for (i, x) in keys[r as usize * d..(r as usize + 1) * d]
            .iter()
            .enumerate()
        {
            dst[base + i * BLOCK] = E::from_f32(*x);
        }
    }
    for i in 0..d {
        dst.extend(
            rows[nb..]
                .iter()
                .map(|&r| E::from_f32(keys[r as usize * d + i])),
        );
    }
    for &r in rows {
        dst.extend(
            values[r as usize * d..(r as usize + 1) * d]
                .iter()
                .map(|x| E::from_f32(*x)),
        );
    }
}

/// A record of `n` tokens (`rec.len() ≥ 2·n·d`) as a decode segment.
pub fn segment<E>(rec: &[E], n: usize, d: usize) -> Segment<'_, E> {
    let nb = blocked_tokens(n);
    Segment {
        keys_blocked: &rec[..nb * d],
        n_blocked: nb,
        keys_tail: &rec[nb * d..n * d],
        values: &rec[n * d..2 * n * d],
        n,
    }
}

/// Keys and values of a record back as f32 rows `[n, d]` each (rollback, persistence tests).
pub fn unpack<E: KvElem>(rec: &[E], n: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
    let nb = blocked_tokens(n);
    let mut k = vec![0.0f32; n * d];
    for (t, row) in k.chunks_exact_mut(d).enumerate().take(nb) {
        layout::key_row(&rec[..nb * d], t, d, row);
    }
    let m = n - nb;
    let mut tail = vec![0.0f32; m * d];
    E::to_f32_slice(&rec[nb * d..n * d], &mut tail);
    for j in 0..m {
        for i in 0..d {
            k[(nb + j) * d + i] = tail[i * m + j];
        }
    }
    let mut v = vec![0.0f32; n * d];
    E::to_f32_slice(&rec[n * d..2 * n * d], &mut v);
    (k, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rnd;

    #[test]
    fn round_trip_every_tail_length() {
        let d = 8;
        let keys = rnd(60 * d, 1);
        let values = rnd(60 * d, 2);
        for n in [0usize, 1, 15, 16, 17, 33, 48, 60] {
            let rows: Vec<u32> = (0..n as u32).rev().collect();
            let mut rec: Vec<f32> = vec![9.0; 3]; // records are appended after others
            push_record(&mut rec, &keys, &values, &rows, d);
            assert_eq!(rec.len(), 3 + record_len(n, d));
            let (k, v) = unpack(&rec[3..], n, d);
            for (t, &r) in rows.iter().enumerate() {
                assert_eq!(
                    k[t * d..(t + 1) * d],
                    keys[r as usize * d..(r as usize + 1) * d]
                );
                assert_eq!(
                    v[t * d..(t + 1) * d],
                    values[r as usize * d..(r as usize + 1) * d]
                );
            }
            let s = segment(&rec[3..], n, d);
            assert_eq!(
                (s.n, s.n_blocked, s.keys_tail.len()),
                (n, n / 16 * 16, (n % 16) * d)
            );
        }
    }
}
