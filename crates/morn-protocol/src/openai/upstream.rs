//! Upstream Chat Completions: canonical [`ChatRequest`] → the body Morn POSTs to an
//! OpenAI-compatible `{base}/chat/completions`.
//!
//! Mapping decisions:
//! - System → `system`, developer → `developer` (OpenAI's name for instructions to
//!   reasoning models; servers that do not know it are configured as their own
//!   provider kind, not patched here).
//! - Each `ToolResult` part becomes its own `role: "tool"` message, placed before any
//!   other content of the same canonical message, because OpenAI requires tool results
//!   to follow the assistant turn that made the calls. Tool results carry text only;
//!   images inside them are dropped (OpenAI tool messages cannot hold images).
//! - Thinking parts are dropped: OpenAI-compatible servers do not take reasoning back.
//! - A message with one text part is sent with string `content` (every server accepts
//!   it); several parts are sent as an array of parts.
//! - `top_k` and `thinking_budget` have no OpenAI field and are dropped.
//! - Streaming always sends `stream_options: {include_usage: true}`: Morn meters usage
//!   whether or not the client asked for it.
//! - The token limit goes out as `max_completion_tokens` for OpenAI reasoning models
//!   (`o1`, `o3`, `o4`, `gpt-5` prefixes) or when `reasoning_effort` is set, because
//!   those reject `max_tokens`; otherwise as `max_tokens`, the only name many
//!   OpenAI-compatible servers (older vLLM, llama.cpp, LM Studio) know.
//! - `tool_choice` and `parallel_tool_calls` are only sent with tools: OpenAI rejects
//!   them otherwise.
//! - `extra` is merged into the top level only when it came from an OpenAI client
//!   (`extra_protocol == OpenAi`), and never overrides a field Morn models.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::render::{FunctionOut, ToolCallOut};
use super::write_json;
use crate::{
    ApiError, ChatRequest, Message, Part, Protocol, ResponseFormat, Role, ToolChoice,
    write_json_string,
};

/// Top-level fields Morn sets or deliberately omits; `extra` never overrides them.
const MODELED_FIELDS: &[&str] = &[
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "n",
    "seed",
    "user",
    "stream",
    "stream_options",
    "reasoning_effort",
];

/// Whether the token limit must be sent as `max_completion_tokens` (see module docs).
pub fn uses_max_completion_tokens(upstream_model: &str, reasoning_effort: Option<&str>) -> bool {
    const PREFIXES: &[&str] = &["o1", "o3", "o4", "gpt-5"];
    reasoning_effort.is_some() || PREFIXES.iter().any(|p| upstream_model.starts_with(p))
}

/// The body to POST to `{base}/chat/completions`, with `model` = `upstream_model`.
pub fn encode_chat_request(req: &ChatRequest, upstream_model: &str) -> Result<Vec<u8>, ApiError> {
    let completion_tokens =
        uses_max_completion_tokens(upstream_model, req.reasoning_effort.as_deref());
    let has_tools = !req.tools.is_empty();
    let body = RequestOut {
        model: upstream_model,
        messages: messages(&req.messages),
        tools: req.tools.iter().map(ToolOut::from).collect(),
        tool_choice: req
            .tool_choice
            .as_ref()
            .filter(|_| has_tools)
            .map(ToolChoiceOut),
        parallel_tool_calls: req.parallel_tool_calls.filter(|_| has_tools),
        response_format: req.response_format.as_ref().map(ResponseFormatOut),
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens: req.max_tokens.filter(|_| !completion_tokens),
        max_completion_tokens: req.max_tokens.filter(|_| completion_tokens),
        stop: &req.stop,
        n: req.n,
        seed: req.seed,
        user: req.user.as_deref(),
        stream: req.stream,
        reasoning_effort: req.reasoning_effort.as_deref(),
        extra: ExtraOut(
            (req.extra_protocol == Some(Protocol::OpenAi)).then_some(&req.extra),
            MODELED_FIELDS,
        ),
    };
    let mut out = Vec::with_capacity(256);
    body.write(&mut out);
    Ok(out)
}

/// The request body. Written by hand ([`RequestOut::write`]), in the member order and
/// with the escaping `serde_json` gives, with `serde_json` only for the nested values
/// that vary (tools, formats, parts, pass-through values): every request goes out
/// through here, and `serde_json` spent ~4,000 instructions on a one-message request,
/// mostly escaping member names (callgrind, bench/README.md).
struct RequestOut<'a> {
    model: &'a str,
    messages: Vec<MessageOut<'a>>,
    tools: Vec<ToolOut<'a>>,
    tool_choice: Option<ToolChoiceOut<'a>>,
    parallel_tool_calls: Option<bool>,
    response_format: Option<ResponseFormatOut<'a>>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    stop: &'a [String],
    n: Option<u32>,
    seed: Option<i64>,
    user: Option<&'a str>,
    stream: bool,
    reasoning_effort: Option<&'a str>,
    extra: ExtraOut<'a>,
}

impl RequestOut<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"model\":");
        write_json_string(out, self.model);
        out.extend_from_slice(b",\"messages\":[");
        for (i, message) in self.messages.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            message.write(out);
        }
        out.push(b']');
        if !self.tools.is_empty() {
            member(out, "tools", &self.tools);
        }
        if let Some(choice) = &self.tool_choice {
            member(out, "tool_choice", choice);
        }
        if let Some(parallel) = self.parallel_tool_calls {
            member(out, "parallel_tool_calls", &parallel);
        }
        if let Some(format) = &self.response_format {
            member(out, "response_format", format);
        }
        if let Some(temperature) = self.temperature {
            member(out, "temperature", &temperature);
        }
        if let Some(top_p) = self.top_p {
            member(out, "top_p", &top_p);
        }
        if let Some(max) = self.max_tokens {
            int_member(out, "max_tokens", max.into());
        }
        if let Some(max) = self.max_completion_tokens {
            int_member(out, "max_completion_tokens", max.into());
        }
        if !self.stop.is_empty() {
            member(out, "stop", &self.stop);
        }
        if let Some(n) = self.n {
            int_member(out, "n", n.into());
        }
        if let Some(seed) = self.seed {
            member(out, "seed", &seed);
        }
        if let Some(user) = self.user {
            name(out, "user");
            write_json_string(out, user);
        }
        // Streams always ask for usage (see the module docs).
        out.extend_from_slice(if self.stream {
            b",\"stream\":true,\"stream_options\":{\"include_usage\":true}"
        } else {
            b",\"stream\":false"
        });
        if let Some(effort) = self.reasoning_effort {
            name(out, "reasoning_effort");
            write_json_string(out, effort);
        }
        let ExtraOut(extra, skip) = &self.extra;
        for (key, value) in extra.iter().copied().flatten() {
            if !skip.contains(&key.as_str()) {
                name(out, key);
                write_json(out, value);
            }
        }
        out.push(b'}');
    }
}

/// `,"<key>":`, escaped as `serde_json` would.
fn name(out: &mut Vec<u8>, key: &str) {
    out.push(b',');
    write_json_string(out, key);
    out.push(b':');
}

/// `,"<key>":<value>`, the value by `serde_json`.
fn member(out: &mut Vec<u8>, key: &str, value: &impl Serialize) {
    name(out, key);
    write_json(out, value);
}

/// `,"<key>":<integer>`.
fn int_member(out: &mut Vec<u8>, key: &str, value: u64) {
    name(out, key);
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Pass-through fields, minus the ones in the skip list. Serialized as map entries
/// into the enclosing object (`#[serde(flatten)]`).
pub(crate) struct ExtraOut<'a>(
    pub Option<&'a Map<String, Value>>,
    pub &'static [&'static str],
);

impl Serialize for ExtraOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.0.into_iter().flatten() {
            if !self.1.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

struct MessageOut<'a> {
    role: &'static str,
    content: ContentOut<'a>,
    name: Option<&'a str>,
    tool_calls: Vec<ToolCallOut<'a>>,
    tool_call_id: Option<&'a str>,
}

impl MessageOut<'_> {
    /// `{"role":…,"content":…}` and the optional members, as [`RequestOut::write`].
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"role\":\"");
        out.extend_from_slice(self.role.as_bytes());
        out.extend_from_slice(b"\",\"content\":");
        match &self.content {
            ContentOut::Null => out.extend_from_slice(b"null"),
            ContentOut::Text(text) => write_json_string(out, text),
            ContentOut::Parts(parts) => write_json(out, parts),
        }
        if let Some(who) = self.name {
            name(out, "name");
            write_json_string(out, who);
        }
        if !self.tool_calls.is_empty() {
            member(out, "tool_calls", &self.tool_calls);
        }
        if let Some(id) = self.tool_call_id {
            name(out, "tool_call_id");
            write_json_string(out, id);
        }
        out.push(b'}');
    }
}

enum ContentOut<'a> {
    /// An assistant turn with only tool calls.
    Null,
    Text(&'a str),
    Parts(Vec<PartOut<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PartOut<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrlOut<'a> },
}

#[derive(Serialize)]
struct ImageUrlOut<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// One string when there is a single text part, else an array of parts.
fn content<'a>(parts: Vec<PartOut<'a>>) -> ContentOut<'a> {
    match parts.as_slice() {
        [] => ContentOut::Text(""),
        [PartOut::Text { text }] => ContentOut::Text(text),
        _ => ContentOut::Parts(parts),
    }
}

fn messages(input: &[Message]) -> Vec<MessageOut<'_>> {
    let mut out = Vec::with_capacity(input.len());
    for msg in input {
        let mut parts = Vec::new();
        let mut tool_calls = Vec::new();
        for part in &msg.content {
            match part {
                Part::Text { text } => parts.push(PartOut::Text { text }),
                Part::Image { url, detail } => parts.push(PartOut::ImageUrl {
                    image_url: ImageUrlOut {
                        url,
                        detail: detail.as_deref(),
                    },
                }),
                Part::ToolCall(call) => tool_calls.push(ToolCallOut {
                    id: &call.id,
                    kind: "function",
                    function: FunctionOut {
                        name: &call.name,
                        arguments: &call.arguments,
                    },
                }),
                Part::ToolResult {
                    tool_call_id,
                    content: result,
                    ..
                } => {
                    out.push(tool_result(tool_call_id, result));
                }
                Part::Thinking { .. } => {}
            }
        }
        let role = match msg.role {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            // Text that came along with tool results (Anthropic puts both in one user
            // turn) follows them as a user message.
            Role::Tool if parts.is_empty() => continue,
            Role::Tool => "user",
        };
        let content = match (msg.role, parts.is_empty(), tool_calls.is_empty()) {
            (Role::Assistant, true, false) => ContentOut::Null,
            (Role::Assistant | Role::User, _, _) => content(parts),
            // Instructions are text; an image there is not accepted by OpenAI.
            _ => content(
                parts
                    .into_iter()
                    .filter(|p| matches!(p, PartOut::Text { .. }))
                    .collect(),
            ),
        };
        out.push(MessageOut {
            role,
            content,
            name: msg.name.as_deref(),
            tool_calls,
            tool_call_id: None,
        });
    }
    out
}

fn tool_result<'a>(tool_call_id: &'a str, result: &'a [Part]) -> MessageOut<'a> {
    let parts = result
        .iter()
        .filter_map(|p| match p {
            Part::Text { text } => Some(PartOut::Text { text }),
            _ => None,
        })
        .collect();
    MessageOut {
        role: "tool",
        content: content(parts),
        name: None,
        tool_calls: Vec::new(),
        tool_call_id: Some(tool_call_id),
    }
}

#[derive(Serialize)]
struct ToolOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionDefOut<'a>,
}

#[derive(Serialize)]
struct FunctionDefOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Value::is_null")]
    parameters: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
}

impl<'a> From<&'a crate::Tool> for ToolOut<'a> {
    fn from(t: &'a crate::Tool) -> Self {
        Self {
            kind: "function",
            function: FunctionDefOut {
                name: &t.name,
                description: t.description.as_deref(),
                parameters: &t.parameters,
                strict: t.strict,
            },
        }
    }
}

struct ToolChoiceOut<'a>(&'a ToolChoice);

impl Serialize for ToolChoiceOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ToolChoice::Auto => s.serialize_str("auto"),
            ToolChoice::None => s.serialize_str("none"),
            ToolChoice::Required => s.serialize_str("required"),
            ToolChoice::Tool { name } => {
                #[derive(Serialize)]
                struct Named<'a> {
                    #[serde(rename = "type")]
                    kind: &'static str,
                    function: NameOnly<'a>,
                }
                #[derive(Serialize)]
                struct NameOnly<'a> {
                    name: &'a str,
                }
                Named {
                    kind: "function",
                    function: NameOnly { name },
                }
                .serialize(s)
            }
        }
    }
}

struct ResponseFormatOut<'a>(&'a ResponseFormat);

impl Serialize for ResponseFormatOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Schema<'a> {
            name: &'a str,
            schema: &'a Value,
            #[serde(skip_serializing_if = "Option::is_none")]
            strict: Option<bool>,
        }
        let mut map = s.serialize_map(None)?;
        match self.0 {
            ResponseFormat::Text => map.serialize_entry("type", "text")?,
            ResponseFormat::JsonObject => map.serialize_entry("type", "json_object")?,
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                map.serialize_entry("type", "json_schema")?;
                map.serialize_entry(
                    "json_schema",
                    &Schema {
                        name,
                        schema,
                        strict: *strict,
                    },
                )?;
            }
        }
        map.end()
    }
}
