//! Runs task prompts through KV modes: prefill, greedy generation, scoring, and one JSONL line
//! per finished (cell, mode), so that an interrupted run resumes where it stopped.
//!
//! Prefill once: every mode prefills exactly (sparse modes build their index after the
//! prompt), so each prompt is prefilled into one [`DenseKv`] and forked into each mode
//! ([`KvMode::fork`], tested equal to the mode's own prefill), which then builds its index and
//! generates. Comparing dense and wave costs one prefill, not two.
//!
//! Prefix reuse: prompts are run in lexicographic token order and the dense cache is truncated
//! back to the longest common prefix with the previous prompt instead of being rebuilt. Prompts
//! over the same haystack (different depths, needle kinds, tasks) share everything up to their
//! first needle, so each shared prefix is prefilled once (a depth-first walk of the prompt
//! trie).
//!
//! Saved prefills ([`PrefillStore`]): a prompt whose dense cache was saved by an earlier run
//! is loaded instead of prefilled, so new KV modes over finished prompts cost only their fork,
//! index and decode.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use vkv_engine::{KvMode, Sampler, SamplingParams};
use vkv_kv::{DenseKv, KvBackend, KvDtype, Phase};
use vkv_model::{Logits, Tokenizer, Transformer};

use crate::data::sha256_hex;
use crate::prefill_store::PrefillStore;
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
    /// Prompt tokens taken from the previous prompt's cache or a saved prefill.
    pub reused_tokens: usize,
    /// Seconds of prefill (the non-reused part), including `index_secs`.
    pub prefill_secs: f64,
    /// Seconds spent forking the dense prefill into this mode and building its index.
    #[serde(default)]
    pub index_secs: f64,
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
    let lines: Vec<String> = std::io::BufReader::new(f)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))?;
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

/// Open a results file for appending, first cutting a torn last line (no final newline: the
/// run was killed mid-write) so that the next line does not join it.
pub fn open_for_append(path: &Path) -> Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.last().is_some_and(|&b| b != b'\n') {
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        f.set_len(keep as u64).map_err(|e| Error::io(path, e))?;
    }
    Ok(f)
}

/// The part of a prompt whose prefill is saved: all tokens but the last, whose forward pass
/// gives the logits that start generation.
pub fn saved_part(tokens: &[u32]) -> &[u32] {
    &tokens[..tokens.len().saturating_sub(1)]
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

/// Run `cells` through every mode of `modes` (skipping the (cell, mode) pairs in `done`),
/// appending each result to `results` as it finishes; returns the new results. Each prompt is
/// prefilled once per prefill storage type ([`KvMode::prefill_dtype`]) and forked into the
/// modes that share it, or loaded from `store` when saved there.
#[allow(clippy::too_many_arguments)]
pub fn run_modes(
    model: &Transformer,
    tok: &Tokenizer,
    modes: &[KvMode],
    cells: &[TaskSample],
    done: &HashSet<(String, String)>,
    results: &Path,
    store: &PrefillStore,
    progress: &mut dyn RunProgress,
) -> Result<Vec<CellResult>> {
    let mut out = Vec::new();
    for (dt, group) in KvMode::prefill_groups(modes) {
        out.extend(run_group(
            model, tok, dt, &group, cells, done, results, store, progress,
        )?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn run_group(
    model: &Transformer,
    tok: &Tokenizer,
    dt: KvDtype,
    modes: &[&KvMode],
    cells: &[TaskSample],
    done: &HashSet<(String, String)>,
    results: &Path,
    store: &PrefillStore,
    progress: &mut dyn RunProgress,
) -> Result<Vec<CellResult>> {
    let names: Vec<String> = modes.iter().map(ToString::to_string).collect();
    let pending = |c: &TaskSample| names.iter().any(|n| !done.contains(&(c.key(), n.clone())));
    let mut todo: Vec<&TaskSample> = cells.iter().filter(|c| pending(c)).collect();
    todo.sort_by(|a, b| a.tokens.cmp(&b.tokens));
    let max_new = todo.iter().map(|c| c.max_new).max().unwrap_or(0);
    let cap = todo
        .iter()
        .map(|c| c.tokens.len() + c.max_new)
        .max()
        .unwrap_or(0);
    if cap > model.config.context_length {
        return Err(Error::Config(format!("a prompt of {} tokens plus {max_new} to generate exceeds the model's context length {}", cap.saturating_sub(max_new), model.config.context_length)));
    }
    let mut file = open_for_append(results)?;
    let mut base: Option<DenseKv> = None;
    let mut cached: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    for cell in todo {
        if cell.tokens.is_empty() {
            return Err(Error::Config(format!("{}: empty prompt", cell.key())));
        }
        let n = cell.tokens.len();
        let stem = saved_part(&cell.tokens);
        let t0 = Instant::now();
        let loaded = store.load(stem, dt, model.config.attn(cap))?;
        let was_loaded = loaded.is_some();
        let (base, lcp) = match (loaded, &mut base) {
            (Some(b), slot) => (slot.insert(b), stem.len()),
            (None, Some(b)) => {
                let lcp = common_prefix(&cached, &cell.tokens).min(n - 1);
                b.truncate(lcp)?;
                (b, lcp)
            }
            (None, slot) => (slot.insert(DenseKv::new(model.config.attn(cap), dt)?), 0),
        };
        prefill(model, base, &cell.tokens[lcp..n - 1], false, progress)?;
        if !was_loaded {
            store.save(stem, base)?;
        }
        let logits = prefill(model, base, &cell.tokens[n - 1..], true, progress)?;
        let prefill_secs = t0.elapsed().as_secs_f64();
        cached = cell.tokens.clone();
        for (mode, name) in modes.iter().zip(&names) {
            if done.contains(&(cell.key(), name.clone())) {
                continue;
            }
            let (gen, index_secs) = match mode {
                KvMode::Dense(_) => {
                    let g = generate(model, tok, base, cell, logits.clone())?;
                    base.truncate(cell.tokens.len())?;
                    (g, 0.0)
                }
                _ => {
                    let t = Instant::now();
                    let mut kv = mode.fork(&model.config, cap, base)?;
                    kv.finish_prefill()?;
                    let secs = t.elapsed().as_secs_f64();
                    (
                        generate(model, tok, kv.as_mut(), cell, logits.clone())?,
                        secs,
                    )
                }
            };
            let r = CellResult {
                key: cell.key(),
                task: cell.task.clone(),
                kv: name.clone(),
                length: cell.length,
                depth: cell.depth,
                sample: cell.sample,
                prompt_tokens: cell.tokens.len(),
                prompt_hash: prompt_hash(&cell.tokens),
                score: score(&gen.output, &cell.expected),
                expected: cell.expected.clone(),
                output: gen.output,
                reused_tokens: lcp,
                prefill_secs: prefill_secs + index_secs,
                index_secs,
                gen_tokens: gen.tokens,
                decode_secs: gen.secs,
            };
            let line = serde_json::to_string(&r).map_err(|e| Error::Report(e.to_string()))?;
            writeln!(file, "{line}")
                .and_then(|()| file.flush())
                .map_err(|e| Error::io(results, e))?;
            progress.cell(&r);
            out.push(r);
        }
    }
    Ok(out)
}

/// Prefill `tokens` on top of the cache; returns the last position's logits if `logits`
/// (else an empty vector).
fn prefill(
    model: &Transformer,
    kv: &mut dyn KvBackend,
    tokens: &[u32],
    logits: bool,
    progress: &mut dyn RunProgress,
) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    let mut done = 0;
    for c in tokens.chunks(CHUNK) {
        let last = logits && done + c.len() == tokens.len();
        let y = model.forward(
            c,
            kv,
            Phase::Prefill,
            if last { Logits::Last } else { Logits::None },
        )?;
        if last {
            out = y.into_vec().map_err(vkv_model::Error::from)?;
        }
        done += c.len();
        progress.tokens(c.len());
    }
    Ok(out)
}

/// What one greedy generation produced.
struct Generated {
    output: String,
    tokens: usize,
    secs: f64,
}

/// Greedy generation from the prompt's last logits until end of generation, `max_new` tokens,
/// or an early stop.
fn generate(
    model: &Transformer,
    tok: &Tokenizer,
    kv: &mut dyn KvBackend,
    cell: &TaskSample,
    mut logits: Vec<f32>,
) -> Result<Generated> {
    let t1 = Instant::now();
    let mut sampler = Sampler::new(SamplingParams {
        temperature: 0.0,
        ..SamplingParams::default()
    });
    let mut generated: Vec<u32> = Vec::new();
    for i in 0..cell.max_new {
        let t = sampler.sample(&logits, &[]);
        if tok.is_end_of_generation(t) {
            break;
        }
        generated.push(t);
        if i + 1 == cell.max_new || stop_early(tok, &generated, cell) {
            break;
        }
        logits = model
            .forward(&[t], kv, Phase::Decode, Logits::Last)?
            .into_vec()
            .map_err(vkv_model::Error::from)?;
    }
    Ok(Generated {
        output: tok.decode(&generated)?,
        tokens: generated.len(),
        secs: t1.elapsed().as_secs_f64(),
    })
}

/// Single-answer tasks stop at the end of the first line once every expected value is out.
fn stop_early(tok: &Tokenizer, generated: &[u32], cell: &TaskSample) -> bool {
    if !generated.len().is_multiple_of(4) {
        return false;
    }
    tok.decode(generated)
        .is_ok_and(|s| score(&s, &cell.expected) >= 1.0 && s.contains('\n'))
}
