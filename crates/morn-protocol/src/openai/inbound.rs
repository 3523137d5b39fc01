//! Inbound Chat Completions: an OpenAI request body → canonical [`ChatRequest`].
//!
//! The body is deserialized once, without path tracking (the hot path). Only when that
//! fails is it deserialized again through `serde_path_to_error` to name the field at
//! fault; the error codes are documented in [`super::error`].

use serde_json::{Map, Value};

use super::error::{invalid_value, missing, request_error};
use super::inbound_wire::{
    WireContent, WireMessage, WirePart, WireRequest, WireResponseFormat, WireRole, WireTool,
    WireToolCall, WireToolChoice,
};
use crate::{
    ApiError, ChatRequest, Message, Part, Protocol, ResponseFormat, Role, Tool, ToolCall,
    ToolChoice,
};

/// Parses a `/v1/chat/completions` body. Unknown top-level fields go untouched into
/// `extra` (with `extra_protocol = OpenAi`). Bad input is a 400 whose `param` names the
/// field and whose `code` is `invalid_json`, `missing_field`, `invalid_type` or
/// `invalid_value`.
pub fn parse_chat_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let wire = deserialize(body)?;
    convert(wire)
}

pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let err = match serde_json::from_slice::<T>(body) {
        Ok(v) => return Ok(v),
        Err(err) => err,
    };
    if err.is_syntax() || err.is_eof() || err.is_io() {
        return Err(request_error(&err, "."));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => Err(request_error(e.inner(), &e.path().to_string())),
        // Cannot happen (same input, same type); report the first error without a path.
        Ok(_) => Err(request_error(&err, ".")),
    }
}

fn convert(wire: WireRequest) -> Result<ChatRequest, ApiError> {
    let model = match wire.model {
        Some(m) if !m.is_empty() => m,
        Some(_) => return Err(invalid_value("model", "'model' must not be empty.")),
        None => return Err(missing("model")),
    };
    let messages = match wire.messages {
        Some(m) if !m.is_empty() => convert_messages(m)?,
        Some(_) => {
            return Err(invalid_value(
                "messages",
                "'messages' must contain at least one message.",
            ));
        }
        None => return Err(missing("messages")),
    };
    check_range("temperature", wire.temperature, 0.0, 2.0)?;
    check_range("top_p", wire.top_p, 0.0, 1.0)?;
    check_positive("n", wire.n)?;
    check_positive("max_tokens", wire.max_tokens)?;
    check_positive("max_completion_tokens", wire.max_completion_tokens)?;
    let tools = match wire.tools {
        Some(tools) => convert_tools(tools)?,
        None => Vec::new(),
    };
    let tool_choice = wire.tool_choice.map(convert_tool_choice).transpose()?;
    let extra_protocol = (!wire.extra.is_empty()).then_some(Protocol::OpenAi);
    Ok(ChatRequest {
        model,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: wire.parallel_tool_calls,
        response_format: wire.response_format.map(convert_response_format),
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: None,
        max_tokens: wire.max_completion_tokens.or(wire.max_tokens),
        stop: wire.stop.map(|s| s.0).unwrap_or_default(),
        n: wire.n,
        seed: wire.seed,
        user: wire.user,
        stream: wire.stream.unwrap_or(false),
        include_usage: wire
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        reasoning_effort: wire.reasoning_effort,
        thinking_budget: None,
        extra: wire.extra,
        extra_protocol,
    })
}

fn check_range(param: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), ApiError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(invalid_value(
            param,
            format!("Invalid value for '{param}': {v} is not between {min} and {max}."),
        )),
        _ => Ok(()),
    }
}

fn check_positive(param: &str, value: Option<u32>) -> Result<(), ApiError> {
    match value {
        Some(0) => Err(invalid_value(
            param,
            format!("Invalid value for '{param}': it must be at least 1."),
        )),
        _ => Ok(()),
    }
}

fn convert_messages(wire: Vec<WireMessage>) -> Result<Vec<Message>, ApiError> {
    let mut out = Vec::with_capacity(wire.len());
    for (i, msg) in wire.into_iter().enumerate() {
        let converted = match msg.role {
            WireRole::System => instruction(Role::System, msg, i)?,
            WireRole::Developer => instruction(Role::Developer, msg, i)?,
            WireRole::User => user(msg, i)?,
            WireRole::Assistant => assistant(msg, i)?,
            WireRole::Tool => tool(msg, i, &out)?,
            WireRole::Function => function_result(msg, i)?,
        };
        out.push(converted);
    }
    Ok(out)
}

/// System and developer messages: text only.
fn instruction(role: Role, msg: WireMessage, i: usize) -> Result<Message, ApiError> {
    let content = text_parts(msg.content, i)?;
    Ok(Message {
        role,
        content,
        name: msg.name,
    })
}

fn user(msg: WireMessage, i: usize) -> Result<Message, ApiError> {
    let content = match msg.content {
        None => return Err(missing(&format!("messages[{i}].content"))),
        Some(WireContent::Text(text)) => vec![Part::Text { text }],
        Some(WireContent::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (j, part) in parts.into_iter().enumerate() {
                out.push(match part {
                    WirePart::Text { text } => Part::Text { text },
                    WirePart::ImageUrl { image_url } => {
                        let (url, detail) = image_url.into_parts();
                        Part::Image { url, detail }
                    }
                    WirePart::Refusal { .. } => {
                        return Err(invalid_value(
                            &format!("messages[{i}].content[{j}].type"),
                            "Refusal parts are only allowed in assistant messages.",
                        ));
                    }
                });
            }
            out
        }
    };
    Ok(Message {
        role: Role::User,
        content,
        name: msg.name,
    })
}

/// Text-only content (system, developer, tool): a string or `text` parts.
fn text_parts(content: Option<WireContent>, i: usize) -> Result<Vec<Part>, ApiError> {
    match content {
        None => Err(missing(&format!("messages[{i}].content"))),
        Some(WireContent::Text(text)) => Ok(vec![Part::Text { text }]),
        Some(WireContent::Parts(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(j, part)| match part {
                WirePart::Text { text } => Ok(Part::Text { text }),
                _ => Err(invalid_value(
                    &format!("messages[{i}].content[{j}].type"),
                    format!("Only text content parts are allowed in messages[{i}]."),
                )),
            })
            .collect(),
    }
}

fn assistant(msg: WireMessage, i: usize) -> Result<Message, ApiError> {
    let mut content = Vec::new();
    match msg.content {
        Some(WireContent::Text(text)) if !text.is_empty() => content.push(Part::Text { text }),
        Some(WireContent::Text(_)) | None => {}
        Some(WireContent::Parts(parts)) => {
            for (j, part) in parts.into_iter().enumerate() {
                match part {
                    WirePart::Text { text } | WirePart::Refusal { refusal: text } => {
                        content.push(Part::Text { text });
                    }
                    WirePart::ImageUrl { .. } => {
                        return Err(invalid_value(
                            &format!("messages[{i}].content[{j}].type"),
                            "Image parts are not allowed in assistant messages.",
                        ));
                    }
                }
            }
        }
    }
    for (j, call) in msg.tool_calls.into_iter().flatten().enumerate() {
        content.push(Part::ToolCall(tool_call(call, i, j)?));
    }
    if let Some(call) = msg.function_call {
        content.push(Part::ToolCall(ToolCall {
            id: legacy_call_id(&call.name),
            name: call.name,
            arguments: call.arguments.0,
        }));
    }
    if content.is_empty() {
        return Err(missing(&format!("messages[{i}].content")));
    }
    Ok(Message {
        role: Role::Assistant,
        content,
        name: msg.name,
    })
}

fn tool_call(call: WireToolCall, i: usize, j: usize) -> Result<ToolCall, ApiError> {
    if let Some(kind) = call.kind.as_deref().filter(|k| *k != "function") {
        return Err(invalid_value(
            &format!("messages[{i}].tool_calls[{j}].type"),
            format!("Unsupported tool call type '{kind}'; only 'function' is supported."),
        ));
    }
    Ok(ToolCall {
        id: call.id,
        name: call.function.name,
        arguments: call.function.arguments.0,
    })
}

/// A `role: "tool"` message. The called tool's name is looked up from the assistant
/// turns before it, because Gemini upstreams need it and OpenAI does not send it.
fn tool(msg: WireMessage, i: usize, earlier: &[Message]) -> Result<Message, ApiError> {
    let Some(tool_call_id) = msg.tool_call_id else {
        return Err(missing(&format!("messages[{i}].tool_call_id")));
    };
    let content = text_parts(msg.content, i)?;
    let name = earlier
        .iter()
        .rev()
        .flat_map(|m| &m.content)
        .find_map(|p| match p {
            Part::ToolCall(c) if c.id == tool_call_id => Some(c.name.clone()),
            _ => None,
        });
    Ok(Message {
        role: Role::Tool,
        content: vec![Part::ToolResult {
            tool_call_id,
            name,
            content,
            is_error: false,
        }],
        name: None,
    })
}

/// Legacy `role: "function"` (the answer to an assistant `function_call`).
fn function_result(msg: WireMessage, i: usize) -> Result<Message, ApiError> {
    let Some(name) = msg.name else {
        return Err(missing(&format!("messages[{i}].name")));
    };
    let content = text_parts(msg.content, i)?;
    Ok(Message {
        role: Role::Tool,
        content: vec![Part::ToolResult {
            tool_call_id: legacy_call_id(&name),
            name: Some(name),
            content,
            is_error: false,
        }],
        name: None,
    })
}

/// Legacy function calls have no ids; the call and its result are paired by name.
fn legacy_call_id(name: &str) -> String {
    format!("call_{name}")
}

fn convert_tools(tools: Vec<WireTool>) -> Result<Vec<Tool>, ApiError> {
    tools
        .into_iter()
        .enumerate()
        .map(|(i, tool)| {
            if tool.kind != "function" {
                return Err(invalid_value(
                    &format!("tools[{i}].type"),
                    format!(
                        "Unsupported tool type '{}'; only 'function' is supported.",
                        tool.kind
                    ),
                ));
            }
            let Some(f) = tool.function else {
                return Err(missing(&format!("tools[{i}].function")));
            };
            Ok(Tool {
                name: f.name,
                description: f.description,
                parameters: f.parameters.unwrap_or_else(empty_object_schema),
                strict: f.strict,
            })
        })
        .collect()
}

/// OpenAI treats a function without `parameters` as taking no arguments.
fn empty_object_schema() -> Value {
    let mut schema = Map::new();
    schema.insert("type".into(), Value::String("object".into()));
    schema.insert("properties".into(), Value::Object(Map::new()));
    Value::Object(schema)
}

fn convert_tool_choice(choice: WireToolChoice) -> Result<ToolChoice, ApiError> {
    match choice {
        WireToolChoice::Mode(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(invalid_value(
                "tool_choice",
                format!(
                    "Invalid value for 'tool_choice': '{other}'. Supported values are: 'none', 'auto' and 'required'."
                ),
            )),
        },
        WireToolChoice::Named(named) => {
            if named.kind != "function" {
                return Err(invalid_value(
                    "tool_choice.type",
                    format!(
                        "Unsupported tool_choice type '{}'; only 'function' is supported.",
                        named.kind
                    ),
                ));
            }
            match named.function {
                Some(f) => Ok(ToolChoice::Tool { name: f.name }),
                None => Err(missing("tool_choice.function")),
            }
        }
    }
}

fn convert_response_format(format: WireResponseFormat) -> ResponseFormat {
    match format {
        WireResponseFormat::Text => ResponseFormat::Text,
        WireResponseFormat::JsonObject => ResponseFormat::JsonObject,
        WireResponseFormat::JsonSchema { json_schema } => ResponseFormat::JsonSchema {
            name: json_schema.name,
            schema: json_schema
                .schema
                .unwrap_or_else(|| Value::Object(Map::new())),
            strict: json_schema.strict,
        },
    }
}

impl super::inbound_wire::WireImageUrl {
    fn into_parts(self) -> (String, Option<String>) {
        match self {
            Self::Object { url, detail } => (url, detail),
            Self::Url(url) => (url, None),
        }
    }
}
