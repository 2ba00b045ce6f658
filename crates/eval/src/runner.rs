//! Runs task prompts through one KV mode: prefill, greedy generation, scoring, and one JSONL
//! line per finished cell, so that an interrupted run resumes where it stopped.
//!
//! Prefix reuse: prompts are run in lexicographic token order and the KV cache is truncated
//! back to the longest common prefix with the previous prompt instead of being rebuilt. Prompts
//! over the same haystack (different depths, needle kinds, tasks) share everything up to their
//! first needle, so each shared prefix is prefilled once (a depth-first walk of the prompt
//! trie). Only modes whose `truncate` after `finish_prefill` is exact reuse prefixes (the dense
//! modes); others get a fresh cache per prompt.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use vkv_engine::{KvMode, Sampler, SamplingParams};
use vkv_kv::{KvBackend, Phase};
use vkv_model::{Logits, Tokenizer, Transformer};

use crate::data::sha256_hex;
use crate::tasks::{score, TaskSample};
use crate::{Error, Result};

/// Prompt tokens per forward pass.
const CHUNK: usize = vkv_engine::PREFILL_CHUNK;

/// The outcome of one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellResult {
    /// [`TaskSample::key`].
    pub key: String,
    /// Task.
    pub task: String,
    /// KV mode.
    pub kv: String,
    /// Target length.
    pub length: usize,
    /// Needle depth.
    pub depth: Option<f64>,
    /// Sample index.
    pub sample: usize,
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// First 16 hex digits of the sha256 of the prompt tokens (a changed generator is not resumed).
    pub prompt_hash: String,
    /// Expected strings.
    pub expected: Vec<String>,
    /// The generated text.
    pub output: String,
    /// Fraction of expected strings found.
    pub score: f64,
    /// Prompt tokens taken from the previous prompt's cache.
    pub reused_tokens: usize,
    /// Seconds of prefill (the non-reused part).
    pub prefill_secs: f64,
    /// Tokens generated.
    pub gen_tokens: usize,
    /// Seconds of decoding.
    pub decode_secs: f64,
}

/// Hash of a prompt's tokens.
pub fn prompt_hash(tokens: &[u32]) -> String {
    let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
    sha256_hex(&bytes)[..16].to_string()
}

/// Read a results file. A torn last line (the run was killed mid-write) is ignored; any other
/// unparsable line is an error naming the line.
pub fn load_results(path: &Path) -> Result<Vec<CellResult>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let lines: Vec<String> = std::io::BufReader::new(f).lines().collect::<std::io::Result<_>>().map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    let n = lines.len();
    for (i, l) in lines.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<CellResult>(l) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == n => {}
            Err(e) => return Err(Error::corrupt(path, format!("line {}: {e}", i + 1))),
        }
    }
    Ok(out)
}

/// Whether `mode` may truncate into a finished prefill and continue exactly.
pub fn reuses_prefix(mode: &KvMode) -> bool {
    mode.to_string().starts_with("dense")
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Progress of a run.
pub trait RunProgress {
    /// `n` more prompt tokens prefilled.
    fn tokens(&mut self, n: usize);
    /// A cell finished.
    fn cell(&mut self, r: &CellResult);
}

/// Run `cells` (those not in `done` for this mode) through `mode`, appending each result to
/// `results` as it finishes; returns the new results.
pub fn run_mode(model: &Transformer, tok: &Tokenizer, mode: &KvMode, cells: &[TaskSample], done: &HashSet<(String, String)>, results: &Path, progress: &mut dyn RunProgress) -> Result<Vec<CellResult>> {
    let kv_name = mode.to_string();
    let mut todo: Vec<&TaskSample> = cells.iter().filter(|c| !done.contains(&(c.key(), kv_name.clone()))).collect();
    todo.sort_by(|a, b| a.tokens.cmp(&b.tokens));
    let cap = todo.iter().map(|c| c.tokens.len() + c.max_new).max().unwrap_or(0);
    if cap > model.config.context_length {
        return Err(Error::Config(format!("a prompt of {} tokens plus {} to generate exceeds the model's context length {}", cap.saturating_sub(todo.iter().map(|c| c.max_new).max().unwrap_or(0)), todo.iter().map(|c| c.max_new).max().unwrap_or(0), model.config.context_length)));
    }
    let reuse = reuses_prefix(mode);
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(results).map_err(|e| Error::io(results, e))?;
    let mut kv: Option<Box<dyn KvBackend>> = None;
    let mut cached: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    for cell in todo {
        if cell.tokens.is_empty() {
            return Err(Error::Config(format!("{}: empty prompt", cell.key())));
        }
        let mut lcp = if reuse { common_prefix(&cached, &cell.tokens).min(cell.tokens.len() - 1) } else { 0 };
        let backend = match (&mut kv, reuse) {
            (Some(b), true) => {
                b.truncate(lcp)?;
                b
            }
            (slot, _) => {
                lcp = 0;
                slot.insert(mode.build(&model.config, cap)?)
            }
        };
        let r = run_cell(model, tok, backend.as_mut(), cell, lcp, &kv_name, progress)?;
        cached = cell.tokens.clone();
        cached.extend(r.1);
        if !reuse {
            kv = None;
        }
        let line = serde_json::to_string(&r.0).map_err(|e| Error::Report(e.to_string()))?;
        writeln!(file, "{line}").and_then(|()| file.flush()).map_err(|e| Error::io(results, e))?;
        progress.cell(&r.0);
        out.push(r.0);
    }
    Ok(out)
}

/// Prefill `cell.tokens[lcp..]` on top of the cache, generate greedily, score. Returns the
/// result and the generated tokens that were forwarded (now in the cache).
fn run_cell(model: &Transformer, tok: &Tokenizer, kv: &mut dyn KvBackend, cell: &TaskSample, lcp: usize, kv_name: &str, progress: &mut dyn RunProgress) -> Result<(CellResult, Vec<u32>)> {
    let t0 = Instant::now();
    let rest = &cell.tokens[lcp..];
    let mut logits = Vec::new();
    let mut done = 0;
    for c in rest.chunks(CHUNK) {
        let last = done + c.len() == rest.len();
        let y = model.forward(c, kv, Phase::Prefill, if last { Logits::Last } else { Logits::None })?;
        if last {
            logits = y.into_vec().map_err(vkv_model::Error::from)?;
        }
        done += c.len();
        progress.tokens(c.len());
    }
    kv.finish_prefill()?;
    let prefill_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut sampler = Sampler::new(SamplingParams { temperature: 0.0, ..SamplingParams::default() });
    let mut generated: Vec<u32> = Vec::new();
    let mut forwarded: Vec<u32> = Vec::new();
    for i in 0..cell.max_new {
        let t = sampler.sample(&logits, &[]);
        if tok.is_end_of_generation(t) {
            break;
        }
        generated.push(t);
        if i + 1 == cell.max_new || stop_early(tok, &generated, cell) {
            break;
        }
        logits = model.forward(&[t], kv, Phase::Decode, Logits::Last)?.into_vec().map_err(vkv_model::Error::from)?;
        forwarded.push(t);
    }
    let decode_secs = t1.elapsed().as_secs_f64();
    let output = tok.decode(&generated)?;
    let r = CellResult {
        key: cell.key(),
        task: cell.task.clone(),
        kv: kv_name.to_string(),
        length: cell.length,
        depth: cell.depth,
        sample: cell.sample,
        prompt_tokens: cell.tokens.len(),
        prompt_hash: prompt_hash(&cell.tokens),
        score: score(&output, &cell.expected),
        expected: cell.expected.clone(),
        output,
        reused_tokens: lcp,
        prefill_secs,
        gen_tokens: generated.len(),
        decode_secs,
    };
    Ok((r, forwarded))
}

/// Single-answer tasks stop at the end of the first line once every expected value is out.
fn stop_early(tok: &Tokenizer, generated: &[u32], cell: &TaskSample) -> bool {
    if !generated.len().is_multiple_of(4) {
        return false;
    }
    tok.decode(generated).is_ok_and(|s| score(&s, &cell.expected) >= 1.0 && s.contains('\n'))
}
