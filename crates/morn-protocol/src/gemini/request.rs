//! Canonical `ChatRequest` → Gemini `GenerateContentRequest` body.
//!
//! The body is serialized straight into bytes from types that borrow the canonical
//! request; only tool results are copied (they must become JSON objects).

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::wire::{
    Blob, Content, FileData, FunctionCallOut, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponseOut, FunctionResult, GenerateContentRequest, GenerationConfig, PartOut,
    ThinkingConfig, ToolConfig, ToolOut,
};
use super::{ids, json};
use crate::media::parse_data_uri;
use crate::{ApiError, ChatRequest, Message, Part, ResponseFormat, Role, ToolChoice};

/// Gemini's documented escape hatch for a replayed function call that has no thought
/// signature (history from another provider, or a client that rebuilt the ids):
/// Gemini 3 would otherwise reject the request with 400.
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// See [`super::encode_generate_request`].
pub(super) fn encode(req: &ChatRequest) -> Result<Vec<u8>, ApiError> {
    let body = GenerateContentRequest {
        contents: contents(&req.messages)?,
        system_instruction: system_instruction(&req.messages),
        tools: tools(req),
        tool_config: tool_config(req),
        generation_config: generation_config(req),
    };
    serde_json::to_vec(&body).map_err(|e| ApiError::invalid("messages", e.to_string()))
}

fn system_instruction(messages: &[Message]) -> Option<Content<'_>> {
    let parts: Vec<PartOut<'_>> = messages
        .iter()
        .filter(|m| matches!(m.role, Role::System | Role::Developer))
        .flat_map(|m| &m.content)
        .filter_map(|p| match p {
            Part::Text { text } => Some(PartOut {
                text: Some(text),
                ..PartOut::default()
            }),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then_some(Content { role: None, parts })
}

/// The conversation as `user` / `model` turns, consecutive same-role turns merged.
fn contents(messages: &[Message]) -> Result<Vec<Content<'_>>, ApiError> {
    // Tool results may omit the function name; Gemini needs it, so it is looked up
    // from the tool call with the same id earlier in the conversation.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    let mut out: Vec<Content<'_>> = Vec::with_capacity(messages.len());
    for message in messages {
        let role = match message.role {
            Role::System | Role::Developer => continue,
            Role::User | Role::Tool => "user",
            Role::Assistant => "model",
        };
        let mut parts = Vec::with_capacity(message.content.len());
        for part in &message.content {
            encode_part(part, &mut call_names, &mut parts)?;
        }
        if parts.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == Some(role) => last.parts.append(&mut parts),
            _ => out.push(Content {
                role: Some(role),
                parts,
            }),
        }
    }
    for content in &mut out {
        if content.role == Some("model") {
            sign_first_call(content);
        }
    }
    Ok(out)
}

/// Gives the first function call of a model turn the validator-skip signature when no
/// call of the turn carries a real one.
fn sign_first_call(content: &mut Content<'_>) {
    let calls = || content.parts.iter().filter(|p| p.function_call.is_some());
    if calls().next().is_none() || calls().any(|p| p.thought_signature.is_some()) {
        return;
    }
    if let Some(first) = content.parts.iter_mut().find(|p| p.function_call.is_some()) {
        first.thought_signature = Some(SKIP_SIGNATURE.to_owned());
    }
}

fn encode_part<'a>(
    part: &'a Part,
    call_names: &mut HashMap<&'a str, &'a str>,
    out: &mut Vec<PartOut<'a>>,
) -> Result<(), ApiError> {
    match part {
        Part::Text { text } => out.push(PartOut {
            text: Some(text),
            ..PartOut::default()
        }),
        Part::Image { url, .. } => out.push(image(url)?),
        Part::ToolCall(call) => {
            call_names.insert(&call.id, &call.name);
            let args = arguments(&call.arguments, &call.name)?;
            out.push(PartOut {
                function_call: Some(FunctionCallOut {
                    name: &call.name,
                    args,
                }),
                thought_signature: ids::signature_of(&call.id),
                ..PartOut::default()
            });
        }
        Part::ToolResult {
            tool_call_id,
            name,
            content,
            is_error,
        } => {
            let name = match name.as_deref() {
                Some(name) => name,
                None => call_names
                    .get(tool_call_id.as_str())
                    .copied()
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "messages",
                            format!(
                                "Tool result '{tool_call_id}' does not match any earlier tool call."
                            ),
                        )
                    })?,
            };
            let mut text = String::new();
            for part in content {
                if let Part::Text { text: t } = part {
                    text.push_str(t);
                }
            }
            let response = function_result(text, *is_error);
            out.push(PartOut {
                function_response: Some(FunctionResponseOut { name, response }),
                ..PartOut::default()
            });
            // Images a tool returned follow its response in the same turn.
            for part in content {
                if let Part::Image { url, .. } = part {
                    out.push(image(url)?);
                }
            }
        }
        // Thought summaries are not replayed: Gemini only needs the signatures, which
        // travel with the tool-call ids.
        Part::Thinking { .. } => {}
    }
    Ok(())
}

/// Tool-call arguments as a raw JSON object (empty text counts as `{}`).
fn arguments<'a>(text: &'a str, name: &str) -> Result<&'a RawValue, ApiError> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    let invalid = || {
        ApiError::invalid(
            "messages",
            format!("The arguments of the call to tool '{name}' are not a JSON object."),
        )
    };
    let raw: &RawValue = serde_json::from_str(text).map_err(|_| invalid())?;
    if !raw.get().starts_with('{') {
        return Err(invalid());
    }
    Ok(raw)
}

/// `functionResponse.response` must be an object: a JSON-object result is sent as is,
/// anything else as `{"result": text}`, a failure as `{"error": text}`.
fn function_result(text: String, is_error: bool) -> FunctionResult {
    if is_error {
        return FunctionResult::Error { error: text };
    }
    if text.trim_start().starts_with('{')
        && let Ok(raw) = serde_json::from_str::<Box<RawValue>>(text.trim())
    {
        return FunctionResult::Object(raw);
    }
    FunctionResult::Result { result: text }
}

fn image(url: &str) -> Result<PartOut<'_>, ApiError> {
    if let Some((mime_type, data)) = parse_data_uri(url) {
        return Ok(PartOut {
            inline_data: Some(Blob { mime_type, data }),
            ..PartOut::default()
        });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        let file_data = FileData {
            mime_type: guess_mime(url),
            file_uri: url,
        };
        return Ok(PartOut {
            file_data: Some(file_data),
            ..PartOut::default()
        });
    }
    Err(ApiError::invalid(
        "messages",
        "Images must be https URLs or base64 data URIs (data:<mime>;base64,<data>).",
    ))
}

/// `fileData` needs a MIME type; guess it from the path's extension.
fn guess_mime(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => "image/jpeg",
    }
}

fn tools(req: &ChatRequest) -> Vec<ToolOut<'_>> {
    if req.tools.is_empty() {
        return Vec::new();
    }
    let function_declarations = req
        .tools
        .iter()
        .map(|tool| FunctionDeclaration {
            name: &tool.name,
            description: tool.description.as_deref(),
            parameters_json_schema: json::has_parameters(&tool.parameters)
                .then_some(&tool.parameters),
        })
        .collect();
    vec![ToolOut {
        function_declarations,
    }]
}

fn tool_config(req: &ChatRequest) -> Option<ToolConfig<'_>> {
    if req.tools.is_empty() {
        return None;
    }
    let (mode, allowed_function_names) = match req.tool_choice.as_ref()? {
        ToolChoice::Auto => ("AUTO", None),
        ToolChoice::None => ("NONE", None),
        ToolChoice::Required => ("ANY", None),
        ToolChoice::Tool { name } => ("ANY", Some([name.as_str()])),
    };
    Some(ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode,
            allowed_function_names,
        },
    })
}

fn generation_config(req: &ChatRequest) -> GenerationConfig<'_> {
    let (response_mime_type, response_json_schema) = match &req.response_format {
        None | Some(ResponseFormat::Text) => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => (Some("application/json"), Some(schema)),
    };
    GenerationConfig {
        stop_sequences: &req.stop,
        response_mime_type,
        response_json_schema,
        candidate_count: req.n,
        max_output_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        // Gemini seeds are int32; a wider seed is truncated, which keeps it
        // deterministic per client seed.
        seed: req.seed.map(|s| s as i32),
        thinking_config: thinking_config(req),
    }
}

/// An explicit budget wins; otherwise `reasoning_effort` maps to a budget
/// (low 1024, medium 8192, high 24576 tokens; minimal/none turn thinking off).
/// Thought summaries are requested whenever thinking is on, so Anthropic clients get
/// their thinking blocks. Unknown efforts leave the model's default.
fn thinking_config(req: &ChatRequest) -> Option<ThinkingConfig> {
    let budget = match (req.thinking_budget, req.reasoning_effort.as_deref()) {
        (Some(budget), _) => budget,
        (None, Some("minimal" | "none")) => 0,
        (None, Some("low")) => 1024,
        (None, Some("medium")) => 8192,
        (None, Some("high" | "xhigh")) => 24576,
        (None, _) => return None,
    };
    Some(ThinkingConfig {
        thinking_budget: budget,
        include_thoughts: (budget > 0).then_some(true),
    })
}
