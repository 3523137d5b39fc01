//! Inbound streaming: canonical events → Anthropic SSE, checked event by event (text,
//! thinking, parallel tool calls, errors, a stream without `Start`), plus a round trip
//! through the Anthropic stream decoder.

#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::anthropic::{MessagesStreamDecoder, MessagesStreamEncoder};
use morn_protocol::sse::parse_all;
use morn_protocol::{
    ApiError, ErrorKind, FinishReason, StreamDecoder, StreamEncoder, StreamEvent, Usage,
};
use serde_json::{Value, json};

fn encode(events: &[StreamEvent]) -> Vec<u8> {
    let mut enc = MessagesStreamEncoder::new();
    let mut out = Vec::new();
    for e in events {
        enc.encode(e, &mut out);
    }
    enc.finish(&mut out);
    out
}

/// `(event name, data)` pairs; also checks that every event's name matches its `type`.
fn events(out: &[u8]) -> Vec<(String, Value)> {
    parse_all(out)
        .into_iter()
        .map(|e| {
            let data: Value = serde_json::from_str(&e.data).unwrap();
            let name = e.event.unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn names(out: &[u8]) -> Vec<String> {
    events(out).into_iter().map(|(n, _)| n).collect()
}

fn start() -> StreamEvent {
    StreamEvent::Start {
        id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
        model: "claude-sonnet-4-5-20250929".into(),
        usage: Some(Usage {
            input_tokens: 1200,
            cache_read_tokens: 1000,
            cache_write_tokens: 150,
            ..Usage::default()
        }),
    }
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        choice: 0,
        text: t.into(),
    }
}

fn final_usage() -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: 1200,
        output_tokens: 42,
        cache_read_tokens: 1000,
        cache_write_tokens: 150,
        reasoning_tokens: 0,
    })
}

#[test]
fn text_stream_is_the_exact_anthropic_sequence() {
    let out = encode(&[
        start(),
        text("Hel"),
        text("lo \"wörld\"\n"),
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::Stop,
            stop_sequence: None,
        },
        final_usage(),
    ]);
    let expected = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null,
            "stop_sequence": null,
            "usage": {"input_tokens": 50, "output_tokens": 0,
                      "cache_creation_input_tokens": 150, "cache_read_input_tokens": 1000}}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "Hel"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "lo \"wörld\"\n"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"input_tokens": 50, "output_tokens": 42,
                      "cache_creation_input_tokens": 150, "cache_read_input_tokens": 1000}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let got = events(&out);
    assert_eq!(got.len(), expected.len());
    for ((name, data), (want_name, want)) in got.iter().zip(&expected) {
        assert_eq!(name, want_name);
        assert_eq!(data, want, "{name}");
    }
    // The wire text itself, as a client reads it.
    insta::assert_snapshot!(
        "anthropic_stream_encode_text",
        String::from_utf8(out).unwrap()
    );
}

#[test]
fn thinking_then_text_closes_the_thinking_block_first() {
    let out = encode(&[
        start(),
        StreamEvent::ThinkingDelta {
            choice: 0,
            text: "Let me think".into(),
        },
        StreamEvent::ThinkingDelta {
            choice: 0,
            text: " about it.".into(),
        },
        StreamEvent::ThinkingSignature {
            choice: 0,
            signature: "EqQBCgIYAhIM".into(),
        },
        text("Answer."),
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::Stop,
            stop_sequence: Some("###".into()),
        },
        final_usage(),
    ]);
    let got = events(&out);
    let summary: Vec<(String, Value, Value)> = got
        .iter()
        .map(|(n, d)| (n.clone(), d["index"].clone(), d["delta"]["type"].clone()))
        .collect();
    let row = |n: &str, i: Value, t: Value| (n.to_owned(), i, t);
    assert_eq!(
        summary,
        vec![
            row("message_start", Value::Null, Value::Null),
            row("ping", Value::Null, Value::Null),
            row("content_block_start", json!(0), Value::Null),
            row("content_block_delta", json!(0), json!("thinking_delta")),
            row("content_block_delta", json!(0), json!("thinking_delta")),
            row("content_block_delta", json!(0), json!("signature_delta")),
            row("content_block_stop", json!(0), Value::Null),
            row("content_block_start", json!(1), Value::Null),
            row("content_block_delta", json!(1), json!("text_delta")),
            row("content_block_stop", json!(1), Value::Null),
            row("message_delta", Value::Null, Value::Null),
            row("message_stop", Value::Null, Value::Null),
        ]
    );
    assert_eq!(
        got[2].1["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert_eq!(
        got[3].1["delta"],
        json!({"type": "thinking_delta", "thinking": "Let me think"})
    );
    assert_eq!(
        got[5].1["delta"],
        json!({"type": "signature_delta", "signature": "EqQBCgIYAhIM"})
    );
    assert_eq!(
        got[10].1["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "###"})
    );
}

fn tool_events() -> Vec<StreamEvent> {
    vec![
        start(),
        text("Checking both."),
        StreamEvent::ToolCallStart {
            choice: 0,
            index: 0,
            id: "toolu_01A".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallDelta {
            choice: 0,
            index: 0,
            arguments: "{\"location\":".into(),
        },
        StreamEvent::ToolCallDelta {
            choice: 0,
            index: 0,
            arguments: " \"Paris\"}".into(),
        },
        // Another choice: Anthropic has none, so it is not rendered.
        StreamEvent::TextDelta {
            choice: 1,
            text: "ignored".into(),
        },
        StreamEvent::ToolCallStart {
            choice: 0,
            index: 1,
            id: "toolu_01B".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallDelta {
            choice: 0,
            index: 1,
            arguments: "{\"location\": \"Tokyo\"}".into(),
        },
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::ToolCalls,
            stop_sequence: None,
        },
        final_usage(),
    ]
}

#[test]
fn parallel_tool_calls_get_one_block_each() {
    let out = encode(&tool_events());
    assert_eq!(
        names(&out),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let got = events(&out);
    assert_eq!(
        got[5].1,
        json!({"type": "content_block_start", "index": 1,
               "content_block": {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {}}})
    );
    assert_eq!(
        got[6].1,
        json!({"type": "content_block_delta", "index": 1,
               "delta": {"type": "input_json_delta", "partial_json": "{\"location\":"}})
    );
    assert_eq!(got[9].1["index"], 2);
    assert_eq!(got[9].1["content_block"]["id"], "toolu_01B");
    assert_eq!(
        got[10].1["delta"]["partial_json"],
        "{\"location\": \"Tokyo\"}"
    );
    assert_eq!(got[12].1["delta"]["stop_reason"], "tool_use");
    assert!(!String::from_utf8(out).unwrap().contains("ignored"));
}

#[test]
fn encoder_output_decodes_back_to_the_same_events() {
    let input = tool_events();
    let out = encode(&input);
    let mut dec = MessagesStreamDecoder::new();
    let mut decoded = Vec::new();
    for event in parse_all(&out) {
        dec.decode(&event, &mut decoded).unwrap();
    }
    assert!(dec.is_complete());
    let expected: Vec<StreamEvent> = input
        .into_iter()
        .filter(|e| !matches!(e, StreamEvent::TextDelta { choice: 1, .. }))
        .map(|e| match e {
            // The start carries input usage only.
            StreamEvent::Start { id, model, usage } => StreamEvent::Start {
                id,
                model,
                usage: usage.map(|u| Usage {
                    output_tokens: 0,
                    ..u
                }),
            },
            other => other,
        })
        .collect();
    assert_eq!(decoded, expected);
}

#[test]
fn an_error_ends_the_stream_with_an_error_event_and_nothing_after() {
    let mut enc = MessagesStreamEncoder::new();
    let mut out = Vec::new();
    enc.encode(&start(), &mut out);
    enc.encode(&text("Partial"), &mut out);
    let err = ApiError::new(
        ErrorKind::Unavailable,
        "The upstream provider is overloaded.",
    );
    enc.encode(&StreamEvent::Error(err), &mut out);
    enc.encode(&text("late"), &mut out);
    enc.finish(&mut out);
    let got = events(&out);
    assert_eq!(
        names(&out),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(
        got[4].1,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "The upstream provider is overloaded."}})
    );
}

#[test]
fn events_before_start_get_a_generated_message_start() {
    let out = encode(&[
        text("Hi"),
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::Length,
            stop_sequence: None,
        },
    ]);
    let got = events(&out);
    assert_eq!(got[0].0, "message_start");
    assert!(
        got[0].1["message"]["id"]
            .as_str()
            .unwrap()
            .starts_with("msg_")
    );
    assert_eq!(got[0].1["message"]["usage"]["input_tokens"], 0);
    let delta = &got[got.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
    assert_eq!(delta["usage"]["output_tokens"], 0);
    assert_eq!(got.last().unwrap().0, "message_stop");
}

#[test]
fn an_empty_answer_still_closes_cleanly() {
    let out = encode(&[
        start(),
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::ContentFilter,
            stop_sequence: None,
        },
    ]);
    assert_eq!(
        names(&out),
        ["message_start", "ping", "message_delta", "message_stop"]
    );
    let got = events(&out);
    assert_eq!(got[2].1["delta"]["stop_reason"], "refusal");
    // No final usage event: the input counts from the start still hold.
    assert_eq!(got[2].1["usage"]["input_tokens"], 50);
    assert_eq!(got[2].1["usage"]["cache_read_input_tokens"], 1000);
}
