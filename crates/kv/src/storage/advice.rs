//! [`AdviceLog`]: which mapped cluster records were recently handed to the OS's read-ahead.
//!
//! A decode step asks the OS to start reading its missed records (`madvise(WILLNEED)`) so that
//! their page-ins overlap compute. The hint is a system call (~1 µs) and most of the time the
//! pages are already in the page cache: at a 10% retrieval budget without a fast tier, a 32K
//! step of qwen2.5-0.5b made ~10,000 of them, which cost more CPU than the attention itself
//! (docs/PERF.md, "Mapped slow tier"). So each record is advised at most once per
//! [`ADVICE_STEPS`] steps: after that it may have been evicted under memory pressure (the case
//! the file exists for) and is advised again. Any change to the slow tier (an index update, a
//! rollback) forgets everything, since cluster ids then name other records.

/// Steps after which a record is advised again.
pub const ADVICE_STEPS: u64 = 64;

/// Per (layer, kv head): the step at which each cluster was last advised.
#[derive(Debug, Default)]
pub struct AdviceLog {
    last: Vec<u64>,
    generation: u64,
    step: u64,
    calls: u64,
}

impl AdviceLog {
    /// Start a step over a slow tier whose layout is at `generation`.
    pub fn begin(&mut self, generation: u64) {
        self.step += 1;
        if generation != self.generation {
            self.last.clear();
            self.generation = generation;
        }
    }

    /// Whether cluster `c`'s record should be advised in this step (if so, it is recorded as
    /// advised now).
    pub fn should_advise(&mut self, c: u32) -> bool {
        let i = c as usize;
        if self.last.len() <= i {
            self.last.resize(i + 1, 0);
        }
        // Steps start at 1, so 0 means never advised.
        let due = self.last[i] == 0 || self.step - self.last[i] >= ADVICE_STEPS;
        if due {
            self.last[i] = self.step;
            self.calls += 1;
        }
        due
    }

    /// Advice given since creation.
    pub fn calls(&self) -> u64 {
        self.calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First miss advised; repeats within ADVICE_STEPS not; due again after ADVICE_STEPS steps;
    /// a new slow-tier generation forgets all.
    #[test]
    fn rate_limited_and_reset_by_layout_changes() {
        let mut a = AdviceLog::default();
        a.begin(0);
        assert!(a.should_advise(5) && a.should_advise(0));
        assert!(!a.should_advise(5), "twice in one step");
        for _ in 1..ADVICE_STEPS {
            a.begin(0);
            assert!(!a.should_advise(5) && !a.should_advise(0));
        }
        a.begin(0);
        assert!(a.should_advise(5), "due after ADVICE_STEPS steps");
        a.begin(0);
        assert!(!a.should_advise(5) && a.should_advise(7));
        a.begin(1);
        assert!(a.should_advise(5), "a changed slow tier forgets the log");
        assert_eq!(a.calls(), 5);
    }
}
