//! [`TimedKv`]: a pass-through backend that measures the wall time spent inside `attend` (the
//! attention of every layer, K/V storage included), so `vkv bench` can report attention time per
//! decode step next to whole-step throughput.

use std::time::{Duration, Instant};

use vkv_kernels::Tensor;
use vkv_kv::{KvBackend, MemoryUsage, Phase, Qkv};

/// Wraps a backend and accumulates the time of its `attend` calls.
pub struct TimedKv {
    inner: Box<dyn KvBackend>,
    spent: Duration,
}

impl TimedKv {
    /// Wrap `inner`.
    pub fn new(inner: Box<dyn KvBackend>) -> Self {
        Self {
            inner,
            spent: Duration::ZERO,
        }
    }

    /// Seconds spent in `attend` since the last [`Self::reset`].
    pub fn attend_secs(&self) -> f64 {
        self.spent.as_secs_f64()
    }

    /// Zero the timer.
    pub fn reset(&mut self) {
        self.spent = Duration::ZERO;
    }
}

impl KvBackend for TimedKv {
    fn attend(&mut self, layer: usize, qkv: Qkv<'_>, phase: Phase) -> vkv_kv::Result<Tensor> {
        let t = Instant::now();
        let r = self.inner.attend(layer, qkv, phase);
        self.spent += t.elapsed();
        r
    }
    fn finish_prefill(&mut self) -> vkv_kv::Result<()> {
        self.inner.finish_prefill()
    }
    fn n_tokens(&self) -> usize {
        self.inner.n_tokens()
    }
    fn truncate(&mut self, n: usize) -> vkv_kv::Result<()> {
        self.inner.truncate(n)
    }
    fn memory(&self) -> MemoryUsage {
        self.inner.memory()
    }
    fn fast_tier_hit_rate(&self) -> Option<f64> {
        self.inner.fast_tier_hit_rate()
    }
}

/// Peak resident set size of this process in bytes (`VmHWM` of /proc/self/status; None
/// where that file does not exist).
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vkv_kv::{AttnConfig, DenseKv, KvDtype};

    #[test]
    fn times_and_passes_through() -> vkv_kv::Result<()> {
        let cfg = AttnConfig {
            n_layers: 1,
            n_q_heads: 2,
            n_kv_heads: 1,
            head_dim: 4,
            max_tokens: 4,
        };
        let mut kv = TimedKv::new(Box::new(DenseKv::new(cfg, KvDtype::F32)?));
        let q = Tensor::from_vec(&[1, 2, 4], vec![0.5; 8])?;
        let k = Tensor::from_vec(&[1, 1, 4], vec![0.25; 4])?;
        let y = kv.attend(
            0,
            Qkv {
                q: &q,
                k: &k,
                v: &k,
            },
            Phase::Decode,
        )?;
        assert_eq!(y.as_slice()?, &[0.25; 8]);
        assert!(kv.attend_secs() > 0.0 && kv.n_tokens() == 1 && kv.memory().fast_bytes > 0);
        kv.reset();
        assert_eq!(kv.attend_secs(), 0.0);
        assert!(peak_rss_bytes().is_none_or(|b| b > 0));
        Ok(())
    }
}
