//! Gemini answers → canonical: whole responses, error bodies and embeddings, decoded
//! from fixtures shaped like the real API's.
#![expect(clippy::unwrap_used, reason = "tests")]

use morn_protocol::gemini::{
    decode_embed_response, decode_error, decode_generate_response, encode_embed_request,
};
use morn_protocol::{
    EmbeddingInput, EmbeddingRequest, EncodingFormat, ErrorKind, FinishReason, Part, Role,
    ToolCall, Usage,
};
use serde_json::{Value, json};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("fixtures/gemini/", $name))
    };
}

#[test]
fn text_answer_with_thinking_usage() {
    let r = decode_generate_response(fixture!("generate_text.json")).unwrap();
    assert_eq!(r.id, "pSKmaLa6LJuRz7IPzN_WgQ0");
    assert_eq!(r.model, "gemini-2.5-flash");
    assert_eq!(r.created, 0);
    assert_eq!(r.choices.len(), 1);
    let choice = &r.choices[0];
    assert_eq!(choice.message.role, Role::Assistant);
    assert_eq!(
        choice.message.joined_text(),
        "The capital of France is **Paris**."
    );
    assert_eq!(choice.finish_reason, FinishReason::Stop);
    // Output includes the 28 thinking tokens Gemini counts apart.
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 9,
            output_tokens: 36,
            reasoning_tokens: 28,
            ..Usage::default()
        }
    );
    assert_eq!(
        r.usage.total_tokens(),
        45,
        "matches Gemini's totalTokenCount"
    );
    insta::assert_json_snapshot!(r);
}

#[test]
fn parallel_function_calls() {
    let r = decode_generate_response(fixture!("generate_parallel_calls.json")).unwrap();
    let choice = &r.choices[0];
    assert_eq!(choice.finish_reason, FinishReason::ToolCalls);
    let calls: Vec<&ToolCall> = choice
        .message
        .content
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[0].id.starts_with("call_0_0__thought__"),
        "{}",
        calls[0].id
    );
    assert_eq!(calls[1].id, "call_0_1");
    assert_eq!(calls[0].name, "get_weather");
    // Compact JSON text, keys in the model's order.
    assert_eq!(
        calls[0].arguments,
        r#"{"location":"Paris","unit":"celsius"}"#
    );
    assert_eq!(
        calls[1].arguments,
        r#"{"location":"Tokyo","unit":"celsius"}"#
    );
    assert_eq!(r.usage.output_tokens, 36 + 74);
    insta::assert_json_snapshot!(r);
}

#[test]
fn max_tokens_is_length() {
    let r = decode_generate_response(fixture!("generate_max_tokens.json")).unwrap();
    assert_eq!(r.choices[0].finish_reason, FinishReason::Length);
    assert_eq!(r.model, "gemini-2.0-flash");
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 7,
            output_tokens: 16,
            ..Usage::default()
        }
    );
}

#[test]
fn safety_stop_is_content_filter() {
    let r = decode_generate_response(fixture!("generate_safety.json")).unwrap();
    assert_eq!(r.choices.len(), 1);
    assert_eq!(r.choices[0].finish_reason, FinishReason::ContentFilter);
    assert!(r.choices[0].message.content.is_empty());
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 14,
            ..Usage::default()
        }
    );
}

#[test]
fn blocked_prompt_is_one_filtered_empty_choice() {
    let r = decode_generate_response(fixture!("generate_blocked_prompt.json")).unwrap();
    assert_eq!(r.id, "xjGmaKf1M9qgz7IPvt6N2Aw");
    assert_eq!(r.choices.len(), 1);
    assert_eq!(r.choices[0].index, 0);
    assert_eq!(r.choices[0].finish_reason, FinishReason::ContentFilter);
    assert!(r.choices[0].message.content.is_empty());
    assert_eq!(r.usage.input_tokens, 12);
    insta::assert_json_snapshot!(r);
}

#[test]
fn thoughts_and_cached_tokens() {
    let r = decode_generate_response(fixture!("generate_thinking_cached.json")).unwrap();
    let content = &r.choices[0].message.content;
    assert_eq!(content.len(), 2, "adjacent text parts join: {content:?}");
    assert!(
        matches!(&content[0], Part::Thinking { text, signature: None } if text.starts_with("**Comparing"))
    );
    assert_eq!(
        content[1],
        Part::Text {
            text: "Section 4.2 caps liability at 12 months of fees, but the indemnity clause in section 9 is uncapped.".into()
        }
    );
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 36412,
            output_tokens: 27 + 791,
            cache_read_tokens: 32768,
            cache_write_tokens: 0,
            reasoning_tokens: 791,
        }
    );
    assert_eq!(r.usage.total_tokens(), 37230);
}

#[test]
fn candidates_without_index_use_their_position_and_missing_ids_are_generated() {
    let body = json!({
        "candidates": [
            {"content": {"parts": [{"text": "A"}], "role": "model"}, "finishReason": "STOP"},
            {"content": {"parts": [{"functionCall": {"name": "f", "id": "fc-9"}}], "role": "model"},
             "finishReason": "STOP"}
        ]
    });
    let r = decode_generate_response(body.to_string().as_bytes()).unwrap();
    assert!(!r.id.is_empty());
    assert_eq!(r.model, "");
    assert_eq!(r.usage, Usage::default());
    assert_eq!(r.choices[1].index, 1);
    assert_eq!(
        r.choices[1].message.content,
        vec![Part::ToolCall(ToolCall {
            id: "fc-9".into(),
            name: "f".into(),
            arguments: "{}".into()
        })]
    );
}

#[test]
fn malformed_answers_are_bad_gateway() {
    for body in [&b"not json"[..], b"{\"candidates\": 3}", b"{}"] {
        let err = decode_generate_response(body).unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::BadGateway,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

fn error(
    status: u16,
    body: &[u8],
    retry_after: Option<u64>,
) -> (ErrorKind, String, String, Option<u64>) {
    let e = decode_error(status, body, retry_after);
    (e.kind, e.code, e.message, e.retry_after)
}

#[test]
fn error_bodies_keep_status_code_and_message() {
    let (kind, code, message, retry) = error(400, fixture!("error_400.json"), None);
    assert_eq!(
        (kind, code.as_str(), retry),
        (ErrorKind::InvalidRequest, "invalid_argument", None)
    );
    assert!(message.contains("contents is not specified"), "{message}");

    // Sometimes wrapped in a one-element array.
    let (kind, code, message, _) = error(400, fixture!("error_400_api_key.json"), None);
    assert_eq!(
        (kind, code.as_str()),
        (ErrorKind::InvalidRequest, "invalid_argument")
    );
    assert_eq!(message, "API key not valid. Please pass a valid API key.");

    let (kind, code, _, _) = error(403, fixture!("error_403.json"), None);
    assert_eq!(
        (kind, code.as_str()),
        (ErrorKind::PermissionDenied, "permission_denied")
    );

    let (kind, code, message, _) = error(404, fixture!("error_404.json"), None);
    assert_eq!((kind, code.as_str()), (ErrorKind::NotFound, "not_found"));
    assert!(
        message.starts_with("models/gemini-1.0-ultra is not found"),
        "{message}"
    );

    let (kind, code, _, retry) = error(500, fixture!("error_500.json"), None);
    assert_eq!(
        (kind, code.as_str(), retry),
        (ErrorKind::Internal, "internal", None)
    );

    let (kind, code, message, retry) = error(503, fixture!("error_503.json"), Some(7));
    assert_eq!(
        (kind, code.as_str(), retry),
        (ErrorKind::Unavailable, "unavailable", Some(7))
    );
    assert_eq!(message, "The model is overloaded. Please try again later.");
}

#[test]
fn rate_limits_use_retry_info_unless_a_header_says_otherwise() {
    let e = decode_error(429, fixture!("error_429.json"), None);
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.status(), 429);
    assert_eq!(e.code, "resource_exhausted");
    assert_eq!(e.retry_after, Some(44), "43.089s rounds up");
    assert!(e.message.starts_with("You exceeded your current quota"));
    insta::assert_json_snapshot!(e);

    let e = decode_error(429, fixture!("error_429.json"), Some(5));
    assert_eq!(e.retry_after, Some(5));
}

#[test]
fn the_http_status_decides_the_kind() {
    // A body that disagrees with the status (or none at all) does not change the kind.
    let e = decode_error(502, fixture!("error_503.json"), None);
    assert_eq!(e.kind, ErrorKind::BadGateway);
    let e = decode_error(504, b"", None);
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::GatewayTimeout, "upstream_timeout")
    );
}

fn embed_request(input: Vec<EmbeddingInput>, dimensions: Option<u32>) -> EmbeddingRequest {
    EmbeddingRequest {
        model: "embed".into(),
        input,
        dimensions,
        encoding_format: EncodingFormat::Base64,
        user: Some("u1".into()),
        extra: serde_json::Map::new(),
    }
}

#[test]
fn embeddings_batch_request_and_response() {
    let req = embed_request(
        vec![
            EmbeddingInput::Text("hello world".into()),
            EmbeddingInput::Text("héllo".into()),
        ],
        Some(256),
    );
    let body: Value =
        serde_json::from_slice(&encode_embed_request(&req, "gemini-embedding-001").unwrap())
            .unwrap();
    assert_eq!(body["requests"].as_array().unwrap().len(), 2);
    assert_eq!(body["requests"][1]["model"], "models/gemini-embedding-001");
    insta::assert_json_snapshot!(body);

    let texts = vec!["hello world".to_owned(), "héllo".to_owned()];
    let r = decode_embed_response(fixture!("embed_response.json"), &texts).unwrap();
    assert_eq!(r.model, "");
    assert_eq!(r.data.len(), 2);
    assert_eq!(
        r.data[0],
        vec![
            0.013_168_523,
            -0.008_711_934,
            -0.046_782_676,
            0.000_699_689_84
        ]
    );
    // ceil(11 / 4) + ceil(5 chars / 4): characters, not bytes.
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 3 + 2,
            ..Usage::default()
        }
    );
}

#[test]
fn embeddings_reject_token_arrays_and_count_mismatches() {
    let req = embed_request(
        vec![
            EmbeddingInput::Text("a".into()),
            EmbeddingInput::Tokens(vec![1, 2]),
        ],
        None,
    );
    let err = encode_embed_request(&req, "text-embedding-004").unwrap_err();
    assert_eq!((err.status(), err.param.as_deref()), (400, Some("input")));
    assert_eq!(
        err.message,
        "token arrays are not supported by this model's provider"
    );

    let req = embed_request(vec![EmbeddingInput::Text("a".into())], None);
    let body: Value =
        serde_json::from_slice(&encode_embed_request(&req, "text-embedding-004").unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}}]})
    );

    let err = decode_embed_response(fixture!("embed_response.json"), &["only one".to_owned()])
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadGateway);
}
