//! `streamGenerateContent?alt=sse` bodies fed through the SSE parser in awkward byte
//! splits, decoded into canonical events.
#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::gemini::GenerateStreamDecoder;
use morn_protocol::{
    ApiError, ErrorKind, FinishReason, SseEvent, SseParser, StreamDecoder, StreamEvent, Usage,
};

const PARALLEL: &[u8] = include_bytes!("fixtures/gemini/stream_parallel_calls.sse");
const CUT: &[u8] = include_bytes!("fixtures/gemini/stream_cut.sse");

/// Decodes `body` delivered as the given chunks; returns the events, whether the
/// decoder saw the end, and whether the parser holds a partial event.
fn run(chunks: &[&[u8]]) -> (Vec<StreamEvent>, bool, bool) {
    let mut parser = SseParser::new();
    let mut decoder = GenerateStreamDecoder::new();
    let mut events = Vec::new();
    for chunk in chunks {
        for event in parser.push(chunk) {
            decoder.decode(&event, &mut events).unwrap();
        }
    }
    (events, decoder.is_complete(), parser.has_partial())
}

fn lf(body: &[u8]) -> Vec<u8> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes()
}

#[test]
fn parallel_calls_thinking_text_and_final_usage() {
    let (events, complete, partial) = run(&[PARALLEL]);
    assert!(complete && !partial);
    assert_eq!(
        events[0],
        StreamEvent::Start {
            id: "uDemaOXhA6KXz7IPmKTmoQk".into(),
            model: "gemini-2.5-flash".into(),
            usage: None
        }
    );
    assert!(
        matches!(&events[1], StreamEvent::ThinkingDelta { choice: 0, text } if text.starts_with("**Planning"))
    );
    assert_eq!(
        events[2],
        StreamEvent::TextDelta {
            choice: 0,
            text: "Let me check the weather ".into()
        }
    );
    assert_eq!(
        events[3],
        StreamEvent::TextDelta {
            choice: 0,
            text: "in Paris and Tokyo — één moment.".into()
        }
    );
    let StreamEvent::ToolCallStart {
        choice: 0,
        index: 0,
        id,
        name,
    } = &events[4]
    else {
        panic!("{:?}", events[4]);
    };
    assert!(id.starts_with("call_0_0__thought__"), "{id}");
    assert_eq!(name, "get_weather");
    assert_eq!(
        events[5],
        StreamEvent::ToolCallDelta {
            choice: 0,
            index: 0,
            arguments: r#"{"location":"Paris","unit":"celsius"}"#.into()
        }
    );
    assert_eq!(
        events[6],
        StreamEvent::ToolCallStart {
            choice: 0,
            index: 1,
            id: "call_0_1".into(),
            name: "get_weather".into()
        }
    );
    assert_eq!(
        events[7],
        StreamEvent::ToolCallDelta {
            choice: 0,
            index: 1,
            arguments: r#"{"location":"Tokyo","unit":"celsius"}"#.into()
        }
    );
    assert_eq!(
        events[8],
        StreamEvent::Finish {
            choice: 0,
            reason: FinishReason::ToolCalls,
            stop_sequence: None
        }
    );
    assert_eq!(
        events[9],
        StreamEvent::Usage(Usage {
            input_tokens: 88,
            output_tokens: 50 + 74,
            cache_read_tokens: 64,
            cache_write_tokens: 0,
            reasoning_tokens: 74,
        })
    );
    assert_eq!(events.len(), 10);
    insta::assert_json_snapshot!(events);
}

#[test]
fn every_byte_split_with_crlf_and_lf_separators_decodes_the_same() {
    let (expected, _, _) = run(&[PARALLEL]);
    for body in [PARALLEL.to_vec(), lf(PARALLEL)] {
        for split in 0..=body.len() {
            let (events, complete, partial) = run(&[&body[..split], &body[split..]]);
            assert_eq!(events, expected, "split at {split}");
            assert!(complete && !partial, "split at {split}");
        }
        // Three-way splits around the CRLF separators and the multi-byte characters.
        for a in (0..body.len()).step_by(7) {
            let b = (a + 3).min(body.len());
            let (events, complete, _) = run(&[&body[..a], &body[a..b], &body[b..]]);
            assert_eq!(events, expected, "splits at {a}, {b}");
            assert!(complete);
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(run(&bytes).0, expected);
    }
}

#[test]
fn the_same_ids_as_a_whole_answer() {
    // A streamed and a whole answer must name the same calls the same way, so a client
    // can mix them (retries, caching).
    let whole = morn_protocol::gemini::decode_generate_response(include_bytes!(
        "fixtures/gemini/generate_parallel_calls.json"
    ))
    .unwrap();
    let whole_ids: Vec<String> = whole.choices[0]
        .message
        .content
        .iter()
        .filter_map(|p| match p {
            morn_protocol::Part::ToolCall(c) => Some(c.id.clone()),
            _ => None,
        })
        .collect();
    let (events, _, _) = run(&[PARALLEL]);
    let streamed_ids: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallStart { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed_ids, whole_ids);
}

#[test]
fn a_stream_cut_before_finish_reason_is_incomplete() {
    for body in [CUT.to_vec(), lf(CUT)] {
        let (events, complete, partial) = run(&[&body]);
        assert!(!complete, "no finishReason seen");
        assert!(!partial);
        assert_eq!(events.len(), 3);
        assert!(
            matches!(&events[0], StreamEvent::Start { model, .. } if model == "gemini-2.0-flash")
        );
        assert!(
            events
                .iter()
                .all(|e| !matches!(e, StreamEvent::Finish { .. } | StreamEvent::Usage(_))),
            "{events:?}"
        );
    }
    // Cut in the middle of an event: the parser holds it back.
    let (events, complete, partial) = run(&[&CUT[..CUT.len() - 40]]);
    assert!(!complete && partial);
    assert_eq!(events.len(), 2);
}

fn decode_one(data: &str) -> (Result<(), ApiError>, Vec<StreamEvent>, bool) {
    let mut decoder = GenerateStreamDecoder::new();
    let mut events = Vec::new();
    let result = decoder.decode(
        &SseEvent {
            event: None,
            data: data.into(),
        },
        &mut events,
    );
    (result, events, decoder.is_complete())
}

#[test]
fn in_band_errors_and_garbage() {
    let (result, events, complete) = decode_one(
        r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
    );
    result.unwrap();
    assert!(!complete);
    let [StreamEvent::Error(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Unavailable, "unavailable")
    );

    let (result, events, _) = decode_one(r#"{"candidates": [{"content": {"parts": [{"te"#);
    assert_eq!(result.unwrap_err().kind, ErrorKind::BadGateway);
    assert!(events.is_empty());
}

#[test]
fn a_blocked_prompt_finishes_with_content_filter() {
    let (result, events, complete) = decode_one(
        r#"{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}, "modelVersion": "gemini-2.5-flash", "responseId": "b1"}"#,
    );
    result.unwrap();
    assert!(complete);
    assert_eq!(
        events[1..],
        [
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ContentFilter,
                stop_sequence: None
            },
            StreamEvent::Usage(Usage {
                input_tokens: 9,
                ..Usage::default()
            }),
        ]
    );
}

#[test]
fn max_tokens_and_multiple_candidates() {
    let mut decoder = GenerateStreamDecoder::new();
    let mut events = Vec::new();
    let chunks = [
        r#"{"candidates": [{"content": {"parts": [{"text": "A"}], "role": "model"}, "index": 0}, {"content": {"parts": [{"text": "B"}], "role": "model"}, "index": 1}], "responseId": "m1", "modelVersion": "gemini-2.5-flash"}"#,
        r#"{"candidates": [{"content": {"parts": [{"text": "a"}], "role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 3, "totalTokenCount": 6}}"#,
        r#"{"candidates": [{"content": {"role": "model"}, "finishReason": "STOP", "index": 1}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7}}"#,
    ];
    for (i, data) in chunks.iter().enumerate() {
        decoder
            .decode(
                &SseEvent {
                    event: None,
                    data: (*data).into(),
                },
                &mut events,
            )
            .unwrap();
        assert_eq!(decoder.is_complete(), i == 2, "after chunk {i}");
    }
    assert_eq!(
        events[1..],
        [
            StreamEvent::TextDelta {
                choice: 0,
                text: "A".into()
            },
            StreamEvent::TextDelta {
                choice: 1,
                text: "B".into()
            },
            StreamEvent::TextDelta {
                choice: 0,
                text: "a".into()
            },
            StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::Length,
                stop_sequence: None
            },
            StreamEvent::Finish {
                choice: 1,
                reason: FinishReason::Stop,
                stop_sequence: None
            },
            StreamEvent::Usage(Usage {
                input_tokens: 3,
                output_tokens: 4,
                ..Usage::default()
            }),
        ]
    );
}
