//! Pieces shared by generate and chat: loading with progress, KV, sampling, stats line.

use std::path::Path;
use std::time::Instant;

use vkv_engine::{GenStats, KvMode, SamplingParams};
use vkv_kv::KvBackend;
use vkv_model::loader::{self, LoadedModel};

use crate::args::{ModelArgs, SamplingArgs};
use crate::progress::Bar;

/// Resolve (pulling if needed) and load the model; a short note on stderr.
pub fn load_model(home: &Path, a: &ModelArgs) -> anyhow::Result<LoadedModel> {
    let src = loader::resolve(&a.model, home, &Bar::bytes())?;
    let t0 = Instant::now();
    let lm = loader::load(&src)?;
    eprintln!(
        "loaded {} from {} in {:.2}s",
        lm.name,
        src.path().display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(lm)
}

/// The context limit: `--ctx` capped by the model's trained context.
pub fn context_limit(lm: &LoadedModel, a: &ModelArgs) -> usize {
    let trained = lm.transformer.config.context_length;
    a.ctx.map_or(trained, |c| c.min(trained))
}

/// A KV backend for one sequence of at most `cap` tokens.
pub fn build_kv(lm: &LoadedModel, a: &ModelArgs, cap: usize) -> anyhow::Result<Box<dyn KvBackend>> {
    let mode: KvMode = a.kv.parse()?;
    Ok(mode.build(&lm.transformer.config, cap)?)
}

/// Sampling parameters from the flags.
pub fn sampling(a: &SamplingArgs) -> SamplingParams {
    SamplingParams {
        temperature: a.temperature,
        top_k: a.top_k,
        top_p: a.top_p,
        repetition_penalty: a.repeat_penalty,
        repeat_last_n: a.repeat_last_n,
        seed: a.seed,
    }
}

/// The final stderr line.
pub fn print_stats(s: &GenStats) {
    eprintln!(
        "prefill: {} tokens in {:.2}s ({:.1} tok/s) | decode: {} tokens in {:.2}s ({:.1} tok/s)",
        s.prompt_tokens,
        s.prefill_secs,
        s.prefill_tps(),
        s.gen_tokens,
        s.decode_secs,
        s.decode_tps()
    );
}
