//! Inbound Chat Completions: canonical [`ChatResponse`] → an OpenAI `chat.completion`.

use std::borrow::Cow;

use serde::Serialize;

use super::usage::WireUsageOut;
use super::{finish_reason_str, to_vec};
use crate::{ChatResponse, Choice, Part};

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    model: &'a str,
    choices: Vec<ChoiceOut<'a>>,
    usage: WireUsageOut,
}

#[derive(Serialize)]
struct ChoiceOut<'a> {
    index: u32,
    message: MessageOut<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    /// `null` when the answer has no text (a pure tool call), as OpenAI sends it.
    /// Borrowed from the answer unless several parts must be joined.
    content: Option<Cow<'a, str>>,
    refusal: Option<()>,
    /// Thinking in the clear, under the name OpenRouter, DeepSeek and vLLM use.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallOut<'a>>,
    annotations: [(); 0],
}

/// `{"id","type":"function","function":{"name","arguments"}}`, shared with the
/// upstream request encoder.
#[derive(Serialize)]
pub(crate) struct ToolCallOut<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionOut<'a>,
}

#[derive(Serialize)]
pub(crate) struct FunctionOut<'a> {
    pub name: &'a str,
    pub arguments: &'a str,
}

/// Renders a complete answer as OpenAI's `chat.completion` object.
pub fn render_chat_response(resp: &ChatResponse) -> Vec<u8> {
    to_vec(&Completion {
        id: &resp.id,
        object: "chat.completion",
        created: resp.created,
        model: &resp.model,
        choices: resp.choices.iter().map(choice).collect(),
        usage: WireUsageOut::from(&resp.usage),
    })
}

/// Appends `part` to `joined`, copying only from the second part on.
fn join<'a>(joined: &mut Option<Cow<'a, str>>, part: &'a str) {
    match joined {
        None => *joined = Some(Cow::Borrowed(part)),
        Some(text) => text.to_mut().push_str(part),
    }
}

fn choice(c: &Choice) -> ChoiceOut<'_> {
    let mut text: Option<Cow<'_, str>> = None;
    let mut thinking: Option<Cow<'_, str>> = None;
    let mut tool_calls = Vec::new();
    for part in &c.message.content {
        match part {
            Part::Text { text: t } => join(&mut text, t),
            Part::Thinking { text: t, .. } => join(&mut thinking, t),
            Part::ToolCall(call) => tool_calls.push(ToolCallOut {
                id: &call.id,
                kind: "function",
                function: FunctionOut {
                    name: &call.name,
                    arguments: &call.arguments,
                },
            }),
            Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    ChoiceOut {
        index: c.index,
        message: MessageOut {
            role: "assistant",
            content: text,
            refusal: None,
            reasoning_content: thinking,
            tool_calls,
            annotations: [],
        },
        logprobs: None,
        finish_reason: finish_reason_str(c.finish_reason),
    }
}
