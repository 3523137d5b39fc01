//! A fast reader for the usual upstream `chat.completion.chunk`.
//!
//! Every streamed answer is a few dozen chunks, and reading each with `serde_json`
//! into [`ChunkIn`] was ~6,600 instructions a chunk, 40% of a stream's cost in the
//! gateway (callgrind, bench/README.md). Most chunks are the same shape: an id, a
//! model, one choice whose delta holds a bit of text, a finish reason, or the usage.
//! This reads those with the validating cursor of `json_scan.rs` into the same
//! [`ChunkIn`] `serde_json` would give, and declines (`None`) whatever it does not
//! read itself: an `error` member, tool calls, a `stop_reason` that is not null, a key
//! with an escape, a member given twice, a value of an unexpected type, invalid JSON.
//! The decoder then hands the chunk to `serde_json`, so a declined chunk is read (or
//! refused) exactly as before. Strings with escapes are decoded by `serde_json` too.
//! A test holds the two readers together on every one-byte change of sample chunks.

use std::borrow::Cow;
use std::ops::Range;

use super::stream_decode::{ChoiceIn, ChunkIn, DeltaIn};
use super::usage::WireUsageIn;
use crate::json_scan::{Cursor, Seen};

/// `data` as `serde_json` reads it into a [`ChunkIn`], or `None` when this reader
/// leaves it to `serde_json`.
pub(super) fn scan_chunk(data: &str) -> Option<ChunkIn<'_>> {
    let mut cursor = Cursor::new(data.as_bytes());
    let mut chunk = ChunkIn::default();
    let mut seen = Seen::default();
    // The last member's value when it is a string this reader ignores (see
    // `ChunkIn::free_tail_at`).
    let mut free_tail = None;
    cursor.object(|c, key| {
        free_tail = None;
        match key {
            b"id" => {
                seen.first(1)?;
                chunk.id = opt_str(c, data)?;
            }
            b"model" => {
                seen.first(2)?;
                chunk.model = opt_str(c, data)?;
            }
            b"choices" => {
                seen.first(4)?;
                if !c.null() {
                    let mut choices = Vec::with_capacity(1);
                    c.array(|c| {
                        choices.push(choice(c, data)?);
                        Some(())
                    })?;
                    chunk.choices = Some(choices);
                }
            }
            b"usage" => {
                seen.first(8)?;
                if !c.null() {
                    chunk.usage = Some(WireUsageIn::scan(c)?);
                }
            }
            b"error" => return None,
            _ => {
                let value = c.value()?;
                if data.as_bytes().get(value.start) == Some(&b'"') {
                    free_tail = Some(value);
                }
            }
        }
        Some(())
    })?;
    chunk.free_tail_at = free_tail;
    cursor.at_end().then_some(chunk)
}

/// One element of `choices` (an object; `null` is refused, as `serde_json` refuses it).
fn choice(c: &mut Cursor<'_>, data: &str) -> Option<ChoiceIn> {
    let mut choice = ChoiceIn::default();
    let mut seen = Seen::default();
    c.object(|c, key| {
        match key {
            b"index" => {
                seen.first(1)?;
                if !c.null() {
                    choice.index = Some(u32::try_from(c.opt_u64()??).ok()?);
                }
            }
            b"delta" => {
                seen.first(2)?;
                if !c.null() {
                    choice.delta = Some(delta(c, data)?);
                }
            }
            b"finish_reason" => {
                seen.first(4)?;
                choice.finish_reason = opt_str(c, data)?.map(Cow::into_owned);
            }
            // Read by `serde_json` as any value; only a null is read here.
            b"stop_reason" => {
                seen.first(8)?;
                c.null().then_some(())?;
            }
            _ => {
                c.value()?;
            }
        }
        Some(())
    })?;
    Some(choice)
}

/// A `delta` object without tool calls.
fn delta(c: &mut Cursor<'_>, data: &str) -> Option<DeltaIn> {
    let mut delta = DeltaIn::default();
    let mut seen = Seen::default();
    c.object(|c, key| {
        if key == b"content" {
            seen.first(1)?;
            let (text, at) = opt_str_at(c, data)?;
            delta.content = text.map(Cow::into_owned);
            delta.content_at = at;
            return Some(());
        }
        let (bit, field) = match key {
            b"reasoning_content" => (2, &mut delta.reasoning_content),
            b"reasoning" => (4, &mut delta.reasoning),
            b"refusal" => (8, &mut delta.refusal),
            // Tool calls are left to `serde_json`; a null is the same as none.
            b"tool_calls" | b"function_call" => return c.null().then_some(()),
            _ => return c.value().map(drop),
        };
        seen.first(bit)?;
        *field = opt_str(c, data)?.map(Cow::into_owned);
        Some(())
    })?;
    Some(delta)
}

/// `null` (`Some(None)`) or a string, borrowed from `data` unless it has escapes.
/// Anything else is `None`: `serde_json` refuses it.
fn opt_str<'a>(c: &mut Cursor<'_>, data: &'a str) -> Option<Option<Cow<'a, str>>> {
    opt_str_at(c, data).map(|(text, _)| text)
}

/// A string read by [`opt_str_at`], and where it lies (quotes included).
type Located<'a> = (Option<Cow<'a, str>>, Option<Range<usize>>);

/// [`opt_str`], and where the string lies in `data`.
fn opt_str_at<'a>(c: &mut Cursor<'_>, data: &'a str) -> Option<Located<'a>> {
    if c.null() {
        return Some((None, None));
    }
    let text = c.string()?;
    // Just past the closing quote; the quotes are ASCII, so both ends of the text
    // between them are character boundaries.
    let end = c.position() - 1;
    let start = end - text.raw.len();
    let at = Some(start - 1..end + 1);
    if !text.escaped {
        return Some((Some(Cow::Borrowed(data.get(start..end)?)), at));
    }
    let decoded: String = serde_json::from_str(data.get(start - 1..end + 1)?).ok()?;
    Some((Some(Cow::Owned(decoded)), at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a chunk says, in a form both readers can be compared on.
    fn summary(chunk: &ChunkIn<'_>) -> String {
        let choices: Vec<String> = chunk
            .choices
            .iter()
            .flatten()
            .map(|c| {
                let delta = c.delta.as_ref().map(|d| {
                    format!(
                        "{:?} {:?} {:?} {:?} tools:{} fn:{}",
                        d.content,
                        d.reasoning_content,
                        d.reasoning,
                        d.refusal,
                        d.tool_calls.is_some(),
                        d.function_call.is_some()
                    )
                });
                format!(
                    "{:?} {:?} {:?} {:?}",
                    c.index, delta, c.finish_reason, c.stop_reason
                )
            })
            .collect();
        format!(
            "{:?} {:?} {} {:?} {:?} error:{}",
            chunk.id,
            chunk.model,
            chunk.choices.is_some(),
            choices,
            chunk.usage,
            chunk.error.is_some()
        )
    }

    const SAMPLES: &[&str] = &[
        // The simulator's chunks, as api.openai.com sends them.
        r#"{"choices":[{"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1795424853,"id":"chatcmpl-4326e303055d747f","model":"gpt-4o-mini","object":"chat.completion.chunk","service_tier":"default","system_fingerprint":"fp_morn_mock","usage":null}"#,
        r#"{"choices":[{"delta":{"content":"said: "},"finish_reason":null,"index":0,"logprobs":null}],"created":1795424853,"id":"chatcmpl-4326e303055d747f","model":"gpt-4o-mini","object":"chat.completion.chunk","usage":null}"#,
        r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"id":"c","model":"m","usage":null}"#,
        r#"{"choices":[],"id":"c","model":"m","usage":{"completion_tokens":20,"completion_tokens_details":{"reasoning_tokens":3},"prompt_tokens":14,"prompt_tokens_details":{"cached_tokens":2},"total_tokens":34}}"#,
        // Escapes, reasoning (DeepSeek, OpenRouter), a refusal, vLLM's stop_reason.
        r#"{"id":"c\u0041","model":"m","choices":[{"index":1,"delta":{"content":"a\n\"b\" \u00e9 \ud83d\ude00","reasoning_content":"think","reasoning":null}}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"refusal":"no","reasoning":"hm"},"finish_reason":"length","stop_reason":null}]}"#,
        // Azure's leading chunk, tool calls and an error (left to serde_json).
        r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}"#,
        r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{}"}}]}}]}"#,
        r#"{"error":{"message":"overloaded","type":"server_error"}}"#,
        r#"  { "id" : null , "model" : "m" , "choices" : null , "usage" : null }  "#,
    ];

    /// Every chunk the scanner reads, `serde_json` reads the same way; every chunk
    /// `serde_json` refuses, the scanner declines. Checked on the samples and on every
    /// change of one byte of them (replaced by each of a set of JSON-significant
    /// bytes, or deleted).
    #[test]
    fn reads_exactly_what_serde_json_reads_or_declines() {
        let mut read = 0;
        let mut checked = 0;
        let mut check = |text: &str| {
            checked += 1;
            let oracle = serde_json::from_str::<ChunkIn<'_>>(text);
            if let Some(chunk) = scan_chunk(text) {
                read += 1;
                let Ok(expected) = oracle else {
                    panic!("scanned what serde_json refuses: {text}");
                };
                assert_eq!(summary(&chunk), summary(&expected), "{text}");
            }
        };
        for sample in SAMPLES {
            check(sample);
            let bytes = sample.as_bytes();
            for at in 0..bytes.len() {
                for &byte in b"\"\\{}[],:n0-. ax\x01" {
                    let mut changed = bytes.to_vec();
                    changed[at] = byte;
                    if let Ok(text) = String::from_utf8(changed) {
                        check(&text);
                    }
                }
                let mut shorter = bytes.to_vec();
                shorter.remove(at);
                if let Ok(text) = String::from_utf8(shorter) {
                    check(&text);
                }
            }
        }
        assert!(checked > 20_000, "{checked}");
        assert!(read > 5_000, "the scanner reads most variants: {read}");
    }

    #[test]
    fn reads_the_usual_chunks_and_declines_the_rest() {
        for sample in &SAMPLES[..6] {
            assert!(scan_chunk(sample).is_some(), "{sample}");
        }
        for sample in &SAMPLES[7..9] {
            assert!(scan_chunk(sample).is_none(), "{sample}");
        }
        let content = scan_chunk(SAMPLES[4])
            .and_then(|c| c.choices)
            .and_then(|c| c.into_iter().next())
            .and_then(|c| c.delta)
            .and_then(|d| d.content);
        assert_eq!(content.as_deref(), Some("a\n\"b\" é 😀"), "escapes decoded");
    }
}
