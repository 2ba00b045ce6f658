//! `--kv` strings for [`WaveConfig`]: `wave`, `wave:r=0.1,e=0.232,cache=3,slow=/mnt/nvme`.
//!
//! Keys: `r` (retrieval budget), `e` (estimation budget), `sinks`, `window`, `cs` (average
//! cluster size), `seg` (segment size), `iters` (k-means iterations), `update` (update
//! interval), `page` (page size), `cache` (fast-tier capacity, × nprobe clusters), `slow`
//! (slow-tier directory; `ram` keeps it in RAM). Unknown keys are errors.

use std::fmt::Write;
use std::path::PathBuf;

use super::WaveConfig;
use crate::{Error, Result};

fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| Error::Config(format!("wave: bad value {v:?} for {key}")))
}

impl WaveConfig {
    /// Parse `wave[:key=value,...]` (see the module docs); missing keys keep their defaults.
    pub fn from_kv_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let rest = match s.strip_prefix("wave") {
            Some("") => "",
            Some(r) => r.strip_prefix(':').ok_or_else(|| {
                Error::Config(format!("wave: expected ':' after 'wave' in {s:?}"))
            })?,
            None => s,
        };
        let mut c = Self::default();
        for kv in rest.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| Error::Config(format!("wave: expected key=value, got {kv:?}")))?;
            let (k, v) = (k.trim(), v.trim());
            match k {
                "r" | "retrieval" => c.retrieval_budget = num(k, v)?,
                "e" | "estimation" => c.estimation_budget = num(k, v)?,
                "sinks" => c.sinks = num(k, v)?,
                "window" => c.window = num(k, v)?,
                "cs" | "cluster" => c.avg_cluster_size = num(k, v)?,
                "seg" | "segment" => c.segment_size = num(k, v)?,
                "iters" => c.kmeans_iters = num(k, v)?,
                "update" => c.update_interval = num(k, v)?,
                "page" => c.page_size = num(k, v)?,
                "cache" => c.cache_factor = num(k, v)?,
                "slow" => c.slow_dir = if v == "ram" { None } else { Some(PathBuf::from(v)) },
                other => return Err(Error::Config(format!("wave: unknown key {other:?} (r, e, sinks, window, cs, seg, iters, update, page, cache, slow)"))),
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// The `--kv` string that [`WaveConfig::from_kv_str`] parses back to `self`.
    pub fn to_kv_string(&self) -> String {
        let mut s = format!(
            "wave:r={},e={},sinks={},window={},cs={},seg={},iters={},update={},page={},cache={}",
            self.retrieval_budget,
            self.estimation_budget,
            self.sinks,
            self.window,
            self.avg_cluster_size,
            self.segment_size,
            self.kmeans_iters,
            self.update_interval,
            self.page_size,
            self.cache_factor
        );
        if let Some(d) = &self.slow_dir {
            let _ = write!(s, ",slow={}", d.display());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_round_trip() -> Result<()> {
        assert_eq!(WaveConfig::from_kv_str("wave")?, WaveConfig::default());
        let c = WaveConfig::from_kv_str("wave:r=0.05, e=0.1,cache=2,slow=/tmp/x")?;
        assert_eq!(
            (c.retrieval_budget, c.estimation_budget, c.cache_factor),
            (0.05, 0.1, 2.0)
        );
        assert_eq!(c.slow_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(WaveConfig::from_kv_str(&c.to_kv_string())?, c);
        assert!(WaveConfig::from_kv_str("wave:bogus=1").is_err());
        assert!(WaveConfig::from_kv_str("wave:r=abc").is_err());
        assert!(WaveConfig::from_kv_str("wave:r=2").is_err());
        assert!(WaveConfig::from_kv_str("wavy").is_err());
        Ok(())
    }
}
