//! Run directories named by the old scheme, adopted by the new one.
//!
//! Until 2026-11-30 a NIAH/RULER run directory was named by a hash that also
//! covered the depths, the sample count and the task list. Those do not change any cell's
//! prompt (a cell is keyed by task, length, depth and sample, and checked against its prompt
//! hash), so adding samples or tasks to a finished run started a new, empty directory. Now the
//! name covers only what changes prompts ([`SuiteSpec::run_id`]); to keep the cells already
//! paid for, every sibling directory of the same suite whose `config.json` names the same
//! model, haystack, seed, chat setting and prompt format has its results appended to the new
//! directory's `results.jsonl`, skipping those already there.
//!
//! The merge runs at every open and is idempotent; the old directories are left as they are
//! (nothing is deleted), so a process of an older binary still writing into one is picked up at
//! the next open.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::runner::{load_results, open_for_append};
use crate::suite::{Provenance, SuiteSpec, PROMPT_FORMAT};
use crate::{Error, Result};

/// Append to `dir/results.jsonl` every result found in a same-identity sibling of `dir` under
/// `root` that `dir` lacks. Returns (directory name, results adopted) per sibling that gave
/// any.
pub fn adopt(
    root: &Path,
    dir: &Path,
    spec: &SuiteSpec,
    prov: &Provenance,
) -> Result<Vec<(String, usize)>> {
    let results = dir.join("results.jsonl");
    let mut have: HashSet<(String, String, String)> = load_results(&results)?
        .into_iter()
        .map(|r| (r.key, r.kv, r.prompt_hash))
        .collect();
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(root, e)),
    };
    let prefix = format!("{}-", spec.suite.name());
    let mut legacy: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
                && p.file_name() != dir.file_name()
        })
        .collect();
    legacy.sort();
    let mut out = Vec::new();
    let mut file = None;
    for old in legacy {
        if !same_identity(&old.join("config.json"), spec, prov) {
            continue;
        }
        let mut n = 0;
        for r in load_results(&old.join("results.jsonl"))? {
            if !have.insert((r.key.clone(), r.kv.clone(), r.prompt_hash.clone())) {
                continue;
            }
            let f = match &mut file {
                Some(f) => f,
                None => file.insert(open_for_append(&results)?),
            };
            let line = serde_json::to_string(&r).map_err(|e| Error::Report(e.to_string()))?;
            writeln!(f, "{line}").map_err(|e| Error::io(&results, e))?;
            n += 1;
        }
        if n > 0 {
            let name = old
                .file_name()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            out.push((name, n));
        }
    }
    if let Some(f) = &mut file {
        f.flush().map_err(|e| Error::io(&results, e))?;
    }
    Ok(out)
}

/// Whether a run directory's `config.json` was written for the same prompts: suite, model,
/// haystack, seed, chat and prompt format. Unreadable or foreign files are not a match.
fn same_identity(config: &Path, spec: &SuiteSpec, prov: &Provenance) -> bool {
    let Ok(text) = std::fs::read_to_string(config) else {
        return false;
    };
    let Ok(c) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    let s = &c["spec"];
    let p = &c["provenance"];
    let suite = serde_json::to_value(spec.suite).ok();
    suite.as_ref() == Some(&s["suite"])
        && s["seed"].as_u64() == Some(spec.seed)
        && s["chat"].as_bool() == Some(spec.chat)
        && p["model_sha256"].as_str() == Some(prov.model_sha256.as_str())
        && p["haystack_sha256"].as_str() == Some(prov.haystack_sha256.as_str())
        && c["prompt_format"].as_u64() == Some(u64::from(PROMPT_FORMAT))
}
