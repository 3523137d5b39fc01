//! The template reading of text chunks (`stream_template.rs`) gives exactly the events
//! and the state that reading each chunk whole gives.

#![expect(clippy::expect_used, reason = "tests")]

use super::*;

/// A first chunk (making the template) and a next one, in the simulator's key order,
/// in OpenAI's with its `obfuscation` string, with escapes, and after a role chunk.
const PAIRS: &[(&str, &str)] = &[
    (
        r#"{"choices":[{"delta":{"content":"You "},"finish_reason":null,"index":0,"logprobs":null}],"created":1795475867,"id":"chatcmpl-931a","model":"gpt-4o-mini","object":"chat.completion.chunk","service_tier":"default","system_fingerprint":"fp_morn_mock","usage":null}"#,
        r#"{"choices":[{"delta":{"content":"said: "},"finish_reason":null,"index":0,"logprobs":null}],"created":1795475867,"id":"chatcmpl-931a","model":"gpt-4o-mini","object":"chat.completion.chunk","service_tier":"default","system_fingerprint":"fp_morn_mock","usage":null}"#,
    ),
    (
        r#"{"id":"chatcmpl-C3kT","object":"chat.completion.chunk","created":1754950000,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_34a5","choices":[{"index":1,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x1"}"#,
        r#"{"id":"chatcmpl-C3kT","object":"chat.completion.chunk","created":1754950000,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_34a5","choices":[{"index":1,"delta":{"content":" w\u00f6rld \"quoted\""},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Qz9"}"#,
    ),
    (
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}"#,
    ),
];

fn event(data: &str) -> SseEvent {
    SseEvent {
        event: None,
        data: data.to_owned(),
    }
}

/// Decodes `next` after `first` with the template and without it; both answers
/// (events or error) and the usage held afterwards.
fn both(first: &str, next: &str) -> (String, String) {
    let mut with = ChatStreamDecoder::new();
    let mut without = ChatStreamDecoder::new();
    let mut out = Vec::new();
    with.decode(&event(first), &mut out).expect("first chunk");
    without
        .decode(&event(first), &mut out)
        .expect("first chunk");
    without.template = None;
    let answer = |decoder: &mut ChatStreamDecoder| {
        let mut out = Vec::new();
        let result = decoder.decode(&event(next), &mut out);
        decoder.template = None;
        let mut done = Vec::new();
        let tail = decoder.decode(&event("[DONE]"), &mut done);
        format!("{result:?} {out:?} {tail:?} {done:?}")
    };
    (answer(&mut with), answer(&mut without))
}

#[test]
fn the_next_text_chunk_is_read_by_its_template() {
    for (first, next) in PAIRS {
        let mut decoder = ChatStreamDecoder::new();
        decoder
            .decode(&event(first), &mut Vec::new())
            .expect("first chunk");
        let template = decoder.template.as_ref().expect("a template");
        assert!(template.text(next).is_some(), "{next}");
        let (with, without) = both(first, next);
        assert_eq!(with, without);
    }
    let (_, next) = PAIRS[1];
    let (with, _) = both(PAIRS[1].0, next);
    assert!(
        with.contains(r#"" wörld \"quoted\"""#),
        "escapes decoded: {with}"
    );
}

/// Every change of one byte of the next chunk (replaced by each of a set of
/// JSON-significant bytes, or deleted), and a byte inserted anywhere: the template
/// either reads it as reading it whole would, or leaves it to be read whole.
#[test]
fn changed_chunks_decode_as_when_read_whole() {
    let checked = crate::stream_template::assert_variants_agree(PAIRS, both);
    assert!(checked > 10_000, "{checked}");
}

/// A chunk that finishes, carries usage, has other text members or several choices
/// is not a template (one with escaped text is); text after a finish chunk still
/// reads by the earlier template.
#[test]
fn only_plain_text_chunks_make_templates() {
    let chunks = [
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a","reasoning_content":"b"}}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a\u0041"}}],"x":{}}"#,
    ];
    for chunk in chunks {
        let mut decoder = ChatStreamDecoder::new();
        decoder.decode(&event(chunk), &mut Vec::new()).expect(chunk);
        let plain = decoder.template.is_some();
        assert_eq!(plain, chunk.contains("x\":{}"), "{chunk}");
    }
    let (first, next) = PAIRS[0];
    let finish = r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1795475867,"id":"chatcmpl-931a","model":"gpt-4o-mini","object":"chat.completion.chunk","service_tier":"default","system_fingerprint":"fp_morn_mock","usage":null}"#;
    let mut decoder = ChatStreamDecoder::new();
    let mut out = Vec::new();
    for chunk in [first, finish, next] {
        decoder.decode(&event(chunk), &mut out).expect(chunk);
    }
    let texts: Vec<_> = out
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["You ", "said: "]);
}
