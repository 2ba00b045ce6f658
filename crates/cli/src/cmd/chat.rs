//! `vkv chat`: an interactive conversation with the model's chat template.
//!
//! Each turn renders the whole conversation with the template, and the KV cache keeps the
//! longest prefix it shares with the previous turn's tokens, so only new text is prefilled.

use std::io::{BufRead, Write};
use std::ops::ControlFlow;
use std::path::Path;

use vkv_engine::{generate, GenerateOptions, Sampler};
use vkv_model::{ChatMessage, ChatTemplate, EncodeOptions};

use super::common;
use crate::args::ChatArgs;

pub fn run(home: &Path, a: ChatArgs) -> anyhow::Result<()> {
    let _: vkv_engine::KvMode = a.model.kv.parse()?;
    let lm = common::load_model(home, &a.model)?;
    let tok = &lm.tokenizer;
    let template = ChatTemplate::for_tokenizer(tok)?;
    let limit = common::context_limit(&lm, &a.model);
    let mut kv = common::build_kv(&lm, &a.model, limit)?;
    let mut messages: Vec<ChatMessage> = a
        .system
        .iter()
        .map(|s| ChatMessage::new("system", s.clone()))
        .collect();
    let mut cached: Vec<u32> = Vec::new(); // the tokens whose K/V the cache holds
    let mut params = common::sampling(&a.sampling);
    eprintln!("chat with {} ({} tokens of context). /reset clears the conversation, /exit or Ctrl-D quits.", lm.name, limit);
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        eprint!("> ");
        let _ = std::io::stderr().flush();
        let Some(line) = lines.next() else { break };
        let line = line?;
        match line.trim() {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                messages.retain(|m| m.role == "system");
                kv.truncate(0)?;
                cached.clear();
                continue;
            }
            _ => {}
        }
        messages.push(ChatMessage::new("user", line));
        let text = template.render(&messages, true)?;
        let tokens = tok.encode(
            &text,
            EncodeOptions {
                add_special: true,
                parse_special: true,
            },
        )?;
        if tokens.len() + a.max_tokens > limit {
            eprintln!("error: the conversation ({} tokens) plus --max-tokens {} exceeds the context limit {limit}; use /reset", tokens.len(), a.max_tokens);
            messages.pop();
            continue;
        }
        let keep = cached
            .iter()
            .zip(&tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(tokens.len() - 1);
        kv.truncate(keep)?;
        cached.truncate(keep);
        let mut stream = tok.stream_decoder();
        let mut answer = String::new();
        params.seed = params.seed.wrapping_add(1);
        let opts = GenerateOptions {
            max_tokens: a.max_tokens,
            sampler: Sampler::new(params.clone()),
            is_eog: &|t| tok.is_end_of_generation(t),
        };
        let (generated, stats) = generate(
            &lm.transformer,
            kv.as_mut(),
            &tokens[keep..],
            opts,
            &mut |_| {},
            &mut |t| {
                if let Some(s) = stream.push(t) {
                    print!("{s}");
                    let _ = std::io::stdout().flush();
                    answer.push_str(&s);
                }
                ControlFlow::Continue(())
            },
        )?;
        if let Some(s) = stream.finish() {
            print!("{s}");
            answer.push_str(&s);
        }
        println!();
        // The cache holds the prompt and the generated tokens that were fed back (all but the
        // last one when generation stopped at --max-tokens).
        cached.extend_from_slice(&tokens[keep..]);
        cached.extend_from_slice(&generated);
        cached.truncate(kv.n_tokens());
        messages.push(ChatMessage::new("assistant", answer));
        common::print_stats(&stats);
    }
    Ok(())
}
