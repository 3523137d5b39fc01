//! Inbound rendering: canonical answers as Anthropic `message` objects (every stop
//! reason, usage with cache tokens), errors per status, and the `/v1/models` list.

#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::anthropic::{render_error, render_messages_response, render_model_list};
use morn_protocol::{
    ApiError, ChatResponse, Choice, ErrorKind, FinishReason, Message, ModelInfo, Part, Role,
    ToolCall, Usage,
};
use serde_json::{Value, json};

fn response(
    content: Vec<Part>,
    finish_reason: FinishReason,
    stop_sequence: Option<&str>,
) -> ChatResponse {
    ChatResponse {
        id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
        model: "claude-sonnet-4-5-20250929".into(),
        created: 1_700_000_000,
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content,
                name: None,
            },
            finish_reason,
            stop_sequence: stop_sequence.map(str::to_owned),
        }],
        usage: Usage {
            input_tokens: 1200,
            output_tokens: 80,
            cache_read_tokens: 1000,
            cache_write_tokens: 150,
            reasoning_tokens: 30,
        },
    }
}

fn render(resp: &ChatResponse) -> Value {
    serde_json::from_slice(&render_messages_response(resp)).unwrap()
}

#[test]
fn renders_text_thinking_and_tool_use_with_cache_usage() {
    let resp = response(
        vec![
            Part::Thinking {
                text: "Check the weather.".into(),
                signature: Some("EqQBsig".into()),
            },
            Part::Text {
                text: "Checking.".into(),
            },
            Part::Text {
                text: String::new(),
            },
            Part::ToolCall(ToolCall {
                id: "toolu_01A".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"Paris","unit":"celsius"}"#.into(),
            }),
            Part::ToolCall(ToolCall {
                id: "toolu_01B".into(),
                name: "get_time".into(),
                arguments: "{\"tz\":".into(),
            }),
        ],
        FinishReason::ToolCalls,
        None,
    );
    assert_eq!(
        render(&resp),
        json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [
                {"type": "thinking", "thinking": "Check the weather.", "signature": "EqQBsig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather",
                 "input": {"location": "Paris", "unit": "celsius"}},
                // Arguments that are not valid JSON cannot be an `input`: `{}`.
                {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            // Anthropic's input_tokens excludes cache reads and writes: 1200 - 1000 - 150.
            "usage": {
                "input_tokens": 50,
                "output_tokens": 80,
                "cache_creation_input_tokens": 150,
                "cache_read_input_tokens": 1000
            }
        })
    );
}

#[test]
fn maps_every_stop_reason() {
    let cases = [
        (FinishReason::Stop, None, "end_turn", Value::Null),
        (
            FinishReason::Stop,
            Some("###"),
            "stop_sequence",
            json!("###"),
        ),
        (FinishReason::Length, None, "max_tokens", Value::Null),
        (FinishReason::ToolCalls, None, "tool_use", Value::Null),
        (FinishReason::ContentFilter, None, "refusal", Value::Null),
    ];
    for (reason, seq, expected, expected_seq) in cases {
        let body = render(&response(
            vec![Part::Text { text: "x".into() }],
            reason,
            seq,
        ));
        assert_eq!(body["stop_reason"], expected, "{reason:?}");
        assert_eq!(body["stop_sequence"], expected_seq, "{reason:?}");
    }
}

#[test]
fn a_response_without_choices_is_still_a_message() {
    let mut resp = response(vec![], FinishReason::Stop, None);
    resp.choices.clear();
    let body = render(&resp);
    assert_eq!(body["content"], json!([]));
    assert_eq!(body["stop_reason"], "end_turn");
}

#[test]
fn renders_errors_with_anthropic_types_per_status() {
    let cases = [
        (ErrorKind::InvalidRequest, 400, "invalid_request_error"),
        (ErrorKind::Authentication, 401, "authentication_error"),
        (ErrorKind::PermissionDenied, 403, "permission_error"),
        (ErrorKind::NotFound, 404, "not_found_error"),
        (ErrorKind::RequestTimeout, 408, "timeout_error"),
        (ErrorKind::PayloadTooLarge, 413, "request_too_large"),
        (ErrorKind::Unprocessable, 422, "invalid_request_error"),
        (ErrorKind::RateLimited, 429, "rate_limit_error"),
        (ErrorKind::Internal, 500, "api_error"),
        (ErrorKind::BadGateway, 502, "api_error"),
        (ErrorKind::Unavailable, 503, "overloaded_error"),
        (ErrorKind::GatewayTimeout, 504, "timeout_error"),
    ];
    for (kind, status, ty) in cases {
        let err = ApiError::new(kind, "Something \"quoted\" happened.");
        assert_eq!(err.status(), status);
        let body: Value = serde_json::from_slice(&render_error(&err)).unwrap();
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": ty, "message": "Something \"quoted\" happened."}}),
            "{kind:?}"
        );
    }
}

#[test]
fn renders_the_model_list() {
    let models = vec![
        ModelInfo {
            id: "claude-sonnet-4-5".into(),
            created: 1_759_104_000,
            owned_by: "anthropic".into(),
        },
        ModelInfo {
            id: "gpt-4o".into(),
            created: 1_715_367_049,
            owned_by: "openai".into(),
        },
    ];
    let body: Value = serde_json::from_slice(&render_model_list(&models)).unwrap();
    assert_eq!(
        body,
        json!({
            "data": [
                {"type": "model", "id": "claude-sonnet-4-5", "display_name": "claude-sonnet-4-5",
                 "created_at": "2025-09-29T00:00:00Z"},
                {"type": "model", "id": "gpt-4o", "display_name": "gpt-4o",
                 "created_at": "2024-05-10T18:50:49Z"}
            ],
            "has_more": false,
            "first_id": "claude-sonnet-4-5",
            "last_id": "gpt-4o"
        })
    );
    let empty: Value = serde_json::from_slice(&render_model_list(&[])).unwrap();
    assert_eq!(
        empty,
        json!({"data": [], "has_more": false, "first_id": null, "last_id": null})
    );
}
