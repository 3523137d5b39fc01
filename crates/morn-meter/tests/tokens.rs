//! Token counts as OpenAI reports them: the encoders match tiktoken, the chat
//! accounting matches `prompt_tokens`, and the fast estimate stays on the safe side.

use morn_meter::tokens::{
    Encoding, count_inputs, count_prompt, count_text, estimate_prompt_fast, warm_up,
};
use morn_protocol::{ChatRequest, Message, Part, Role, Tool, ToolCall};

fn request(model: &str, messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages,
        ..ChatRequest::default()
    }
}

#[test]
fn encoders_match_tiktoken() {
    // Reference counts from tiktoken's `encode_ordinary` for both vocabularies.
    for (text, o200k, cl100k) in [
        ("hello world", 2, 2),
        ("Say this is a test!", 6, 6),
        ("antidisestablishmentarianism", 6, 6),
        ("日本語のテキストです。", 8, 10),
        ("fn main() {\n    println!(\"{}\", 1 + 2);\n}\n", 14, 14),
        ("  leading spaces and\ttabs\n\n\nnewlines  ", 10, 10),
        ("Ünïcödé — “quotes” 🚀🚀", 13, 17),
        ("12345678901234567890", 7, 7),
        ("", 0, 0),
    ] {
        assert_eq!(count_text("gpt-4o", text), o200k, "o200k {text:?}");
        assert_eq!(count_text("gpt-4", text), cl100k, "cl100k {text:?}");
    }
}

#[test]
fn non_openai_models_use_o200k() {
    let text = "Ünïcödé — “quotes” 🚀🚀";
    assert_eq!(
        count_text("claude-sonnet-4-5", text),
        Encoding::O200kBase.count(text)
    );
    assert_eq!(count_text("gemini-2.5-flash", text), 13);
}

#[test]
fn chat_prompt_matches_openai_prompt_tokens() {
    warm_up();
    // OpenAI's documented example: "Say this is a test!" as one user message is 13
    // prompt tokens (3 per message + 1 for the role + 6 text + 3 reply priming).
    let req = request(
        "gpt-3.5-turbo",
        vec![Message::text(Role::User, "Say this is a test!")],
    );
    assert_eq!(count_prompt(&req), 13);

    let mut named = Message::text(Role::User, "hello world");
    named.name = Some("alice".into());
    let req = request(
        "gpt-4o",
        vec![Message::text(Role::System, "hello world"), named],
    );
    // (3 + 1 + 2) system + (3 + 1 + 2 + 1 + count("alice")) user + 3.
    let alice = count_text("gpt-4o", "alice");
    assert_eq!(count_prompt(&req), 6 + 7 + alice + 3);
}

#[test]
fn tool_calls_tools_and_images_are_counted() {
    let base = request("gpt-4o", vec![Message::text(Role::User, "weather?")]);
    let plain = count_prompt(&base);

    let mut with_call = base.clone();
    with_call.messages.push(Message {
        role: Role::Assistant,
        content: vec![Part::ToolCall(ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        })],
        name: None,
    });
    with_call.messages.push(Message {
        role: Role::Tool,
        content: vec![Part::ToolResult {
            tool_call_id: "call_1".into(),
            name: None,
            content: vec![Part::Text {
                text: "sunny, 21 °C".into(),
            }],
            is_error: false,
        }],
        name: None,
    });
    let call_text =
        count_text("gpt-4o", "get_weather") + count_text("gpt-4o", r#"{"city":"Paris"}"#);
    let result_text = count_text("gpt-4o", "sunny, 21 °C");
    // Two more messages: overhead + role each, plus their text.
    let assistant_role = count_text("gpt-4o", "assistant");
    let tool_role = count_text("gpt-4o", "tool");
    assert_eq!(
        count_prompt(&with_call),
        plain + 3 + assistant_role + call_text + 3 + tool_role + result_text
    );

    let mut with_tools = base.clone();
    with_tools.tools.push(Tool {
        name: "get_weather".into(),
        description: Some("Current weather for a city".into()),
        parameters: serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        strict: None,
    });
    let tools = count_prompt(&with_tools) - plain;
    assert!((20..80).contains(&tools), "one small tool costs {tools}");

    let mut with_image = base.clone();
    with_image.messages[0].content.push(Part::Image {
        url: format!("data:image/png;base64,{}", "A".repeat(100_000)),
        detail: Some("low".into()),
    });
    // The data URI's bytes are not text: a low-detail image is a flat 85.
    assert_eq!(count_prompt(&with_image), plain + 85);
    assert_eq!(
        estimate_prompt_fast(&with_image),
        estimate_prompt_fast(&base) + 85
    );
}

#[test]
fn embeddings_inputs_are_summed() {
    let inputs = vec![
        "hello world".to_owned(),
        "Say this is a test!".to_owned(),
        String::new(),
    ];
    assert_eq!(count_inputs("text-embedding-3-small", &inputs), 2 + 6);
    assert_eq!(count_inputs("text-embedding-3-small", &[]), 0);
}

#[test]
fn fast_estimate_is_above_the_count_and_within_twice_it() {
    let samples = [
        (
            "prose",
            "The quick brown fox jumps over the lazy dog, and then it wonders why anyone \
             would write such a sentence. Metering needs counts that are close enough.\n\n"
                .repeat(40),
        ),
        (
            "code",
            "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n    \
             println!(\"{x:?}\");\n}\n"
                .repeat(40),
        ),
        (
            "json",
            r#"{"id": 12345, "name": "widget", "tags": ["a", "b"], "price_micros": 2500000}"#
                .repeat(40),
        ),
        ("cjk", "日本語のテキストです。中文文本也在这里。".repeat(40)),
        (
            "accents",
            "Ünïcödé façade naïve café — “quotes” déjà vu. ".repeat(40),
        ),
        (
            "identifiers",
            "antidisestablishmentarianism camelCaseIdentifier snake_case_name \
             HTTPServerError 0xDEADBEEF 3.14159 "
                .repeat(40),
        ),
    ];
    for (what, text) in samples {
        let req = request(
            "gpt-4o",
            vec![
                Message::text(Role::System, "You are terse."),
                Message::text(Role::User, text),
            ],
        );
        let (exact, fast) = (count_prompt(&req), estimate_prompt_fast(&req));
        println!("{what}: exact {exact} fast {fast}");
        assert!(fast >= exact, "{what}: fast {fast} < exact {exact}");
        assert!(
            fast <= exact * 2,
            "{what}: fast {fast} far above exact {exact}"
        );
    }
}
