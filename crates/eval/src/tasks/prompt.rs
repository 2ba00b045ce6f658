//! Prompt assembly from separately tokenized segments, in the model's chat format.
//!
//! Layout (the same for every task, so that prompts sharing a haystack share a token prefix):
//! `[template head] instruction haystack… (needles between sentences) \n\n question
//! [template tail] answer-prefix`. The answer prefix after the assistant tag (RULER's practice)
//! makes small instruct models answer in a fixed form instead of chatting.

use vkv_model::{ChatMessage, ChatTemplate, EncodeOptions, Tokenizer};

use crate::Result;

const PLACEHOLDER: &str = "\u{1}VKV-CONTENT\u{1}";

/// Builds prompts for one tokenizer.
pub struct PromptBuilder<'t> {
    tok: &'t Tokenizer,
    head: (String, Vec<u32>),
    tail: (String, Vec<u32>),
}

/// A prompt under construction: text and tokens grow together.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    /// Text.
    pub text: String,
    /// Tokens.
    pub tokens: Vec<u32>,
}

impl Prompt {
    /// Append an already tokenized segment.
    pub fn push(&mut self, text: &str, tokens: &[u32]) {
        self.text.push_str(text);
        self.tokens.extend_from_slice(tokens);
    }
}

impl<'t> PromptBuilder<'t> {
    /// With the model's chat template when `chat` (and the model has one), else raw text.
    pub fn new(tok: &'t Tokenizer, chat: bool) -> Result<Self> {
        let special = EncodeOptions {
            add_special: true,
            parse_special: true,
        };
        let (head, tail) = if chat && tok.chat_template().is_some() {
            let r = ChatTemplate::for_tokenizer(tok)?
                .render(&[ChatMessage::new("user", PLACEHOLDER)], true)?;
            let (h, t) = r.split_once(PLACEHOLDER).unwrap_or((r.as_str(), ""));
            (h.to_string(), t.to_string())
        } else {
            (String::new(), String::new())
        };
        let head_tokens = if head.is_empty() && tok.add_bos() {
            tok.encode("", special)?
        } else {
            tok.encode(&head, special)?
        };
        let tail_tokens = tok.encode(
            &tail,
            EncodeOptions {
                add_special: false,
                parse_special: true,
            },
        )?;
        Ok(Self {
            tok,
            head: (head, head_tokens),
            tail: (tail, tail_tokens),
        })
    }

    /// Plain-text tokens of `s` (special-token texts stay text).
    pub fn encode(&self, s: &str) -> Result<Vec<u32>> {
        Ok(self.tok.encode(
            s,
            EncodeOptions {
                add_special: false,
                parse_special: false,
            },
        )?)
    }

    /// The template head followed by `instruction`.
    pub fn start(&self, instruction: &str) -> Result<Prompt> {
        let mut p = Prompt::default();
        p.push(&self.head.0, &self.head.1);
        let t = self.encode(instruction)?;
        p.push(instruction, &t);
        Ok(p)
    }

    /// Tokens that [`Self::finish`] will add for `question` and `answer_prefix`.
    pub fn tail_tokens(&self, question: &str, answer_prefix: &str) -> Result<usize> {
        Ok(self.encode(&format!("\n\n{question}"))?.len()
            + self.tail.1.len()
            + self.encode(answer_prefix)?.len())
    }

    /// Append the question, the template tail and the answer prefix.
    pub fn finish(&self, mut p: Prompt, question: &str, answer_prefix: &str) -> Result<Prompt> {
        let q = format!("\n\n{question}");
        let t = self.encode(&q)?;
        p.push(&q, &t);
        p.push(&self.tail.0, &self.tail.1);
        let a = self.encode(answer_prefix)?;
        p.push(answer_prefix, &a);
        Ok(p)
    }
}
