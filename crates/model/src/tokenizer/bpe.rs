//! Byte-level BPE merging of one pre-tokenized word.
//!
//! The merge rules `"a b"` are turned, once, into a map from the *ids* of the two symbols
//! to the merge's rank and the id of the result, so the inner loop hashes two integers
//! instead of building strings. A word starts as one symbol per byte (the byte's GPT-2
//! character) in a doubly linked list; candidate pairs sit in a binary heap ordered by
//! (rank, position), exactly llama.cpp's order; a popped pair whose symbols changed since
//! it was pushed is skipped. Words are short, so this is O(n log n) in the word length with
//! tiny constants and handles pathological long words too.
//!
//! Strings that occur in merge rules but are not vocabulary entries get ids past the end
//! of the vocabulary; if one survives to the end of a word it is emitted the way llama.cpp
//! does it (each of its single-byte characters that is a token), never a panic.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::bytes;

/// A fast hasher for the packed `(left, right)` id pairs (multiplicative, like FxHash).
#[derive(Default)]
pub(crate) struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type PairMap = HashMap<u64, (u32, u32), BuildHasherDefault<PairHasher>>;

#[inline]
fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// The merge table of one vocabulary.
#[derive(Debug)]
pub(crate) struct Bpe {
    /// `(left id, right id)` → `(rank, merged id)`.
    merges: PairMap,
    /// Symbol id of each byte's GPT-2 character.
    byte_sym: [u32; 256],
    /// Number of real vocabulary ids; ids at or past it are synthetic.
    n_vocab: u32,
    /// Token ids emitted for each synthetic symbol.
    synthetic_fallback: Vec<Vec<u32>>,
}

impl Bpe {
    /// Builds the table from merge rules `"left right"` and a text → id lookup.
    pub(crate) fn new<'m>(
        n_vocab: usize,
        merges: impl IntoIterator<Item = &'m str>,
        id_of: impl Fn(&str) -> Option<u32>,
    ) -> Self {
        let n_vocab = n_vocab as u32;
        let mut synthetic: HashMap<String, u32> = HashMap::new();
        let mut synthetic_fallback = Vec::new();
        let mut intern = |s: &str| -> u32 {
            if let Some(id) = id_of(s) {
                return id;
            }
            if let Some(&id) = synthetic.get(s) {
                return id;
            }
            let id = n_vocab + synthetic_fallback.len() as u32;
            // llama.cpp: every byte of the symbol's text that is itself a token.
            let fallback = s
                .bytes()
                .filter_map(|b| std::str::from_utf8(&[b]).ok().and_then(&id_of))
                .collect();
            synthetic_fallback.push(fallback);
            synthetic.insert(s.to_owned(), id);
            id
        };
        let mut byte_sym = [0u32; 256];
        for (b, slot) in byte_sym.iter_mut().enumerate() {
            *slot = intern(bytes::byte_to_char(b as u8).encode_utf8(&mut [0u8; 4]));
        }
        let mut map = PairMap::default();
        for (rank, rule) in merges.into_iter().enumerate() {
            // llama.cpp splits at the first space after the first byte.
            let Some(pos) = rule.bytes().skip(1).position(|b| b == b' ').map(|p| p + 1) else {
                continue;
            };
            let (a, b) = (&rule[..pos], &rule[pos + 1..]);
            let (ia, ib) = (intern(a), intern(b));
            let merged = intern(&format!("{a}{b}"));
            map.entry(pair_key(ia, ib)).or_insert((rank as u32, merged));
        }
        Self {
            merges: map,
            byte_sym,
            n_vocab,
            synthetic_fallback,
        }
    }

    /// Appends the tokens of one word (raw bytes) to `out`.
    pub(crate) fn encode_word(&self, word: &[u8], out: &mut Vec<u32>, s: &mut Scratch) {
        if word.len() == 1 {
            self.emit(self.byte_sym[usize::from(word[0])], out);
            return;
        }
        s.syms.clear();
        s.heap.clear();
        let n = word.len() as u32;
        s.syms.extend(word.iter().enumerate().map(|(i, &b)| Sym {
            id: self.byte_sym[usize::from(b)],
            prev: (i as u32).wrapping_sub(1), // NONE for i == 0
            next: if i as u32 + 1 == n {
                NONE
            } else {
                i as u32 + 1
            },
            alive: true,
        }));
        for i in 1..n {
            self.push_pair(s, i - 1, i);
        }
        while let Some(Reverse(p)) = s.heap.pop() {
            let (l, r) = (p.left as usize, p.right as usize);
            let (ls, rs) = (s.syms[l], s.syms[r]);
            if !ls.alive || !rs.alive || ls.id != p.left_id || rs.id != p.right_id {
                continue; // stale
            }
            s.syms[l].id = p.merged;
            s.syms[l].next = rs.next;
            s.syms[r].alive = false;
            if rs.next != NONE {
                s.syms[rs.next as usize].prev = p.left;
            }
            if ls.prev != NONE {
                self.push_pair(s, ls.prev, p.left);
            }
            if rs.next != NONE {
                self.push_pair(s, p.left, rs.next);
            }
        }
        let mut i = 0u32;
        while i != NONE {
            let sym = s.syms[i as usize];
            self.emit(sym.id, out);
            i = sym.next;
        }
    }

    #[inline]
    fn push_pair(&self, s: &mut Scratch, left: u32, right: u32) {
        let (a, b) = (s.syms[left as usize].id, s.syms[right as usize].id);
        if let Some(&(rank, merged)) = self.merges.get(&pair_key(a, b)) {
            s.heap.push(Reverse(Pair {
                rank,
                left,
                right,
                left_id: a,
                right_id: b,
                merged,
            }));
        }
    }

    #[inline]
    fn emit(&self, id: u32, out: &mut Vec<u32>) {
        if id < self.n_vocab {
            out.push(id);
        } else if let Some(f) = self.synthetic_fallback.get((id - self.n_vocab) as usize) {
            out.extend_from_slice(f);
        }
    }
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Sym {
    id: u32,
    prev: u32,
    next: u32,
    alive: bool,
}

/// A candidate merge; ordered by rank, then by position (llama.cpp's tie-break).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pair {
    rank: u32,
    left: u32,
    right: u32,
    left_id: u32,
    right_id: u32,
    merged: u32,
}

impl Ord for Pair {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.rank, self.left).cmp(&(o.rank, o.left))
    }
}

impl PartialOrd for Pair {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// Reusable buffers for [`Bpe::encode_word`].
#[derive(Default)]
pub(crate) struct Scratch {
    syms: Vec<Sym>,
    heap: BinaryHeap<Reverse<Pair>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_by_rank_then_position() {
        // vocab: a b c ab bc abc ; merges: "b c" (rank 0) beats "a b" (rank 1).
        let vocab = ["a", "b", "c", "ab", "bc", "abc", "aa"];
        let id_of = |s: &str| vocab.iter().position(|v| *v == s).map(|i| i as u32);
        let bpe = Bpe::new(vocab.len(), ["b c", "a b", "a bc", "a a"], id_of);
        let mut s = Scratch::default();
        let mut out = Vec::new();
        bpe.encode_word(b"abc", &mut out, &mut s);
        assert_eq!(out, [5]); // a + bc -> abc
        out.clear();
        bpe.encode_word(b"aaa", &mut out, &mut s);
        assert_eq!(out, [6, 0]); // leftmost pair first
        out.clear();
        // 'x' is not a token: dropped like llama.cpp's byte fallback finds nothing
        bpe.encode_word(b"xab", &mut out, &mut s);
        assert_eq!(out, [3]);
    }
}
