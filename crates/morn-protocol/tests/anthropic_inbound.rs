//! Inbound Anthropic Messages requests: every field of a realistic request, the split of
//! mixed tool-result turns, system blocks, extras, and every bad-input case with its
//! `param` and stable code.

#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::anthropic::parse_messages_request;
use morn_protocol::{
    ChatRequest, ErrorKind, Message, Part, Protocol, ResponseFormat, Role, ToolCall, ToolChoice,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap()
}

fn parse(body: Value) -> ChatRequest {
    parse_messages_request(body.to_string().as_bytes()).unwrap()
}

fn text(t: &str) -> Part {
    Part::Text { text: t.to_owned() }
}

#[test]
fn parses_every_field_of_a_full_request() {
    let req = parse_messages_request(&fixture("request_full.json")).unwrap();

    assert_eq!(req.model, "claude-sonnet-4-5");
    assert_eq!(req.max_tokens, Some(2048));
    assert_eq!(req.stop, vec!["\n\nHuman:".to_owned()]);
    assert_eq!(req.temperature, Some(0.7));
    assert_eq!(req.top_p, Some(0.9));
    assert_eq!(req.top_k, Some(40));
    assert_eq!(req.tool_choice, Some(ToolChoice::Required));
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert_eq!(req.user.as_deref(), Some("user-4f2a"));
    assert_eq!(req.thinking_budget, Some(1024));
    assert!(req.stream);
    assert!(req.include_usage, "Anthropic streams always carry usage");
    assert_eq!(req.n, None);

    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "get_weather");
    assert_eq!(
        req.tools[0].description.as_deref(),
        Some("Get the current weather in a given location")
    );
    assert_eq!(req.tools[0].parameters["required"], json!(["location"]));

    // Unknown top-level fields are kept for Anthropic upstreams; `container: null` is
    // "not given", like every null.
    assert_eq!(req.extra_protocol, Some(Protocol::Anthropic));
    assert_eq!(
        Value::Object(req.extra.clone()),
        json!({
            "service_tier": "auto",
            "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}
        })
    );

    let expected = vec![
        Message::text(
            Role::System,
            "You are a weather assistant.\n\nAnswer in one sentence.",
        ),
        Message {
            role: Role::User,
            content: vec![
                text("What's the weather in Paris and Tokyo? Here is my sky:"),
                Part::Image {
                    url: "data:image/png;base64,iVBORw0KGgo=".into(),
                    detail: None,
                },
                Part::Image {
                    url: "https://example.com/sky.jpg".into(),
                    detail: None,
                },
            ],
            name: None,
        },
        Message {
            role: Role::Assistant,
            // redacted_thinking is dropped; the rest keeps its order.
            content: vec![
                Part::Thinking {
                    text: "Two cities: call the tool twice.".into(),
                    signature: Some("EqQBCgIYAhIMsig".into()),
                },
                text("Let me check both."),
                Part::ToolCall(ToolCall {
                    id: "toolu_01A".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"location": "Paris", "unit": "celsius"}"#.into(),
                }),
                Part::ToolCall(ToolCall {
                    id: "toolu_01B".into(),
                    name: "get_weather".into(),
                    arguments: "{}".into(),
                }),
            ],
            name: None,
        },
        Message {
            role: Role::Tool,
            content: vec![
                Part::ToolResult {
                    tool_call_id: "toolu_01A".into(),
                    name: None,
                    content: vec![text("18°C, cloudy")],
                    is_error: false,
                },
                Part::ToolResult {
                    tool_call_id: "toolu_01B".into(),
                    name: None,
                    content: vec![text("upstream timeout")],
                    is_error: true,
                },
            ],
            name: None,
        },
        Message::text(Role::User, "Tokyo failed, try again?"),
    ];
    assert_eq!(req.messages, expected);
}

#[test]
fn minimal_request_has_defaults_and_no_extra() {
    let req = parse(json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}]
    }));
    assert_eq!(req.messages, vec![Message::text(Role::User, "Hi")]);
    assert!(!req.stream);
    assert!(!req.include_usage);
    assert!(req.extra.is_empty());
    assert_eq!(req.extra_protocol, None);
    assert_eq!(req.tool_choice, None);
    assert_eq!(req.parallel_tool_calls, None);
}

#[test]
fn splits_interleaved_tool_results_and_text_in_order() {
    let req = parse(json!({
        "model": "m", "max_tokens": 10,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "before"},
            {"type": "tool_result", "tool_use_id": "a"},
            {"type": "text", "text": "between"},
            {"type": "tool_result", "tool_use_id": "b", "content": [
                {"type": "text", "text": "chart:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}}
            ]},
            {"type": "text", "text": "after"}
        ]}]
    }));
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        vec![Role::User, Role::Tool, Role::User, Role::Tool, Role::User]
    );
    assert_eq!(
        req.messages[1].content,
        vec![Part::ToolResult {
            tool_call_id: "a".into(),
            name: None,
            content: vec![],
            is_error: false
        }]
    );
    assert_eq!(
        req.messages[3].content,
        vec![Part::ToolResult {
            tool_call_id: "b".into(),
            name: None,
            content: vec![
                text("chart:"),
                Part::Image {
                    url: "data:image/jpeg;base64,/9j/".into(),
                    detail: None
                }
            ],
            is_error: false,
        }]
    );
    assert_eq!(req.messages[4].joined_text(), "after");
}

#[test]
fn a_turn_of_only_tool_results_is_one_tool_message() {
    let req = parse(json!({
        "model": "m", "max_tokens": 10,
        "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "a", "content": "1"},
            {"type": "tool_result", "tool_use_id": "b", "content": "2"}
        ]}]
    }));
    assert_eq!(req.messages.len(), 1);
    assert_eq!(req.messages[0].role, Role::Tool);
    assert_eq!(req.messages[0].content.len(), 2);
}

#[test]
fn system_as_string_and_empty_system() {
    let req = parse(json!({
        "model": "m", "max_tokens": 10, "system": "Be terse.",
        "messages": [{"role": "user", "content": "Hi"}]
    }));
    assert_eq!(req.messages[0], Message::text(Role::System, "Be terse."));
    let req = parse(json!({
        "model": "m", "max_tokens": 10, "system": "",
        "messages": [{"role": "user", "content": "Hi"}]
    }));
    assert_eq!(req.messages[0].role, Role::User);
}

#[test]
fn tool_choice_variants() {
    let choice = |tc: Value| {
        let req = parse(json!({
            "model": "m", "max_tokens": 10, "tool_choice": tc,
            "messages": [{"role": "user", "content": "Hi"}]
        }));
        (req.tool_choice, req.parallel_tool_calls)
    };
    assert_eq!(
        choice(json!({"type": "auto"})),
        (Some(ToolChoice::Auto), None)
    );
    assert_eq!(
        choice(json!({"type": "auto", "disable_parallel_tool_use": false})),
        (Some(ToolChoice::Auto), None)
    );
    assert_eq!(
        choice(json!({"type": "none"})),
        (Some(ToolChoice::None), None)
    );
    assert_eq!(
        choice(json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})),
        (
            Some(ToolChoice::Tool {
                name: "get_weather".into()
            }),
            Some(false)
        )
    );
}

#[test]
fn thinking_modes() {
    let req = parse(json!({
        "model": "m", "max_tokens": 10, "thinking": {"type": "disabled"},
        "messages": [{"role": "user", "content": "Hi"}]
    }));
    assert_eq!(req.thinking_budget, None);
    assert!(req.extra.is_empty());
    // A thinking mode Morn does not model goes through to Anthropic untouched.
    let req = parse(json!({
        "model": "m", "max_tokens": 10, "thinking": {"type": "adaptive"},
        "messages": [{"role": "user", "content": "Hi"}]
    }));
    assert_eq!(req.thinking_budget, None);
    assert_eq!(req.extra["thinking"], json!({"type": "adaptive"}));
}

#[test]
fn structured_output_becomes_response_format() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false});
    let req = parse(json!({
        "model": "m", "max_tokens": 10,
        "output_config": {"format": {"type": "json_schema", "schema": schema}, "effort": "low"},
        "messages": [{"role": "user", "content": "Hi"}]
    }));
    assert_eq!(
        req.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: schema.clone(),
            strict: Some(true)
        })
    );
    assert_eq!(req.extra["output_config"], json!({"effort": "low"}));
    // The deprecated beta spelling.
    let req = parse(json!({
        "model": "m", "max_tokens": 10,
        "output_format": {"type": "json_schema", "schema": schema},
        "messages": [{"role": "user", "content": "Hi"}]
    }));
    assert!(matches!(
        req.response_format,
        Some(ResponseFormat::JsonSchema { .. })
    ));
    assert!(req.extra.is_empty());
}

/// Each bad body, the `param` it must name, and the code.
#[test]
fn bad_input_names_the_field_with_a_stable_code() {
    let user = json!([{"role": "user", "content": "Hi"}]);
    let cases: Vec<(Value, Option<&str>, &str)> = vec![
        (
            json!({"max_tokens": 10, "messages": user}),
            Some("model"),
            "missing_field",
        ),
        (
            json!({"model": "m", "messages": user}),
            Some("max_tokens"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": null, "messages": user}),
            Some("max_tokens"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10}),
            Some("messages"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": "10", "messages": user}),
            Some("max_tokens"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": -1, "messages": user}),
            Some("max_tokens"),
            "invalid_value",
        ),
        (
            json!({"model": 5, "max_tokens": 10, "messages": user}),
            Some("model"),
            "invalid_type",
        ),
        (
            json!({"model": "", "max_tokens": 10, "messages": user}),
            Some("model"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": []}),
            Some("messages"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": {}}),
            Some("messages"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]}),
            Some("messages.0.role"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"content": "x"}]}),
            Some("messages.0.role"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user"}]}),
            Some("messages.0.content"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": 3}]}),
            Some("messages.0.content"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}),
            Some("messages.0.content.0.type"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"text": "no type"}]}]}),
            Some("messages.0.content.0.type"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "text"}]}]}),
            Some("messages.0.content.0.text"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]}),
            Some("messages.0.content.0"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png"}}]}]}),
            Some("messages.0.content.0.source.data"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "file", "file_id": "file_01"}}]}]}),
            Some("messages.0.content.0.source.type"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}),
            Some("messages.0.content.0.tool_use_id"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "assistant", "content": [
                {"type": "tool_result", "tool_use_id": "a"}]}]}),
            Some("messages.0.content.0"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [
                {"type": "tool_use", "id": "a", "name": "f", "input": {}}]}]}),
            Some("messages.0.content.0"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "assistant", "content": [
                {"type": "tool_use", "id": "a", "name": "f", "input": [1]}]}]}),
            Some("messages.0.content.0.input"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "system": 1, "messages": user}),
            Some("system"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "system": [{"type": "image"}], "messages": user}),
            Some("system.0.type"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "stop_sequences": "END", "messages": user}),
            Some("stop_sequences"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "temperature": "hot", "messages": user}),
            Some("temperature"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "stream": "yes", "messages": user}),
            Some("stream"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user,
                   "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]}),
            Some("tools.0.type"),
            "unsupported_tool",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user, "tools": [{"name": "f"}]}),
            Some("tools.0.input_schema"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user,
                   "tools": [{"description": "d", "input_schema": {"type": "object"}}]}),
            Some("tools.0.name"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user, "tools": [{"name": "f", "input_schema": "x"}]}),
            Some("tools.0.input_schema"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user, "tool_choice": {"type": "required"}}),
            Some("tool_choice.type"),
            "invalid_value",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user, "tool_choice": {"type": "tool"}}),
            Some("tool_choice.name"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user, "thinking": {"type": "enabled"}}),
            Some("thinking.budget_tokens"),
            "missing_field",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user, "metadata": {"user_id": 7}}),
            Some("metadata"),
            "invalid_type",
        ),
        (
            json!({"model": "m", "max_tokens": 10, "messages": user,
                   "output_config": {"format": {"type": "regex", "schema": {}}}}),
            Some("output_config.format.type"),
            "invalid_value",
        ),
    ];
    for (body, param, code) in cases {
        let err = parse_messages_request(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{body}");
        assert_eq!(err.status(), 400, "{body}");
        assert_eq!(err.param.as_deref(), param, "{body}: {}", err.message);
        assert_eq!(err.code, code, "{body}: {}", err.message);
        let param = param.unwrap();
        assert!(
            err.message.contains(param),
            "message should name {param}: {}",
            err.message
        );
        assert!(
            !err.message.contains("line 1 column"),
            "no parser positions: {}",
            err.message
        );
    }
}

#[test]
fn malformed_json_and_non_objects_are_invalid_json() {
    for body in [
        &b"{\"model\": "[..],
        b"[1, 2]",
        b"\"text\"",
        b"",
        b"not json",
    ] {
        let err = parse_messages_request(body).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.code,
            "invalid_json",
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(err.param, None);
    }
}

#[test]
fn missing_max_tokens_message_is_clear() {
    let err = parse_messages_request(
        br#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.message, "max_tokens: field required");
}
