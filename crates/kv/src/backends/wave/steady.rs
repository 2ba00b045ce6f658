//! The steady zone of one (layer, kv head) (spec §3.2, §3.4): tokens always attended exactly.
//!
//! It holds the sinks (positions `0 .. sinks`) and the *tail*: every token after the indexed
//! part, i.e. the last `window` prompt tokens plus everything generated since the last index
//! update. Keys are in the blocked layout and values token-major, so the zone is one
//! [`Segment`] for the decode kernel. It is small (≤ sinks + window + update interval tokens),
//! so reshaping it (an update takes its oldest tail tokens, a rollback puts tokens back) simply
//! rebuilds it from rows.

use vkv_kernels::attention::layout;
use vkv_kernels::attention::KvElem;

use crate::attn::Segment;

/// Sinks + tail of one (layer, kv head).
#[derive(Debug, Clone)]
pub struct Steady<E> {
    d: usize,
    keys: Vec<E>,
    values: Vec<E>,
    n_sinks: usize,
    n: usize,
    /// Position of the first tail token.
    tail_start: usize,
}

impl<E: KvElem> Steady<E> {
    /// A zone of sink rows (positions `0 ..`) and tail rows starting at position `tail_start`;
    /// rows are `[m, d]` f32.
    pub fn from_rows(
        d: usize,
        sink_k: &[f32],
        sink_v: &[f32],
        tail_k: &[f32],
        tail_v: &[f32],
        tail_start: usize,
    ) -> Self {
        let mut s = Self {
            d,
            keys: Vec::new(),
            values: Vec::new(),
            n_sinks: 0,
            n: 0,
            tail_start,
        };
        s.append(sink_k, sink_v);
        s.n_sinks = s.n;
        s.append(tail_k, tail_v);
        s
    }

    fn append(&mut self, k: &[f32], v: &[f32]) {
        layout::push_keys(&mut self.keys, self.n, k, self.d);
        self.values.extend(v.iter().map(|x| E::from_f32(*x)));
        self.n += k.len() / self.d;
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Sink tokens.
    pub fn n_sinks(&self) -> usize {
        self.n_sinks
    }

    /// Tail tokens.
    pub fn tail_len(&self) -> usize {
        self.n - self.n_sinks
    }

    /// Position of the first tail token.
    pub fn tail_start(&self) -> usize {
        self.tail_start
    }

    /// Positions of the held tokens, in storage order.
    pub fn positions(&self) -> Vec<u32> {
        (0..self.n_sinks)
            .chain(self.tail_start..self.tail_start + self.tail_len())
            .map(|p| p as u32)
            .collect()
    }

    /// Store the token at the next position: a sink while fewer than `sinks` tokens exist in
    /// the whole sequence (`seq_len` = tokens before this one), else the tail.
    pub fn push(&mut self, k: &[f32], v: &[f32], sinks: usize, seq_len: usize) {
        if seq_len < sinks && self.tail_len() == 0 {
            self.append(k, v);
            self.n_sinks += 1;
            self.tail_start = self.n_sinks;
        } else {
            self.append(k, v);
        }
    }

    /// The zone as one decode segment.
    pub fn segment(&self) -> Segment<'_, E> {
        Segment {
            keys_blocked: &self.keys,
            n_blocked: self.n,
            keys_tail: &[],
            values: &self.values,
            n: self.n,
        }
    }

    /// Rows `[i0, i1)` of storage as f32 `(keys, values)`, `[m, d]` each.
    pub fn rows(&self, i0: usize, i1: usize) -> (Vec<f32>, Vec<f32>) {
        let d = self.d;
        let mut k = vec![0.0f32; (i1 - i0) * d];
        for (j, row) in k.chunks_exact_mut(d).enumerate() {
            layout::key_row(&self.keys, i0 + j, d, row);
        }
        let mut v = vec![0.0f32; (i1 - i0) * d];
        E::to_f32_slice(&self.values[i0 * d..i1 * d], &mut v);
        (k, v)
    }

    /// Replace the tail by `tail` rows starting at position `tail_start` (sinks kept).
    pub fn set_tail(&mut self, tail_k: &[f32], tail_v: &[f32], tail_start: usize) {
        let (sk, sv) = self.rows(0, self.n_sinks);
        *self = Self::from_rows(self.d, &sk, &sv, tail_k, tail_v, tail_start);
    }

    /// Remove the `m` oldest tail tokens and return them as `(keys, values, first position)`.
    pub fn take_oldest(&mut self, m: usize) -> (Vec<f32>, Vec<f32>, usize) {
        let m = m.min(self.tail_len());
        let (k, v) = self.rows(self.n_sinks, self.n_sinks + m);
        let (rk, rv) = self.rows(self.n_sinks + m, self.n);
        let first = self.tail_start;
        self.set_tail(&rk, &rv, first + m);
        (k, v, first)
    }

    /// Forget positions `≥ n` held here (sinks or tail). Tokens between the sinks and the tail
    /// (the indexed part) are not held here: callers roll the index back first.
    pub fn truncate(&mut self, n: usize) {
        let new_sinks = self.n_sinks.min(n);
        let new_tail = if new_sinks < self.n_sinks {
            0
        } else {
            n.saturating_sub(self.tail_start).min(self.tail_len())
        };
        if new_tail == 0 {
            self.tail_start = self.tail_start.min(n).max(new_sinks);
        }
        let keep = new_sinks + new_tail;
        self.n_sinks = new_sinks;
        if keep < self.n {
            self.n = keep;
            self.keys.truncate(layout::key_len(keep, self.d));
            self.values.truncate(keep * self.d);
        }
    }

    /// Raw parts `(blocked keys, values, sinks, tokens, tail start)` (persistence).
    pub fn raw(&self) -> (&[E], &[E], usize, usize, usize) {
        (
            &self.keys,
            &self.values,
            self.n_sinks,
            self.n,
            self.tail_start,
        )
    }

    /// From raw parts as [`Steady::raw`] returns them; `None` when they do not fit together.
    pub fn from_raw(
        d: usize,
        keys: Vec<E>,
        values: Vec<E>,
        n_sinks: usize,
        n: usize,
        tail_start: usize,
    ) -> Option<Self> {
        let ok = d > 0
            && n_sinks <= n
            && tail_start >= n_sinks
            && keys.len() == layout::key_len(n, d)
            && values.len() == n * d;
        ok.then_some(Self {
            d,
            keys,
            values,
            n_sinks,
            n,
            tail_start,
        })
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.keys.len() + self.values.len()) * std::mem::size_of::<E>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::rnd;

    #[test]
    fn push_take_truncate() {
        let d = 4;
        let k = rnd(40 * d, 1);
        let v = rnd(40 * d, 2);
        let mut s = Steady::<f32>::from_rows(d, &[], &[], &[], &[], 0);
        for t in 0..40 {
            s.push(&k[t * d..(t + 1) * d], &v[t * d..(t + 1) * d], 4, t);
        }
        assert_eq!((s.n_sinks(), s.tail_len(), s.tail_start()), (4, 36, 4));
        let (tk, _, first) = s.take_oldest(30);
        assert_eq!((first, tk[..d].to_vec()), (4, k[4 * d..5 * d].to_vec()));
        assert_eq!((s.tail_len(), s.tail_start()), (6, 34));
        assert_eq!(s.positions(), vec![0, 1, 2, 3, 34, 35, 36, 37, 38, 39]);
        let (rk, rv) = s.rows(4, 6);
        assert_eq!(
            (rk, rv),
            (k[34 * d..36 * d].to_vec(), v[34 * d..36 * d].to_vec())
        );
        s.truncate(36);
        assert_eq!(s.positions(), vec![0, 1, 2, 3, 34, 35]);
        s.truncate(2);
        assert_eq!((s.positions(), s.tail_start()), (vec![0, 1], 2));
        s.push(&k[2 * d..3 * d], &v[2 * d..3 * d], 4, 2);
        assert_eq!((s.n_sinks(), s.tail_len()), (3, 0));
    }
}
