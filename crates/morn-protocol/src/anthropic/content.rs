//! Inbound message content: Anthropic content blocks (text, image, tool_use,
//! tool_result, thinking) → canonical parts, and the `system` field → a system message.
//!
//! A user turn that mixes `tool_result` blocks with other blocks is split, in order,
//! into canonical `Tool` messages (consecutive results share one) and `User` messages,
//! because canonical tool results live in their own role.

use serde_json::value::RawValue;

use super::inbound::parse;
use super::wire::{BlockIn, ImageSourceIn, invalid_type, invalid_value, missing};
use crate::media::data_uri;
use crate::{ApiError, Message, Part, Role, ToolCall};

/// `system`: a string or an array of text blocks (their `cache_control` is ignored).
/// Blocks are joined with blank lines into one leading system message; an empty system
/// prompt adds no message.
pub(crate) fn parse_system(raw: &RawValue) -> Result<Option<Message>, ApiError> {
    let text = match first_byte(raw) {
        b'"' => parse::<String>("system", raw)?,
        b'[' => {
            let blocks: Vec<BlockIn<'_>> = parse("system", raw)?;
            let mut texts = Vec::with_capacity(blocks.len());
            for (i, block) in blocks.into_iter().enumerate() {
                let param = format!("system.{i}");
                if block.kind != "text" {
                    return Err(invalid_value(
                        &format!("{param}.type"),
                        format!("system blocks must be text blocks, got `{}`", block.kind),
                    ));
                }
                texts.push(
                    block
                        .text
                        .ok_or_else(|| missing(&format!("{param}.text")))?,
                );
            }
            texts.join("\n\n")
        }
        _ => {
            return Err(invalid_type(
                "system",
                "a string or an array of text blocks",
            ));
        }
    };
    Ok((!text.is_empty()).then(|| Message::text(Role::System, text)))
}

/// Converts one message's `content` (a string or an array of blocks) and appends the
/// resulting canonical message(s) to `out`.
pub(crate) fn parse_content(
    param: &str,
    role: Role,
    raw: &RawValue,
    out: &mut Vec<Message>,
) -> Result<(), ApiError> {
    let content_param = format!("{param}.content");
    match first_byte(raw) {
        b'"' => {
            let text: String = parse(&content_param, raw)?;
            out.push(Message::text(role, text));
            Ok(())
        }
        b'[' => {
            let blocks: Vec<&RawValue> = parse(&content_param, raw)?;
            let mut current = Message {
                role,
                content: Vec::with_capacity(blocks.len()),
                name: None,
            };
            let mut pushed_any = false;
            for (j, raw) in blocks.into_iter().enumerate() {
                let block_param = format!("{content_param}.{j}");
                let block: BlockIn<'_> = parse(&block_param, raw)?;
                let Some(part) = block_to_part(&block_param, role, block)? else {
                    continue;
                };
                // User turns: tool results go to Tool messages, everything else to User
                // messages, switching whenever the kind of block changes.
                let part_role = match (&part, role) {
                    (Part::ToolResult { .. }, _) => Role::Tool,
                    _ => role,
                };
                if part_role != current.role {
                    let next = Message {
                        role: part_role,
                        content: Vec::new(),
                        name: None,
                    };
                    let done = std::mem::replace(&mut current, next);
                    if !done.content.is_empty() {
                        out.push(done);
                        pushed_any = true;
                    }
                }
                current.content.push(part);
            }
            // An empty turn is kept as such: it is the client's to send and the
            // upstream's to judge.
            if !current.content.is_empty() || !pushed_any {
                out.push(current);
            }
            Ok(())
        }
        _ => Err(invalid_type(
            &content_param,
            "a string or an array of content blocks",
        )),
    }
}

/// One content block → a canonical part (`None` for blocks that are dropped:
/// `redacted_thinking`, which only Anthropic itself can read).
fn block_to_part(param: &str, role: Role, block: BlockIn<'_>) -> Result<Option<Part>, ApiError> {
    let part = match block.kind.as_ref() {
        "text" => Part::Text {
            text: block
                .text
                .ok_or_else(|| missing(&format!("{param}.text")))?,
        },
        "image" => image_part(param, block.source)?,
        "tool_use" => {
            if role != Role::Assistant {
                return Err(invalid_value(
                    param,
                    "tool_use blocks may only appear in assistant turns",
                ));
            }
            let id = block.id.ok_or_else(|| missing(&format!("{param}.id")))?;
            let name = block
                .name
                .ok_or_else(|| missing(&format!("{param}.name")))?;
            let arguments = match block.input {
                Some(input) if input.get().starts_with('{') => input.get().to_owned(),
                None => "{}".to_owned(),
                Some(_) => return Err(invalid_type(&format!("{param}.input"), "an object")),
            };
            Part::ToolCall(ToolCall {
                id,
                name,
                arguments,
            })
        }
        "tool_result" => {
            if role != Role::User {
                return Err(invalid_value(
                    param,
                    "tool_result blocks may only appear in user turns",
                ));
            }
            let tool_call_id = block
                .tool_use_id
                .ok_or_else(|| missing(&format!("{param}.tool_use_id")))?;
            let content = match block.content {
                Some(raw) => tool_result_content(&format!("{param}.content"), raw)?,
                None => Vec::new(),
            };
            Part::ToolResult {
                tool_call_id,
                name: None,
                content,
                is_error: block.is_error.unwrap_or(false),
            }
        }
        "thinking" => Part::Thinking {
            text: block
                .thinking
                .ok_or_else(|| missing(&format!("{param}.thinking")))?,
            signature: block.signature,
        },
        "redacted_thinking" => return Ok(None),
        other => {
            return Err(invalid_value(
                &format!("{param}.type"),
                format!(
                    "content block type `{other}` is not supported; expected text, image, \
                     tool_use, tool_result, thinking or redacted_thinking"
                ),
            ));
        }
    };
    Ok(Some(part))
}

/// `tool_result.content`: a string, or an array of text and image blocks.
fn tool_result_content(param: &str, raw: &RawValue) -> Result<Vec<Part>, ApiError> {
    match first_byte(raw) {
        b'"' => Ok(vec![Part::Text {
            text: parse(param, raw)?,
        }]),
        b'[' => {
            let blocks: Vec<BlockIn<'_>> = parse(param, raw)?;
            let mut parts = Vec::with_capacity(blocks.len());
            for (k, block) in blocks.into_iter().enumerate() {
                let block_param = format!("{param}.{k}");
                match block.kind.as_ref() {
                    "text" => parts.push(Part::Text {
                        text: block
                            .text
                            .ok_or_else(|| missing(&format!("{block_param}.text")))?,
                    }),
                    "image" => parts.push(image_part(&block_param, block.source)?),
                    other => {
                        return Err(invalid_value(
                            &format!("{block_param}.type"),
                            format!("tool result blocks must be text or image, got `{other}`"),
                        ));
                    }
                }
            }
            Ok(parts)
        }
        _ => Err(invalid_type(
            param,
            "a string or an array of content blocks",
        )),
    }
}

/// `image.source` → an image part: base64 sources become `data:` URIs.
fn image_part(param: &str, source: Option<&RawValue>) -> Result<Part, ApiError> {
    let source_param = format!("{param}.source");
    let source: ImageSourceIn =
        parse(&source_param, source.ok_or_else(|| missing(&source_param))?)?;
    let url = match source.kind.as_str() {
        "base64" => {
            let media_type = source
                .media_type
                .ok_or_else(|| missing(&format!("{source_param}.media_type")))?;
            let data = source
                .data
                .ok_or_else(|| missing(&format!("{source_param}.data")))?;
            data_uri(&media_type, &data)
        }
        "url" => source
            .url
            .ok_or_else(|| missing(&format!("{source_param}.url")))?,
        other => {
            return Err(invalid_value(
                &format!("{source_param}.type"),
                format!("image source type `{other}` is not supported; expected base64 or url"),
            ));
        }
    };
    Ok(Part::Image { url, detail: None })
}

/// The first byte of a raw JSON value (serde_json strips surrounding whitespace).
fn first_byte(raw: &RawValue) -> u8 {
    raw.get().as_bytes().first().copied().unwrap_or(b' ')
}
