//! Upstream decoding: Anthropic response bodies, SSE streams (fed through `SseParser` in
//! awkward byte splits), a stream cut before `message_stop`, in-band stream errors, and
//! error bodies per status.

#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::anthropic::{MessagesStreamDecoder, decode_error, decode_messages_response};
use morn_protocol::{
    ErrorKind, FinishReason, Part, SseParser, StreamDecoder, StreamEvent, ToolCall, Usage,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap()
}

/// Feeds `body` to a parser in chunks of `chunk` bytes (splitting UTF-8 sequences and
/// line endings wherever they fall) and decodes every event.
fn decode_stream(body: &[u8], chunk: usize) -> (Vec<StreamEvent>, bool) {
    let mut parser = SseParser::new();
    let mut decoder = MessagesStreamDecoder::new();
    let mut out = Vec::new();
    for piece in body.chunks(chunk) {
        for event in parser.push(piece) {
            decoder.decode(&event, &mut out).unwrap();
        }
    }
    (out, decoder.is_complete())
}

/// Every split gives the same events as the whole body at once.
fn decode_all_splits(name: &str) -> (Vec<StreamEvent>, bool) {
    let body = fixture(name);
    let whole = decode_stream(&body, body.len());
    for chunk in [1, 2, 3, 7, 64] {
        assert_eq!(
            decode_stream(&body, chunk),
            whole,
            "{name} in chunks of {chunk}"
        );
    }
    let crlf = String::from_utf8(body).unwrap().replace('\n', "\r\n");
    assert_eq!(decode_stream(crlf.as_bytes(), 5), whole, "{name} with CRLF");
    whole
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        choice: 0,
        text: t.into(),
    }
}

#[test]
fn decodes_a_response_with_thinking_text_and_parallel_tool_use() {
    let resp = decode_messages_response(&fixture("response_tool_use.json")).unwrap();
    assert_eq!(resp.id, "msg_01Aq9w938a90dw8q");
    assert_eq!(resp.model, "claude-sonnet-4-5-20250929");
    assert_eq!(resp.created, 0, "the caller fills `created`");
    assert_eq!(resp.choices.len(), 1);
    let choice = &resp.choices[0];
    assert_eq!(choice.finish_reason, FinishReason::ToolCalls);
    assert_eq!(choice.stop_sequence, None);
    assert_eq!(
        choice.message.content,
        vec![
            Part::Thinking {
                text: "The user wants the weather in two cities, so I will call get_weather twice."
                    .into(),
                signature: Some("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()),
            },
            Part::Text {
                text: "I'll check the weather in both cities.".into()
            },
            Part::ToolCall(ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                // Byte for byte, key order included.
                arguments: r#"{"location": "San Francisco, CA", "unit": "celsius"}"#.into(),
            }),
            Part::ToolCall(ToolCall {
                id: "toolu_01B7mX2kQpVw1Z3yY4rT5uN6".into(),
                name: "get_weather".into(),
                arguments: r#"{"location": "Paris, France"}"#.into(),
            }),
        ]
    );
    // Canonical input includes cache reads and writes: 512 + 2048 + 0.
    assert_eq!(
        resp.usage,
        Usage {
            input_tokens: 2560,
            output_tokens: 143,
            cache_read_tokens: 2048,
            cache_write_tokens: 0,
            reasoning_tokens: 0
        }
    );
}

#[test]
fn decodes_stop_reasons_and_drops_server_tool_blocks() {
    let resp = decode_messages_response(&fixture("response_stop_sequence.json")).unwrap();
    let choice = &resp.choices[0];
    assert_eq!(choice.finish_reason, FinishReason::Stop);
    assert_eq!(choice.stop_sequence.as_deref(), Some("\n\nHuman:"));
    assert_eq!(
        choice.message.content,
        vec![Part::Text {
            text: "The sky is blue because of Rayleigh scattering.".into()
        }]
    );
    // `cache_read_input_tokens: null` counts as 0.
    assert_eq!(
        resp.usage,
        Usage {
            input_tokens: 321,
            output_tokens: 12,
            cache_write_tokens: 300,
            ..Usage::default()
        }
    );

    let cases = [
        ("response_max_tokens.json", FinishReason::Length),
        ("response_refusal.json", FinishReason::ContentFilter),
        ("response_pause_turn.json", FinishReason::Stop),
    ];
    for (name, reason) in cases {
        let resp = decode_messages_response(&fixture(name)).unwrap();
        assert_eq!(resp.choices[0].finish_reason, reason, "{name}");
    }
    let resp = decode_messages_response(&fixture("response_max_tokens.json")).unwrap();
    assert_eq!(
        resp.usage,
        Usage {
            input_tokens: 14,
            output_tokens: 8,
            ..Usage::default()
        }
    );
}

#[test]
fn a_malformed_response_is_a_bad_gateway() {
    for body in [
        &b"<html>502</html>"[..],
        b"{\"id\": 1}",
        b"{\"type\":\"message\"}",
    ] {
        let err = decode_messages_response(body).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway);
        assert_eq!(err.status(), 502);
    }
}

#[test]
fn decodes_a_text_stream() {
    let (events, complete) = decode_all_splits("stream_text.sse");
    assert!(complete);
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
                model: "claude-sonnet-4-5-20250929".into(),
                usage: Some(Usage {
                    input_tokens: 25,
                    ..Usage::default()
                }),
            },
            text("Hello"),
            text(", wörld! \"quoted\"\n"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop,
                stop_sequence: None
            },
            StreamEvent::Usage(Usage {
                input_tokens: 25,
                output_tokens: 15,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn decodes_parallel_tool_use_with_cache_usage() {
    let (events, complete) = decode_all_splits("stream_tool_use.sse");
    assert!(complete);
    let usage_in = Usage {
        input_tokens: 1496,
        cache_read_tokens: 1024,
        ..Usage::default()
    };
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: "msg_014p7gG3wDgGV9EUtLvnow3U".into(),
                model: "claude-sonnet-4-5-20250929".into(),
                usage: Some(usage_in),
            },
            text("Okay, let's check both cities"),
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "get_weather".into(),
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: "{\"location\":".into()
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: " \"San Francisco, CA\"}".into()
            },
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 1,
                id: "toolu_01VqzP8mJ3aN6Ht9RkLe2Xy4".into(),
                name: "get_time".into(),
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 1,
                arguments: "{\"timezone\": \"Europe/Paris\"}".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ToolCalls,
                stop_sequence: None
            },
            StreamEvent::Usage(Usage {
                output_tokens: 89,
                ..usage_in
            }),
        ]
    );
}

#[test]
fn decodes_thinking_signature_and_stop_sequence() {
    let (events, complete) = decode_all_splits("stream_thinking.sse");
    assert!(complete);
    assert_eq!(
        events[1..],
        [
            StreamEvent::ThinkingDelta {
                choice: 0,
                text: "Let me solve this step by step:\n\n1. First break down 27 * 453".into()
            },
            StreamEvent::ThinkingDelta {
                choice: 0,
                text: "\n2. 453 = 400 + 50 + 3".into()
            },
            StreamEvent::ThinkingSignature {
                choice: 0,
                signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into()
            },
            text("27 * 453 = 12,231"),
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Stop,
                stop_sequence: Some("###".into())
            },
            StreamEvent::Usage(Usage {
                input_tokens: 2133,
                output_tokens: 312,
                cache_write_tokens: 2048,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn an_in_band_error_becomes_an_error_event() {
    let (events, complete) = decode_all_splits("stream_error.sse");
    assert!(!complete);
    assert_eq!(events[1], text("Partial"));
    let StreamEvent::Error(err) = events.last().unwrap() else {
        panic!("{events:?}")
    };
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(err.code, "overloaded_error");
    assert_eq!(err.message, "Overloaded");
}

#[test]
fn in_band_error_types_map_to_kinds() {
    let cases = [
        ("overloaded_error", ErrorKind::Unavailable),
        ("rate_limit_error", ErrorKind::RateLimited),
        ("api_error", ErrorKind::Internal),
        ("invalid_request_error", ErrorKind::InvalidRequest),
        ("authentication_error", ErrorKind::Authentication),
        ("permission_error", ErrorKind::PermissionDenied),
        ("not_found_error", ErrorKind::NotFound),
        ("request_too_large", ErrorKind::PayloadTooLarge),
        ("timeout_error", ErrorKind::GatewayTimeout),
        ("some_future_error", ErrorKind::BadGateway),
    ];
    for (ty, kind) in cases {
        let body = format!(
            "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"{ty}\",\"message\":\"m\"}}}}\n\n"
        );
        let (events, _) = decode_stream(body.as_bytes(), 4);
        let [StreamEvent::Error(err)] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!((err.kind, err.code.as_str()), (kind, ty));
    }
}

#[test]
fn a_stream_cut_before_message_stop_is_incomplete() {
    let body = fixture("stream_cut.sse");
    let mut parser = SseParser::new();
    let mut decoder = MessagesStreamDecoder::new();
    let mut out = Vec::new();
    for event in parser.push(&body) {
        decoder.decode(&event, &mut out).unwrap();
    }
    assert!(!decoder.is_complete());
    assert!(parser.has_partial());
    assert!(
        !out.iter()
            .any(|e| matches!(e, StreamEvent::Finish { .. } | StreamEvent::Usage(_)))
    );
    assert_eq!(out.len(), 3, "{out:?}");
}

#[test]
fn ping_unknown_events_and_server_tool_deltas_are_ignored() {
    let body = concat!(
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: brand_new_event\ndata: {\"type\":\"brand_new_event\",\"x\":1}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"citations_delta\",\"citation\":{}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{\"a\":1}}}\n\n",
    );
    let (events, complete) = decode_stream(body.as_bytes(), 9);
    assert!(!complete);
    // The first *client* tool call gets index 0, and a non-empty starting input is
    // passed on as its first fragment.
    assert_eq!(
        events,
        vec![
            StreamEvent::ToolCallStart {
                choice: 0,
                index: 0,
                id: "toolu_1".into(),
                name: "f".into()
            },
            StreamEvent::ToolCallDelta {
                choice: 0,
                index: 0,
                arguments: "{\"a\":1}".into()
            },
        ]
    );
}

#[test]
fn unparsable_stream_data_is_an_error() {
    let mut decoder = MessagesStreamDecoder::new();
    let mut out = Vec::new();
    for data in [
        "{not json",
        "{\"no_type\":1}",
        "{\"type\":\"message_start\"}",
    ] {
        let event = morn_protocol::SseEvent {
            event: None,
            data: data.into(),
        };
        let err = decoder.decode(&event, &mut out).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadGateway, "{data}");
    }
    assert!(out.is_empty());
}

#[test]
fn decodes_error_bodies_per_status() {
    let cases = [
        (
            529,
            "error_overloaded.json",
            ErrorKind::Unavailable,
            "overloaded_error",
            "Overloaded",
        ),
        (
            429,
            "error_rate_limit.json",
            ErrorKind::RateLimited,
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
        ),
        (
            400,
            "error_invalid_request.json",
            ErrorKind::InvalidRequest,
            "invalid_request_error",
            "max_tokens: Field required",
        ),
        (
            401,
            "error_authentication.json",
            ErrorKind::Authentication,
            "authentication_error",
            "invalid x-api-key",
        ),
        (
            404,
            "error_not_found.json",
            ErrorKind::NotFound,
            "not_found_error",
            "model: claude-3-nonexistent",
        ),
        (
            500,
            "error_api.json",
            ErrorKind::Internal,
            "api_error",
            "Internal server error",
        ),
    ];
    for (status, name, kind, code, message) in cases {
        let err = decode_error(status, &fixture(name), Some(30));
        assert_eq!(err.kind, kind, "{name}");
        assert_eq!(err.code, code, "{name}");
        assert_eq!(err.message, message, "{name}");
        assert_eq!(err.retry_after, Some(30), "{name}");
    }
}

#[test]
fn a_non_json_error_body_gets_a_generic_message() {
    let err = decode_error(502, b"<html><body>Bad Gateway</body></html>", None);
    assert_eq!(err.kind, ErrorKind::BadGateway);
    assert_eq!(err.code, "upstream_error");
    assert_eq!(err.message, "The upstream provider returned HTTP 502.");
    assert_eq!(err.retry_after, None);

    let err = decode_error(529, b"", Some(5));
    assert_eq!(
        (err.kind, err.status(), err.retry_after),
        (ErrorKind::Unavailable, 503, Some(5))
    );
    let err = decode_error(418, br#"{"type":"error","error":{}}"#, None);
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::InvalidRequest, "invalid_request")
    );
    assert_eq!(err.message, "The upstream provider returned HTTP 418.");
}
