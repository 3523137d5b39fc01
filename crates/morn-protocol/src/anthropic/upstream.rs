//! Upstream requests: a canonical [`ChatRequest`] → an Anthropic Messages request body.
//!
//! - System and developer messages become the top-level `system` (joined with blank
//!   lines), wherever they appear in the conversation.
//! - Tool messages become user turns of `tool_result` blocks; consecutive turns of the
//!   same role are merged (Anthropic wants user and assistant to alternate), and in a
//!   merged user turn the `tool_result` blocks come first, as Anthropic requires.
//! - `max_tokens` is required by Anthropic: 4096 when the request has none.
//! - `reasoning_effort` without an explicit `thinking_budget` becomes a thinking budget:
//!   `minimal`/`low` → 1024, `medium` → 4096, `high`/`xhigh`/`max` → 16384, `none` → no
//!   thinking. A derived budget is kept below `max_tokens` (Anthropic rejects a budget
//!   that is not); when `max_tokens` is 1024 or less there is no room and thinking stays off.
//! - `response_format: json_schema` uses Anthropic's native structured outputs,
//!   `output_config.format = {type: "json_schema", schema}` (generally available; the
//!   older beta `output_format` field is deprecated). `json_object` has no native form:
//!   an instruction is appended to the system prompt instead.
//! - `seed` is dropped (Anthropic has none); `n > 1` is refused.
//! - `extra` is merged only when it came from an Anthropic client, and never overrides a
//!   field Morn set (`output_config` members are merged one level deep).

use serde::Serialize;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::wire::{BlockOut, ImageSourceOut, arguments_object, invalid_value, write_json};
use crate::media::parse_data_uri;
use crate::{ApiError, ChatRequest, Part, Protocol, ResponseFormat, Role, ToolChoice};

/// `max_tokens` when the request sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Appended to the system prompt for `response_format: json_object`.
pub const JSON_OBJECT_INSTRUCTION: &str = "Respond with a single JSON object and nothing else.";

/// The schema of a tool that takes no arguments.
static EMPTY_SCHEMA: LazyLock<Value> =
    LazyLock::new(|| serde_json::json!({"type": "object", "properties": {}}));

#[derive(Serialize)]
struct RequestOut<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    messages: Vec<TurnOut<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoiceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<MetadataOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<ThinkingOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    /// Caller fields Morn does not model, minus every key Morn set above.
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl RequestOut<'_> {
    /// Whether Morn itself wrote `key`, so `extra` must not.
    fn sets(&self, key: &str) -> bool {
        match key {
            "model" | "max_tokens" | "messages" => true,
            "system" => self.system.is_some(),
            "stop_sequences" => !self.stop_sequences.is_empty(),
            "temperature" => self.temperature.is_some(),
            "top_p" => self.top_p.is_some(),
            "top_k" => self.top_k.is_some(),
            "tools" => !self.tools.is_empty(),
            "tool_choice" => self.tool_choice.is_some(),
            "metadata" => self.metadata.is_some(),
            "thinking" => self.thinking.is_some(),
            "output_config" => self.output_config.is_some(),
            "stream" => self.stream,
            _ => false,
        }
    }
}

#[derive(Serialize)]
struct TurnOut<'a> {
    role: &'static str,
    content: Vec<BlockOut<'a>>,
}

#[derive(Serialize)]
struct ToolOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
}

#[derive(Serialize)]
struct ToolChoiceOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disable_parallel_tool_use: bool,
}

#[derive(Serialize)]
struct MetadataOut<'a> {
    user_id: &'a str,
}

#[derive(Serialize)]
struct ThinkingOut {
    #[serde(rename = "type")]
    kind: &'static str,
    budget_tokens: u32,
}

/// Encodes a canonical request as an Anthropic Messages body for `upstream_model`.
pub fn encode_messages_request(
    req: &ChatRequest,
    upstream_model: &str,
) -> Result<Vec<u8>, ApiError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(
            ApiError::invalid("n", "n > 1 is not supported by this model's provider")
                .with_code("unsupported_parameter"),
        );
    }
    let (mut system, messages) = convert_messages(req)?;
    if matches!(req.response_format, Some(ResponseFormat::JsonObject)) {
        system = Some(match system {
            Some(s) => format!("{s}\n\n{JSON_OBJECT_INSTRUCTION}"),
            None => JSON_OBJECT_INSTRUCTION.to_owned(),
        });
    }
    let thinking = thinking_budget(req)?;
    let max_tokens = match (req.max_tokens, thinking) {
        (Some(max), _) => max,
        // Leave the default room for the answer on top of the thinking budget.
        (None, Some(budget)) => budget.saturating_add(DEFAULT_MAX_TOKENS),
        (None, None) => DEFAULT_MAX_TOKENS,
    };
    let extra = match req.extra_protocol {
        Some(Protocol::Anthropic) => Some(&req.extra),
        _ => None,
    };
    let mut body = RequestOut {
        model: upstream_model,
        max_tokens,
        system,
        messages,
        stop_sequences: &req.stop,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        tools: req
            .tools
            .iter()
            .map(|t| ToolOut {
                name: &t.name,
                description: t.description.as_deref(),
                // Tools without parameters (OpenAI allows them) still need a schema.
                input_schema: if t.parameters.is_null() {
                    &EMPTY_SCHEMA
                } else {
                    &t.parameters
                },
                strict: t.strict.filter(|s| *s),
            })
            .collect(),
        tool_choice: tool_choice(req),
        metadata: req.user.as_deref().map(|user_id| MetadataOut { user_id }),
        thinking: thinking.map(|budget_tokens| ThinkingOut {
            kind: "enabled",
            budget_tokens,
        }),
        output_config: output_config(req, extra),
        stream: req.stream,
        extra: Map::new(),
    };
    if let Some(extra) = extra {
        body.extra = extra
            .iter()
            .filter(|(k, _)| !body.sets(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
    let mut out = Vec::with_capacity(512);
    write_json(&mut out, &body);
    Ok(out)
}

/// Splits the conversation into the `system` text and alternating turns.
fn convert_messages(req: &ChatRequest) -> Result<(Option<String>, Vec<TurnOut<'_>>), ApiError> {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<TurnOut<'_>> = Vec::with_capacity(req.messages.len());
    for (i, msg) in req.messages.iter().enumerate() {
        let role = match msg.role {
            Role::System | Role::Developer => {
                let text = msg.joined_text();
                if !text.is_empty() {
                    system.push(text);
                }
                continue;
            }
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let mut blocks = Vec::with_capacity(msg.content.len());
        for part in &msg.content {
            if let Some(block) = part_to_block(i, msg.role, part)? {
                blocks.push(block);
            }
        }
        if blocks.is_empty() {
            // Anthropic rejects empty turns (an assistant turn that held only unsigned
            // thinking, for instance).
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => turns.push(TurnOut {
                role,
                content: blocks,
            }),
        }
    }
    for turn in &mut turns {
        if turn.role == "user" {
            // Stable: tool results keep their order, and so does everything else.
            turn.content
                .sort_by_key(|b| !matches!(b, BlockOut::ToolResult { .. }));
        }
    }
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    Ok((system, turns))
}

/// One canonical part → an Anthropic block (`None` for parts Anthropic cannot take:
/// empty text, thinking without a signature).
fn part_to_block(i: usize, role: Role, part: &Part) -> Result<Option<BlockOut<'_>>, ApiError> {
    let block = match part {
        Part::Text { text } if text.is_empty() => return Ok(None),
        Part::Text { text } => BlockOut::Text { text },
        Part::Image { url, .. } => image_block(i, url)?,
        Part::ToolCall(call) => BlockOut::ToolUse {
            id: &call.id,
            name: &call.name,
            input: arguments_object(&call.arguments).ok_or_else(|| {
                invalid_value(
                    &format!("messages.{i}"),
                    format!(
                        "invalid tool arguments for tool call `{}`: not a JSON object",
                        call.id
                    ),
                )
                .with_code("invalid_tool_arguments")
            })?,
        },
        Part::ToolResult {
            tool_call_id,
            content,
            is_error,
            ..
        } => {
            let mut blocks = Vec::with_capacity(content.len());
            for part in content {
                match part {
                    Part::Text { text } if !text.is_empty() => blocks.push(BlockOut::Text { text }),
                    Part::Image { url, .. } => blocks.push(image_block(i, url)?),
                    _ => {}
                }
            }
            BlockOut::ToolResult {
                tool_use_id: tool_call_id,
                content: blocks,
                is_error: *is_error,
            }
        }
        Part::Thinking {
            text,
            signature: Some(signature),
        } if role == Role::Assistant => BlockOut::Thinking {
            thinking: text,
            signature,
        },
        Part::Thinking { .. } => return Ok(None),
    };
    Ok(Some(block))
}

fn image_block(i: usize, url: &str) -> Result<BlockOut<'_>, ApiError> {
    let source = if let Some((media_type, data)) = parse_data_uri(url) {
        ImageSourceOut::Base64 { media_type, data }
    } else if url.starts_with("https://") || url.starts_with("http://") {
        ImageSourceOut::Url { url }
    } else {
        return Err(invalid_value(
            &format!("messages.{i}"),
            "images must be https URLs or base64 data URIs",
        ));
    };
    Ok(BlockOut::Image { source })
}

fn tool_choice(req: &ChatRequest) -> Option<ToolChoiceOut<'_>> {
    let disable_parallel = req.parallel_tool_calls == Some(false);
    let (kind, name) = match &req.tool_choice {
        Some(ToolChoice::Auto) => ("auto", None),
        Some(ToolChoice::Required) => ("any", None),
        Some(ToolChoice::Tool { name }) => ("tool", Some(name.as_str())),
        // `none` takes no other member.
        Some(ToolChoice::None) => {
            return Some(ToolChoiceOut {
                kind: "none",
                name: None,
                disable_parallel_tool_use: false,
            });
        }
        // Parallelism can only be limited through a tool choice: `auto` is the default.
        None if disable_parallel && !req.tools.is_empty() => ("auto", None),
        None => return None,
    };
    Some(ToolChoiceOut {
        kind,
        name,
        disable_parallel_tool_use: disable_parallel,
    })
}

/// The thinking budget: explicit, else derived from `reasoning_effort` (see module docs).
fn thinking_budget(req: &ChatRequest) -> Result<Option<u32>, ApiError> {
    if let Some(budget) = req.thinking_budget {
        return Ok(Some(budget));
    }
    let Some(effort) = req.reasoning_effort.as_deref() else {
        return Ok(None);
    };
    let budget: u32 = match effort {
        "none" => return Ok(None),
        "minimal" | "low" => 1024,
        "medium" => 4096,
        "high" | "xhigh" | "max" => 16384,
        other => {
            return Err(invalid_value(
                "reasoning_effort",
                format!(
                    "unknown reasoning effort `{other}`, expected none, minimal, low, medium or high"
                ),
            ));
        }
    };
    Ok(match req.max_tokens {
        Some(max) if max <= 1024 => None,
        Some(max) => Some(budget.min(max - 1)),
        None => Some(budget),
    })
}

/// `output_config`: the caller's own (Anthropic clients only) with Morn's `format`.
fn output_config(
    req: &ChatRequest,
    extra: Option<&Map<String, Value>>,
) -> Option<Map<String, Value>> {
    let mut config = match extra.and_then(|e| e.get("output_config")) {
        Some(Value::Object(config)) => config.clone(),
        _ => Map::new(),
    };
    if let Some(ResponseFormat::JsonSchema { schema, .. }) = &req.response_format {
        let mut format = Map::new();
        format.insert("type".to_owned(), Value::String("json_schema".to_owned()));
        format.insert("schema".to_owned(), schema.clone());
        config.insert("format".to_owned(), Value::Object(format));
    }
    (!config.is_empty()).then_some(config)
}
