//! Chat templates: turning a conversation into the prompt text a model was trained on.
//!
//! Models ship a Jinja template (`tokenizer.chat_template`) written for Hugging Face
//! `transformers`, which renders it with Python Jinja2 configured with `trim_blocks` and
//! `lstrip_blocks`, a `tojson` filter that is `json.dumps` (", " / ": " separators, no HTML
//! escaping, non-ASCII kept), a `raise_exception` function and Python string methods. We
//! render with `minijinja` set up the same way (`minijinja-contrib`'s pycompat supplies the
//! `str.startswith(…)`-style methods), so the prompt string is byte-identical to what the
//! model saw in training. Models without a template get ChatML.

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, ErrorKind};
use serde::Serialize;

use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// ChatML, used when a model ships no template (and by Qwen and SmolLM anyway).
pub const CHATML_TEMPLATE: &str = "{%- for message in messages %}\
{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}\
{%- endfor %}\
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text of the turn.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role and content.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A compiled chat template.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

const NAME: &str = "chat";

fn template_err(e: minijinja::Error) -> Error {
    // `{:#}` includes the template line and the causes
    Error::Template(format!("{e:#}"))
}

impl ChatTemplate {
    /// Compiles `template`; `bos`/`eos` are the texts exposed as `bos_token`/`eos_token`.
    pub fn new(template: &str, bos: &str, eos: &str) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<Value, minijinja::Error> {
                Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_filter("tojson", tojson);
        env.add_template_owned(NAME, template.to_owned())
            .map_err(template_err)?;
        Ok(Self {
            env,
            bos: bos.to_owned(),
            eos: eos.to_owned(),
        })
    }

    /// The ChatML fallback.
    pub fn chatml(bos: &str, eos: &str) -> Result<Self> {
        Self::new(CHATML_TEMPLATE, bos, eos)
    }

    /// The template a tokenizer's model ships, or ChatML if it has none.
    pub fn for_tokenizer(tok: &Tokenizer) -> Result<Self> {
        let text = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_owned();
        let (bos, eos) = (text(tok.bos()), text(tok.eos()));
        Self::new(tok.chat_template().unwrap_or(CHATML_TEMPLATE), &bos, &eos)
    }

    /// Renders `messages`; with `add_generation_prompt` the prompt ends where the
    /// assistant's reply should begin.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        self.render_with_tools(messages, None, add_generation_prompt)
    }

    /// As [`render`](Self::render), with the `tools` variable set to a JSON array of tool
    /// (function) schemas as OpenAI-style APIs pass them. Object keys reach the template in
    /// `serde_json`'s order (sorted), which is what `tojson` then prints.
    pub fn render_with_tools(
        &self,
        messages: &[ChatMessage],
        tools: Option<&serde_json::Value>,
        add_generation_prompt: bool,
    ) -> Result<String> {
        let tmpl = self.env.get_template(NAME).map_err(template_err)?;
        tmpl.render(minijinja::context! {
            messages => Value::from_serialize(messages),
            tools => tools.map(Value::from_serialize),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos,
            eos_token => &self.eos,
        })
        .map_err(template_err)
    }
}

/// `tojson` as `transformers` defines it: Python's `json.dumps(v, ensure_ascii=False)`,
/// optionally with `indent`.
fn tojson(v: &Value, indent: Option<usize>) -> std::result::Result<Value, minijinja::Error> {
    let mut out = String::new();
    write_json(v, indent, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

fn write_json(
    v: &Value,
    indent: Option<usize>,
    depth: usize,
    out: &mut String,
) -> std::result::Result<(), minijinja::Error> {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            out.push_str(
                &serde_json::to_string(s).map_err(|e| {
                    minijinja::Error::new(ErrorKind::BadSerialization, e.to_string())
                })?,
            );
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, item) in v.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                write_json(&item, indent, depth + 1, out)?;
            }
            if v.len() != Some(0) {
                newline(out, depth);
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            let mut n = 0;
            for key in v.try_iter()? {
                if n > 0 {
                    out.push_str(item_sep);
                }
                n += 1;
                newline(out, depth + 1);
                let k = match key.as_str() {
                    Some(s) => s.to_owned(),
                    None => key.to_string(),
                };
                out.push_str(&serde_json::to_string(&k).map_err(|e| {
                    minijinja::Error::new(ErrorKind::BadSerialization, e.to_string())
                })?);
                out.push_str(": ");
                write_json(&v.get_item(&key)?, indent, depth + 1, out)?;
            }
            if n > 0 {
                newline(out, depth);
            }
            out.push('}');
        }
        // numbers and anything else: minijinja's own JSON rendering
        _ => out.push_str(
            &serde_json::to_string(v)
                .map_err(|e| minijinja::Error::new(ErrorKind::BadSerialization, e.to_string()))?,
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_fallback() {
        let t = ChatTemplate::chatml("", "").map_err(|e| e.to_string());
        let t = t.expect("compiles");
        let msgs = [
            ChatMessage::new("system", "S"),
            ChatMessage::new("user", "Hi"),
        ];
        let s = t.render(&msgs, true).expect("renders");
        assert_eq!(s, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    #[test]
    fn tojson_is_python_json_dumps() {
        let t =
            ChatTemplate::new("{{ x | tojson }}|{{ 'a<b' | tojson }}", "", "").expect("compiles");
        let tmpl = t.env.get_template(NAME).expect("exists");
        let x = serde_json::json!({"name": "f", "args": [1, 2.5, true, null, "é"]});
        let s = tmpl
            .render(minijinja::context! { x => Value::from_serialize(&x) })
            .expect("renders");
        assert_eq!(
            s,
            r#"{"args": [1, 2.5, true, null, "é"], "name": "f"}|"a<b""#
        );
    }

    #[test]
    fn raise_exception_is_an_error() {
        let t = ChatTemplate::new("{{ raise_exception('no') }}", "", "").expect("compiles");
        let e = t.render(&[], false).expect_err("raises");
        assert!(e.to_string().contains("no"), "{e}");
    }
}
