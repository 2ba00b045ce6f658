//! `vkv generate`: prompt in, completion streamed to stdout.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use anyhow::Context;
use vkv_engine::{generate, GenerateOptions, Sampler};
use vkv_model::{ChatMessage, ChatTemplate, EncodeOptions};

use super::common;
use crate::args::GenerateArgs;
use crate::progress::new_bar;

pub fn run(home: &Path, a: GenerateArgs) -> anyhow::Result<()> {
    let text = match (&a.prompt, &a.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("cannot read prompt file {}", f.display()))?,
        (None, None) => anyhow::bail!("give a prompt with --prompt TEXT or --prompt-file FILE"),
    };
    if text.trim().is_empty() {
        anyhow::bail!("the prompt is empty");
    }
    // Validate the KV mode before loading anything.
    let _: vkv_engine::KvMode = a.model.kv.parse()?;
    let lm = common::load_model(home, &a.model)?;
    let tok = &lm.tokenizer;
    let text = if a.chat {
        ChatTemplate::for_tokenizer(tok)?.render(&[ChatMessage::new("user", text)], true)?
    } else {
        text
    };
    let prompt = tok.encode(
        &text,
        EncodeOptions {
            add_special: true,
            parse_special: a.chat,
        },
    )?;
    if prompt.is_empty() {
        anyhow::bail!("the prompt tokenizes to nothing");
    }
    let limit = common::context_limit(&lm, &a.model);
    if prompt.len() + a.max_tokens > limit {
        anyhow::bail!(
            "the prompt ({} tokens) plus --max-tokens {} exceeds the context limit of {limit} tokens; shorten the prompt or lower --max-tokens",
            prompt.len(),
            a.max_tokens
        );
    }
    let mut kv = common::build_kv(&lm, &a.model, prompt.len() + a.max_tokens)?;
    let bar = new_bar(prompt.len() as u64, "prefill", false);
    let mut stream = tok.stream_decoder();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_err: Option<std::io::Error> = None;
    let opts = GenerateOptions {
        max_tokens: a.max_tokens,
        sampler: Sampler::new(common::sampling(&a.sampling)),
        is_eog: &|t| tok.is_end_of_generation(t),
    };
    let (_, stats) = generate(
        &lm.transformer,
        kv.as_mut(),
        &prompt,
        opts,
        &mut |n| {
            bar.set_position(n as u64);
            if n == prompt.len() {
                bar.finish_and_clear();
            }
        },
        &mut |t| {
            if let Some(s) = stream.push(t) {
                if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
                    write_err = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    if let Some(e) = write_err {
        // A closed pipe (e.g. `| head`) ends generation quietly; other errors are reported.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    if let Some(s) = stream.finish() {
        let _ = out.write_all(s.as_bytes());
    }
    let _ = writeln!(out);
    common::print_stats(&stats);
    Ok(())
}
