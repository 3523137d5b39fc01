//! OpenAI in, OpenAI out: a non-streamed answer relayed as the upstream's own bytes.
//!
//! When a client speaks OpenAI and the upstream does too, decoding the answer into the
//! canonical form and rendering it again costs a fifth of the gateway's own work per
//! request (measured with callgrind, bench/README.md) and changes nothing the client
//! sees. [`check_relay`] reads only what Morn needs (the usage, where the `model` value
//! is, whether a choice was filtered) without copying any text, and accepts the body
//! only when it is exactly what [`decode_chat_response`](super::decode_chat_response)
//! plus [`render_chat_response`](super::render_chat_response) would give back apart from
//! fields they drop (`logprobs`, `system_fingerprint`, ...). Anything they would
//! normalise (an error object, missing usage, reasoning under a vendor's name, content
//! as parts, a refusal, legacy `function_call`, tool calls without ids, an unknown
//! finish reason) takes the decode path instead. The relayed body differs from the
//! upstream's in one place: `model` names the Morn model that answered.

use std::ops::Range;

use super::usage::WireUsageIn;
use crate::Usage;
use crate::json_scan::{Cursor, Seen};

/// What Morn keeps of an answer it relays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// Token counts as the upstream reported them (never all zero).
    pub usage: Usage,
    /// Some choice ended with `content_filter`.
    pub content_filtered: bool,
    /// Byte range of the top-level `model` value (quotes included).
    model_at: Range<usize>,
}

/// Whether `body` can be relayed as it is (see the module docs), and what Morn needs
/// from it. `None`: decode it instead.
///
/// One pass with [`Cursor`], which validates the whole body as JSON while reading only
/// the fields below; a field given twice, or a key or read value needing unescaping,
/// also means "decode it": the decoder then has the last word.
pub fn check_relay(body: &[u8]) -> Option<Relay> {
    simdutf8::basic::from_utf8(body).ok()?;
    let mut cursor = Cursor::new(body);
    let mut top = Top::default();
    cursor.object(|cursor, key| top.member(cursor, key))?;
    if !(cursor.at_end() && top.id && top.object && top.created && top.choices > 0) {
        return None;
    }
    Some(Relay {
        usage: top.usage?,
        content_filtered: top.content_filtered,
        model_at: top.model?,
    })
}

/// What the top-level members said, as they are read.
#[derive(Default)]
struct Top {
    /// `id`: a non-empty plain string.
    id: bool,
    /// `object` is `"chat.completion"`.
    object: bool,
    /// `created`: a non-zero integer.
    created: bool,
    model: Option<Range<usize>>,
    /// Choices read, each relayable.
    choices: usize,
    content_filtered: bool,
    /// Never all zero.
    usage: Option<Usage>,
    /// Members read, to refuse one given twice (as the decoder does).
    seen: Seen,
}

impl Top {
    fn member(&mut self, cursor: &mut Cursor<'_>, key: &[u8]) -> Option<()> {
        let bit = match key {
            b"id" => 1,
            b"object" => 2,
            b"created" => 4,
            b"model" => 8,
            b"choices" => 16,
            b"usage" => 32,
            b"error" => 64,
            _ => return cursor.value().map(drop),
        };
        self.seen.first(bit)?;
        match key {
            b"id" => self.id = !cursor.string()?.plain()?.is_empty(),
            b"object" => self.object = cursor.string()?.plain()? == b"chat.completion",
            b"created" => self.created = cursor.int()? != 0,
            b"model" => {
                if cursor.peek()? != b'"' {
                    return None;
                }
                self.model = Some(cursor.value()?);
            }
            b"choices" => cursor.array(|cursor| {
                self.content_filtered |= choice(cursor)?;
                self.choices += 1;
                Some(())
            })?,
            b"usage" => {
                let usage = Usage::from(WireUsageIn::scan(cursor)?);
                if usage.input_tokens + usage.output_tokens == 0 {
                    return None;
                }
                self.usage = Some(usage);
            }
            // Only an absent or null `error` may be relayed.
            _ => cursor.null().then_some(())?,
        }
        Some(())
    }
}

/// One choice, relayable or `None`; whether it ended with `content_filter`.
fn choice(cursor: &mut Cursor<'_>) -> Option<bool> {
    let mut message = None;
    let mut finish = None;
    cursor.object(|cursor, key| match key {
        b"message" if message.is_none() => {
            message = Some(self::message(cursor)?);
            Some(())
        }
        b"finish_reason" if finish.is_none() => {
            finish = Some(cursor.string()?.plain()?);
            Some(())
        }
        b"message" | b"finish_reason" => None,
        _ => cursor.value().map(drop),
    })?;
    let Message { plain_text, calls } = message?;
    let filtered = match finish? {
        b"stop" | b"length" if calls == 0 => false,
        b"tool_calls" if calls > 0 => false,
        b"content_filter" => true,
        _ => return None,
    };
    // Text, or no content beside tool calls.
    (plain_text == Some(true) || (plain_text.is_none() && calls > 0)).then_some(filtered)
}

/// What a relayable message holds.
struct Message {
    /// `Some(true)`: non-empty string content; `Some(false)`: other content; `None`:
    /// content null or absent.
    plain_text: Option<bool>,
    /// Tool calls, each with an id.
    calls: usize,
}

/// A message, `None` unless relayable: no reasoning, refusal or legacy function call
/// to normalise, tool calls only with ids.
fn message(cursor: &mut Cursor<'_>) -> Option<Message> {
    let mut plain_text = None;
    let mut calls = 0;
    let mut seen = Seen::default();
    cursor.object(|cursor, key| {
        let bit = match key {
            b"content" => 1,
            b"tool_calls" => 2,
            b"reasoning" => 4,
            b"refusal" => 8,
            b"function_call" => 16,
            _ => return cursor.value().map(drop),
        };
        seen.first(bit)?;
        if bit > 2 {
            // Reasoning, a refusal or a legacy call would need normalising.
            return cursor.null().then_some(());
        }
        if bit == 1 {
            if !cursor.null() {
                let is_string = cursor.peek()? == b'"';
                let span = cursor.value()?;
                plain_text = Some(is_string && span.len() > 2);
            }
            return Some(());
        }
        if cursor.null() {
            return Some(());
        }
        cursor.array(|cursor| {
            let mut id = None;
            cursor.object(|cursor, key| match key {
                b"id" if id.is_none() => {
                    id = Some(!cursor.null() && !cursor.string()?.plain()?.is_empty());
                    Some(())
                }
                b"id" => None,
                _ => cursor.value().map(drop),
            })?;
            calls += 1;
            id.filter(|&has| has).map(drop)
        })
    })?;
    Some(Message { plain_text, calls })
}

impl Relay {
    /// The upstream's body with `model` set to `model`.
    pub fn render(&self, body: &[u8], model: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + model.len());
        out.extend_from_slice(&body[..self.model_at.start]);
        super::write_json(&mut out, &model);
        out.extend_from_slice(&body[self.model_at.end..]);
        out
    }
}

#[cfg(test)]
mod oracle;

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(message: &str, finish: &str) -> String {
        format!(
            r#"{{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{{"index":0,"message":{message},"logprobs":null,"finish_reason":"{finish}"}}],"usage":{{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{{"cached_tokens":4}}}},"system_fingerprint":"fp_1"}}"#
        )
    }

    #[test]
    fn relays_a_plain_answer_with_only_the_model_renamed() -> Result<(), Box<dyn std::error::Error>>
    {
        let body = answer(
            r#"{"role":"assistant","content":"Hi \"there\"","refusal":null}"#,
            "stop",
        );
        let relay = check_relay(body.as_bytes()).ok_or("not relayed")?;
        assert_eq!(relay.usage.input_tokens, 9);
        assert_eq!(relay.usage.output_tokens, 3);
        assert_eq!(relay.usage.cache_read_tokens, 4);
        assert!(!relay.content_filtered);
        let out = String::from_utf8(relay.render(body.as_bytes(), "my-\"model\""))?;
        assert_eq!(
            out,
            body.replace(r#""gpt-4o-2024-08-06""#, r#""my-\"model\"""#)
        );
        let value: serde_json::Value = serde_json::from_str(&out)?;
        assert_eq!(value["model"], "my-\"model\"");
        assert_eq!(value["system_fingerprint"], "fp_1");
        Ok(())
    }

    #[test]
    fn relays_tool_calls_with_ids_and_flags_filtered_answers() {
        let calls = r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}"#;
        assert!(check_relay(answer(calls, "tool_calls").as_bytes()).is_some());
        let filtered = answer(
            r#"{"role":"assistant","content":"partial"}"#,
            "content_filter",
        );
        assert!(check_relay(filtered.as_bytes()).is_some_and(|r| r.content_filtered));
    }

    #[test]
    fn leaves_anything_to_normalise_to_the_decoder() {
        let cases = [
            answer(
                r#"{"role":"assistant","content":"x","reasoning":"hmm"}"#,
                "stop",
            ),
            answer(
                r#"{"role":"assistant","content":[{"type":"text","text":"x"}]}"#,
                "stop",
            ),
            answer(
                r#"{"role":"assistant","content":null,"refusal":"no"}"#,
                "stop",
            ),
            answer(
                r#"{"role":"assistant","content":"","function_call":{"name":"f","arguments":"{}"}}"#,
                "function_call",
            ),
            answer(
                r#"{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}"#,
                "tool_calls",
            ),
            answer(
                r#"{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}"#,
                "stop",
            ),
            answer(r#"{"role":"assistant","content":"x"}"#, "eos"),
            answer(r#"{"role":"assistant","content":""}"#, "stop"),
            answer(r#"{"role":"assistant","content":"x"}"#, "stop").replace(
                r#""prompt_tokens":9,"completion_tokens":3"#,
                r#""prompt_tokens":0,"completion_tokens":0"#,
            ),
            answer(r#"{"role":"assistant","content":"x"}"#, "stop")
                .replace(r#""created":1700000000,"#, ""),
            answer(r#"{"role":"assistant","content":"x"}"#, "stop")
                .replace(r#""object":"chat.completion","#, ""),
            r#"{"error":{"message":"boom"},"choices":[]}"#.to_owned(),
            "not json".to_owned(),
        ];
        for body in cases {
            assert_eq!(check_relay(body.as_bytes()), None, "{body}");
        }
    }

    /// Bodies the decoder also reads, each changed one byte at a time: whatever the
    /// scanner accepts, the `serde_json` version of the check (the first
    /// implementation, kept as the oracle) accepts with the same result. The scanner
    /// may refuse more (keys with escapes), never less.
    #[test]
    fn never_accepts_what_the_serde_check_refuses() {
        let bodies = [
            answer(
                r#"{"role":"assistant","content":"Hi \"there\" \u00e9"}"#,
                "stop",
            ),
            answer(
                r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}"#,
                "tool_calls",
            ),
            answer(
                r#"{"role":"assistant","content":"cut","refusal":null}"#,
                "content_filter",
            ),
            answer(r#"{"role":"assistant","content":"x"}"#, "length").replace(
                r#""prompt_tokens_details":{"cached_tokens":4}"#,
                r#""prompt_tokens_details":null,"prompt_cache_hit_tokens":7,"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":null}"#,
            ),
        ];
        let replacements: &[u8] = b" \"\\{}[],:0-1.eEtfnul\tx";
        let mut accepted = 0;
        for body in &bodies {
            let base = check_relay(body.as_bytes());
            assert!(base.is_some(), "{body}");
            assert_eq!(base, oracle::check_relay(body.as_bytes()));
            let bytes = body.as_bytes();
            for at in 0..bytes.len() {
                for &with in replacements {
                    let mut changed = bytes.to_vec();
                    changed[at] = with;
                    let ours = check_relay(&changed);
                    if ours.is_some() {
                        accepted += 1;
                        assert_eq!(
                            ours,
                            oracle::check_relay(&changed),
                            "{}",
                            String::from_utf8_lossy(&changed)
                        );
                    }
                }
                let mut cut = bytes.to_vec();
                cut.remove(at);
                if let Some(ours) = check_relay(&cut) {
                    assert_eq!(Some(ours), oracle::check_relay(&cut));
                }
            }
        }
        // The changes inside strings and numbers keep most bodies relayable.
        assert!(accepted > 1000, "{accepted}");
    }

    #[test]
    fn refuses_what_the_decoder_would_refuse_or_read_differently() {
        let ok = answer(r#"{"role":"assistant","content":"x"}"#, "stop");
        let cases = [
            format!("{ok} x"),
            ok.replace(r#""id":"chatcmpl-1""#, r#""id":"chatcmpl-1","id":"again""#),
            ok.replace(r#""id":"chatcmpl-1""#, r#""\u0069d":"chatcmpl-1""#),
            ok.replace(r#""content":"x""#, r#""content":"x","content":"y""#),
            ok.replace(
                r#""content":"x""#,
                r#""content":"x","reasoning":null,"reasoning":null"#,
            ),
            ok.replace(r#""created":1700000000"#, r#""created":1.7e9"#),
            ok.replace(r#""created":1700000000"#, r#""created":null"#),
            ok.replace(r#""model":"gpt-4o-2024-08-06""#, r#""model":null"#),
            ok.replace(
                r#""finish_reason":"stop""#,
                r#""finish_reason":"st\u006fp""#,
            ),
            ok.replace(
                r#""index":0,"#,
                &(r#""index":0,"deep":"#.to_owned() + &"[".repeat(130) + &"]".repeat(130) + ","),
            ),
            ok.replace("x", "\u{1}"),
        ];
        for body in cases {
            assert_eq!(check_relay(body.as_bytes()), None, "{body}");
        }
        // Bytes that are not UTF-8, inside a string.
        let mut bytes = ok.into_bytes();
        let at = bytes.iter().position(|&b| b == b'x').unwrap_or_default();
        bytes[at] = 0xff;
        assert_eq!(check_relay(&bytes), None);
    }
}
