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

use serde::Deserialize;
use serde_json::value::RawValue;

use super::usage::WireUsageIn;
use crate::Usage;

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

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(default, borrow)]
    id: Option<&'a str>,
    #[serde(default, borrow)]
    object: Option<&'a str>,
    #[serde(default, borrow)]
    model: Option<&'a RawValue>,
    #[serde(default)]
    created: Option<i64>,
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceIn<'a>>>,
    #[serde(default)]
    usage: Option<WireUsageIn>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChoiceIn<'a> {
    #[serde(default, borrow)]
    message: Option<MessageIn<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<&'a str>,
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    reasoning: Option<&'a RawValue>,
    #[serde(default, borrow)]
    refusal: Option<&'a RawValue>,
    #[serde(default, borrow)]
    function_call: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallIn<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallIn<'a> {
    #[serde(default, borrow)]
    id: Option<&'a str>,
}

/// Whether `body` can be relayed as it is (see the module docs), and what Morn needs
/// from it. `None`: decode it instead.
pub fn check_relay(body: &[u8]) -> Option<Relay> {
    let answer: Answer<'_> = serde_json::from_slice(body).ok()?;
    if answer.error.is_some_and(|e| e.get() != "null")
        || answer.created.unwrap_or(0) == 0
        || answer.id.is_none_or(str::is_empty)
        || answer.object != Some("chat.completion")
    {
        return None;
    }
    let model = answer.model.filter(|m| m.get().starts_with('"'))?;
    let choices = answer.choices.filter(|c| !c.is_empty())?;
    let usage = Usage::from(answer.usage?);
    if usage.input_tokens + usage.output_tokens == 0 {
        return None;
    }
    let mut content_filtered = false;
    for choice in &choices {
        let message = choice.message.as_ref()?;
        let calls = message.tool_calls.as_deref().unwrap_or_default();
        let reason = choice.finish_reason?;
        match reason {
            "stop" | "length" if calls.is_empty() => {}
            "tool_calls" if !calls.is_empty() => {}
            "content_filter" => content_filtered = true,
            _ => return None,
        }
        let is_null = |v: Option<&RawValue>| v.is_none_or(|v| v.get() == "null");
        let content = message.content.map_or("null", RawValue::get);
        let plain_text = content.starts_with('"') && content != "\"\"";
        if !(plain_text || (content == "null" && !calls.is_empty()))
            || !is_null(message.reasoning)
            || !is_null(message.refusal)
            || !is_null(message.function_call)
            || calls.iter().any(|c| c.id.is_none_or(str::is_empty))
        {
            return None;
        }
    }
    Some(Relay {
        usage,
        content_filtered,
        model_at: span_of(body, model.get())?,
    })
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

/// Where `part`, a slice borrowed from `body`, lies in it.
fn span_of(body: &[u8], part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= body.len()).then_some(start..end)
}

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
}
