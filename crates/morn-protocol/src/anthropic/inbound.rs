//! Inbound requests: an Anthropic Messages request body (`POST /v1/messages`) → a
//! canonical [`ChatRequest`].
//!
//! The body is read once into a map of raw field values, and each known field is then
//! parsed on its own, so every error names the field at fault (`messages.2.content.0`)
//! and fields Morn does not model are kept verbatim in `extra`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::content::{parse_content, parse_system};
use super::wire::{field_error, invalid_value, missing};
use crate::{ApiError, ChatRequest, Protocol, ResponseFormat, Tool, ToolChoice};

/// Parses an Anthropic Messages request. See the module docs of [`super`] for the error
/// codes.
pub fn parse_messages_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let mut fields: BTreeMap<String, &RawValue> = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::invalid_json("the request body must be a JSON object")
        } else {
            ApiError::invalid_json(e)
        }
    })?;
    // `null` means "not given" for every optional field, as in the official SDKs.
    fields.retain(|_, raw| raw.get() != "null");

    let mut req = ChatRequest {
        model: required::<String>(&mut fields, "model")?,
        max_tokens: Some(required::<u32>(&mut fields, "max_tokens")?),
        ..ChatRequest::default()
    };
    if req.model.is_empty() {
        return Err(invalid_value("model", "must not be empty"));
    }

    if let Some(raw) = fields.remove("system") {
        req.messages.extend(parse_system(raw)?);
    }
    let raw_messages = fields
        .remove("messages")
        .ok_or_else(|| missing("messages"))?;
    let messages: Vec<&RawValue> = parse("messages", raw_messages)?;
    if messages.is_empty() {
        return Err(invalid_value(
            "messages",
            "at least one message is required",
        ));
    }
    for (i, raw) in messages.into_iter().enumerate() {
        parse_message(i, raw, &mut req.messages)?;
    }

    req.stop = optional(&mut fields, "stop_sequences")?.unwrap_or_default();
    req.temperature = optional(&mut fields, "temperature")?;
    req.top_p = optional(&mut fields, "top_p")?;
    req.top_k = optional(&mut fields, "top_k")?;
    req.stream = optional(&mut fields, "stream")?.unwrap_or(false);
    // Anthropic streams always end with usage; the flag tells other layers so.
    req.include_usage = req.stream;
    if let Some(raw) = fields.remove("tools") {
        req.tools = parse_tools(raw)?;
    }
    if let Some(raw) = fields.remove("tool_choice") {
        let (choice, parallel) = parse_tool_choice(raw)?;
        req.tool_choice = Some(choice);
        req.parallel_tool_calls = parallel;
    }
    if let Some(raw) = fields.remove("metadata") {
        req.user = parse::<Metadata>("metadata", raw)?.user_id;
    }
    parse_thinking(&mut fields, &mut req)?;
    parse_output_format(&mut fields, &mut req)?;

    for (key, raw) in fields {
        let value: Value = serde_json::from_str(raw.get()).map_err(|e| field_error(&key, &e))?;
        req.extra.insert(key, value);
    }
    if !req.extra.is_empty() {
        req.extra_protocol = Some(Protocol::Anthropic);
    }
    Ok(req)
}

/// Parses one field value, naming it in the error.
pub(crate) fn parse<'a, T: Deserialize<'a>>(param: &str, raw: &'a RawValue) -> Result<T, ApiError> {
    serde_json::from_str(raw.get()).map_err(|e| field_error(param, &e))
}

fn required<'a, T: Deserialize<'a>>(
    fields: &mut BTreeMap<String, &'a RawValue>,
    name: &str,
) -> Result<T, ApiError> {
    let raw = fields.remove(name).ok_or_else(|| missing(name))?;
    parse(name, raw)
}

fn optional<'a, T: Deserialize<'a>>(
    fields: &mut BTreeMap<String, &'a RawValue>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    fields.remove(name).map(|raw| parse(name, raw)).transpose()
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    role: String,
    #[serde(borrow)]
    content: &'a RawValue,
}

fn parse_message(i: usize, raw: &RawValue, out: &mut Vec<crate::Message>) -> Result<(), ApiError> {
    let param = format!("messages.{i}");
    let msg: MessageIn<'_> = parse(&param, raw)?;
    let role = match msg.role.as_str() {
        "user" => crate::Role::User,
        "assistant" => crate::Role::Assistant,
        other => {
            return Err(invalid_value(
                &format!("{param}.role"),
                format!("unknown role `{other}`, expected `user` or `assistant`"),
            ));
        }
    };
    parse_content(&param, role, msg.content, out)
}

#[derive(Deserialize)]
struct ToolIn {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<Value>,
    #[serde(default)]
    strict: Option<bool>,
}

fn parse_tools(raw: &RawValue) -> Result<Vec<Tool>, ApiError> {
    let tools: Vec<&RawValue> = parse("tools", raw)?;
    let mut out = Vec::with_capacity(tools.len());
    for (i, raw) in tools.into_iter().enumerate() {
        let param = format!("tools.{i}");
        let tool: ToolIn = parse(&param, raw)?;
        if let Some(kind) = tool.kind.as_deref().filter(|k| *k != "custom") {
            return Err(ApiError::invalid(
                format!("{param}.type"),
                format!(
                    "{param}.type: server tool `{kind}` is not supported by this gateway; \
                     only custom tools (name, description, input_schema) are"
                ),
            )
            .with_code("unsupported_tool"));
        }
        let name = tool.name.ok_or_else(|| missing(&format!("{param}.name")))?;
        if name.is_empty() {
            return Err(invalid_value(&format!("{param}.name"), "must not be empty"));
        }
        let schema = tool
            .input_schema
            .ok_or_else(|| missing(&format!("{param}.input_schema")))?;
        if !schema.is_object() {
            return Err(super::wire::invalid_type(
                &format!("{param}.input_schema"),
                "an object",
            ));
        }
        out.push(Tool {
            name,
            description: tool.description,
            parameters: schema,
            strict: tool.strict,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ToolChoiceIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    disable_parallel_tool_use: Option<bool>,
}

fn parse_tool_choice(raw: &RawValue) -> Result<(ToolChoice, Option<bool>), ApiError> {
    let tc: ToolChoiceIn = parse("tool_choice", raw)?;
    let choice = match tc.kind.as_str() {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => {
            let name = tc.name.ok_or_else(|| missing("tool_choice.name"))?;
            ToolChoice::Tool { name }
        }
        other => {
            return Err(invalid_value(
                "tool_choice.type",
                format!("unknown tool choice `{other}`, expected auto, any, tool or none"),
            ));
        }
    };
    let parallel = tc.disable_parallel_tool_use.filter(|d| *d).map(|_| false);
    Ok((choice, parallel))
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Deserialize)]
struct ThinkingIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    budget_tokens: Option<u32>,
}

/// `thinking: {type: "enabled", budget_tokens}` becomes `thinking_budget`; `disabled`
/// means no thinking; any other type (newer API modes such as `adaptive`) stays in
/// `extra` so an Anthropic upstream still receives it.
fn parse_thinking(
    fields: &mut BTreeMap<String, &RawValue>,
    req: &mut ChatRequest,
) -> Result<(), ApiError> {
    let Some(raw) = fields.get("thinking").copied() else {
        return Ok(());
    };
    let thinking: ThinkingIn = parse("thinking", raw)?;
    match thinking.kind.as_str() {
        "enabled" => {
            let budget = thinking
                .budget_tokens
                .ok_or_else(|| missing("thinking.budget_tokens"))?;
            req.thinking_budget = Some(budget);
        }
        "disabled" => {}
        _ => return Ok(()),
    }
    fields.remove("thinking");
    Ok(())
}

#[derive(Deserialize)]
struct OutputFormatIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    schema: Option<Value>,
}

/// Structured outputs: `output_config.format` (and the deprecated beta `output_format`)
/// of type `json_schema` become `response_format`, so any upstream can honour them.
/// Other `output_config` members (such as `effort`) stay in `extra`.
fn parse_output_format(
    fields: &mut BTreeMap<String, &RawValue>,
    req: &mut ChatRequest,
) -> Result<(), ApiError> {
    if let Some(raw) = fields.remove("output_format") {
        req.response_format = Some(parse_format("output_format", raw)?);
    }
    let Some(raw) = fields.remove("output_config") else {
        return Ok(());
    };
    let mut config: Map<String, Value> = parse("output_config", raw)?;
    if let Some(format) = config.remove("format").filter(|f| !f.is_null()) {
        let format: OutputFormatIn =
            serde_json::from_value(format).map_err(|e| field_error("output_config.format", &e))?;
        req.response_format = Some(format_to_canonical("output_config.format", format)?);
    }
    if !config.is_empty() {
        req.extra
            .insert("output_config".to_owned(), Value::Object(config));
    }
    Ok(())
}

fn parse_format(param: &str, raw: &RawValue) -> Result<ResponseFormat, ApiError> {
    format_to_canonical(param, parse(param, raw)?)
}

fn format_to_canonical(param: &str, format: OutputFormatIn) -> Result<ResponseFormat, ApiError> {
    if format.kind != "json_schema" {
        return Err(invalid_value(
            &format!("{param}.type"),
            format!(
                "unknown output format `{}`, expected json_schema",
                format.kind
            ),
        ));
    }
    let schema = format
        .schema
        .ok_or_else(|| missing(&format!("{param}.schema")))?;
    Ok(ResponseFormat::JsonSchema {
        name: "response".to_owned(),
        schema,
        strict: Some(true),
    })
}
