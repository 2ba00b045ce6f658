//! Splitting one NIAH grid / RULER suite across machines (`vkv eval ... --shard I/N`).
//!
//! A long grid is hours of prefill on a small CPU; a second machine can take part of it. A
//! shard is a contiguous block of the cells in run order (prompt tokens, lexicographic: the
//! order [`crate::runner::run_modes`] walks), so a block keeps the prefixes its prompts share.
//! The blocks partition the cells and depend only on the cells, so every machine computes the
//! same split. Each machine writes its own results; `scripts/eval_sync.sh` merges them, and a
//! run without `--shard` then skips every merged cell.

use crate::tasks::TaskSample;
use crate::{Error, Result};

/// A shard spec: block `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which block, 0-based.
    pub index: usize,
    /// How many blocks.
    pub count: usize,
}

impl Shard {
    /// Parse the 1-based `I/N` of the command line (`2/2` = the second half).
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || {
            Error::Config(format!(
                "bad shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/2"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let i: usize = i.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if i == 0 || i > n {
            return Err(bad());
        }
        Ok(Shard {
            index: i - 1,
            count: n,
        })
    }

    /// This shard's cells, in run order.
    pub fn select(&self, mut cells: Vec<TaskSample>) -> Vec<TaskSample> {
        cells.sort_by(|a, b| a.tokens.cmp(&b.tokens).then_with(|| a.key().cmp(&b.key())));
        let n = cells.len();
        let (lo, hi) = (
            n * self.index / self.count,
            n * (self.index + 1) / self.count,
        );
        cells.drain(lo..hi).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(sample: usize, tokens: Vec<u32>) -> TaskSample {
        TaskSample {
            task: "ruler/cwe".into(),
            length: 16,
            depth: None,
            sample,
            text: String::new(),
            tokens,
            expected: vec![],
            max_new: 1,
        }
    }

    /// Seven cells in a scrambled order, two sharing a prefix.
    fn cells() -> Vec<TaskSample> {
        [
            vec![5, 1],
            vec![2],
            vec![9, 9, 9],
            vec![2, 7],
            vec![0, 4],
            vec![5],
            vec![3, 3],
        ]
        .into_iter()
        .enumerate()
        .map(|(i, t)| cell(i, t))
        .collect()
    }

    #[test]
    fn blocks_partition_the_cells_in_run_order() {
        for count in 1..=9 {
            let mut seen = vec![];
            for index in 0..count {
                let block = Shard { index, count }.select(cells());
                assert!(
                    block.len() <= 7usize.div_ceil(count),
                    "{index}/{count}: {}",
                    block.len()
                );
                seen.extend(block.into_iter().map(|c| c.tokens));
            }
            // Concatenated, the blocks are every cell once, sorted by tokens.
            let mut want: Vec<Vec<u32>> = cells().into_iter().map(|c| c.tokens).collect();
            want.sort();
            assert_eq!(seen, want, "count {count}");
        }
    }

    #[test]
    fn the_split_ignores_the_input_order() {
        let mut rev = cells();
        rev.reverse();
        let s = Shard { index: 1, count: 3 };
        let keys = |v: Vec<TaskSample>| v.iter().map(TaskSample::key).collect::<Vec<_>>();
        assert_eq!(keys(s.select(cells())), keys(s.select(rev)));
        assert_eq!(
            keys(s.select(cells())),
            ["ruler/cwe|16|-|3", "ruler/cwe|16|-|6"]
        );
    }

    #[test]
    fn parse_is_one_based_and_checked() {
        assert_eq!(Shard::parse("2/2").ok(), Some(Shard { index: 1, count: 2 }));
        assert_eq!(
            Shard::parse(" 1 / 3 ").ok(),
            Some(Shard { index: 0, count: 3 })
        );
        for bad in ["0/2", "3/2", "2", "a/b", "1/0", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad:?}");
        }
    }
}
