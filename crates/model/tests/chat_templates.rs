//! The chat templates of our two models (copied verbatim from their GGUFs' `tokenizer.chat_template`
//! into tests/data/, so this runs without the model files) render fixed conversations to the
//! exact strings HF transformers produces: the expected strings were derived by reading the
//! templates and cross-checked with Python Jinja2 set up as transformers sets it up
//! (trim_blocks, lstrip_blocks, `tojson` = `json.dumps(ensure_ascii=False)`); the plain
//! conversations also equal llama.cpp's `common_chat_templates_apply` output (checked once
//! with a throwaway harness against libllama-common). llama.cpp passes tool schemas with
//! their keys in the caller's order; ours arrive sorted (serde_json maps). Covers the
//! default system prompts, multi-turn, `add_generation_prompt`, and Qwen's `tools` branch
//! (which exercises `tojson`). `tokenizer_models.rs` checks the GGUFs still carry these texts.

use std::path::PathBuf;

use vkv_model::{ChatMessage, ChatTemplate};

fn template(file: &str) -> ChatTemplate {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&p).expect("read template fixture");
    ChatTemplate::new(&text, "", "").expect("template compiles")
}

const GEN: &str = "<|im_start|>assistant\n";
const SYS_USER_WANT: &str =
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n";
const MULTI_WANT: &str =
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
<|im_start|>assistant\nHello! 👋<|im_end|>\n<|im_start|>user\nBye\n<|im_end|>\n";

fn sys_user() -> [ChatMessage; 2] {
    [
        ChatMessage::new("system", "You are a helpful assistant."),
        ChatMessage::new("user", "What is 2+2?"),
    ]
}

fn multi() -> [ChatMessage; 4] {
    [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", "Hi"),
        ChatMessage::new("assistant", "Hello! 👋"),
        ChatMessage::new("user", "Bye\n"),
    ]
}

fn check(file: &str, default_system: &str) {
    let t = template(file);
    assert_eq!(t.render(&sys_user(), false).expect("render"), SYS_USER_WANT);
    assert_eq!(
        t.render(&sys_user(), true).expect("render"),
        format!("{SYS_USER_WANT}{GEN}")
    );
    assert_eq!(
        t.render(&multi(), true).expect("render"),
        format!("{MULTI_WANT}{GEN}")
    );
    assert_eq!(t.render(&multi(), false).expect("render"), MULTI_WANT);
    let want = format!("<|im_start|>system\n{default_system}<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n{GEN}");
    assert_eq!(
        t.render(&[ChatMessage::new("user", "Hi there")], true)
            .expect("render"),
        want
    );
}

#[test]
fn smollm2_template() {
    check(
        "chat_template_smollm2.jinja",
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    );
}

#[test]
fn qwen25_template() {
    check(
        "chat_template_qwen2.5.jinja",
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
    );
}

#[test]
fn qwen25_template_with_tools() {
    let t = template("chat_template_qwen2.5.jinja");
    let tools = serde_json::json!([{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather in a city, e.g. \"Paris\" or 東京",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }
    }]);
    let got = t
        .render_with_tools(
            &[ChatMessage::new("user", "Weather in Paris?")],
            Some(&tools),
            true,
        )
        .expect("render");
    let want = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n\
You may call one or more functions to assist with the user query.\n\n\
You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n\
{\"function\": {\"description\": \"Get the weather in a city, e.g. \\\"Paris\\\" or 東京\", \"name\": \"get_weather\", \
\"parameters\": {\"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"], \"type\": \"object\"}}, \
\"type\": \"function\"}\n</tools>\n\n\
For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n\
<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n\
<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n";
    assert_eq!(got, want);
}

#[test]
fn template_errors_are_errors() {
    assert!(ChatTemplate::new("{% for %}", "", "").is_err());
    let t = ChatTemplate::new(
        "{{ raise_exception('Conversation roles must alternate') }}",
        "",
        "",
    )
    .expect("compiles");
    let e = t.render(&[], true).expect_err("raises").to_string();
    assert!(e.contains("Conversation roles must alternate"), "{e}");
}
