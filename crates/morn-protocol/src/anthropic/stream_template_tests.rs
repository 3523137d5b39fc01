//! The template reading of `text_delta` frames (`stream_template.rs`) gives exactly
//! the events and the state that reading each frame whole gives.

#![expect(clippy::expect_used, reason = "tests")]

use super::*;

/// A first frame (making the template) and a next one: as Anthropic sends them, with
/// escapes, and with the members in another order.
const PAIRS: &[(&str, &str)] = &[
    (
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" w\u00f6rld \"quoted\""}}"#,
    ),
    (
        r#"{"delta":{"text":"a","type":"text_delta"},"index":1,"type":"content_block_delta"}"#,
        r#"{"delta":{"text":"bc","type":"text_delta"},"index":1,"type":"content_block_delta"}"#,
    ),
];

fn event(data: &str) -> SseEvent {
    SseEvent {
        event: Some("content_block_delta".to_owned()),
        data: data.to_owned(),
    }
}

/// Decodes `next` after `first` with the template and without it: the answers
/// (events or error) and the decoders' state afterwards.
fn both(first: &str, next: &str) -> (String, String) {
    let answer = |use_template: bool| {
        let mut decoder = MessagesStreamDecoder::new();
        decoder
            .decode(&event(first), &mut Vec::new())
            .expect("first frame");
        if !use_template {
            decoder.template = None;
        }
        let mut out = Vec::new();
        let result = decoder.decode(&event(next), &mut out);
        decoder.template = None;
        format!("{result:?} {out:?} {decoder:?}")
    };
    (answer(true), answer(false))
}

#[test]
fn the_next_text_delta_is_read_by_its_template() {
    for (first, next) in PAIRS {
        let mut decoder = MessagesStreamDecoder::new();
        decoder
            .decode(&event(first), &mut Vec::new())
            .expect("first frame");
        let template = decoder.template.as_ref().expect("a template");
        assert!(template.text(next).is_some(), "{next}");
        let (with, without) = both(first, next);
        assert_eq!(with, without);
    }
    let (with, _) = both(PAIRS[0].0, PAIRS[0].1);
    assert!(
        with.contains(r#"" wörld \"quoted\"""#),
        "escapes decoded: {with}"
    );
}

/// Every change of one byte of the next frame (replaced by each of a set of
/// JSON-significant bytes, or deleted), and a byte inserted anywhere: the template
/// either reads it as reading it whole would, or leaves it to be read whole.
#[test]
fn changed_frames_decode_as_when_read_whole() {
    let checked = crate::stream_template::assert_variants_agree(PAIRS, both);
    assert!(checked > 2_000, "{checked}");
}

/// Other frames, and text with escapes (not borrowed from the frame), make no
/// template.
#[test]
fn only_unescaped_text_deltas_make_templates() {
    let frames = [
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"a"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\nb"}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"a"}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","text":"x"},"usage":{"output_tokens":3}}"#,
    ];
    for frame in frames {
        let mut decoder = MessagesStreamDecoder::new();
        decoder.decode(&event(frame), &mut Vec::new()).expect(frame);
        assert!(decoder.template.is_none(), "{frame}");
    }
}
