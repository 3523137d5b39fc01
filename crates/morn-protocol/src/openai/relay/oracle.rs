//! The relay check as first written, with `serde_json` and borrowed fields: the
//! oracle the scanner in `relay.rs` is tested against.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::usage::WireUsageIn;
use std::ops::Range;

use super::Relay;
use crate::Usage;

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

/// The check as first written, with `serde_json`.
pub(super) fn check_relay(body: &[u8]) -> Option<Relay> {
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

/// Where `part`, a slice borrowed from `body`, lies in it.
fn span_of(body: &[u8], part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= body.len()).then_some(start..end)
}
