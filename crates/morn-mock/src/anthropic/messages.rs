//! `POST /v1/messages` (and `count_tokens`): request parsing into a `Prompt`,
//! the `message` object and the named-event SSE stream.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{bad_request, check_auth, fault};
use crate::directives::{self, Directives};
use crate::model::{self, Answer, Finish, Prompt, ToolChoice, ToolSpec};
use crate::routes::effective;
use crate::sse::{self, Pacing, json_status, named_event};
use crate::text::{self, hash64};
use crate::{AppState, faults};

const BROKEN: &[u8] =
    b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_del\n\n";

struct Params {
    model: String,
    stream: bool,
}

/// Shared front half of `messages` and `count_tokens`.
fn prepare(headers: &HeaderMap, body: &[u8]) -> Result<(Prompt, Params, Value), Response> {
    check_auth(headers)?;
    if !headers.contains_key("anthropic-version") {
        return Err(bad_request("anthropic-version: header is required"));
    }
    let v = serde_json::from_slice::<Value>(body).map_err(|e| {
        bad_request(&format!(
            "There was an error parsing the body of your request: {e}"
        ))
    })?;
    let mut prompt = Prompt::new();
    let params = parse(&v, &mut prompt).map_err(|m| bad_request(&m))?;
    if let Some(e) = &prompt.found.error {
        return Err(bad_request(e));
    }
    Ok((prompt, params, v))
}

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let hdr = match directives::from_headers(&headers) {
        Ok(h) => h,
        Err(e) => return bad_request(&e),
    };
    let (prompt, params, v) = match prepare(&headers, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if v.get("max_tokens").and_then(Value::as_u64).is_none() {
        return bad_request("max_tokens: Field required");
    }
    let (d, key) = effective(&state, &prompt.found, hdr);
    if let Some(f) = faults::before_response(&state, &d, &key).await {
        return fault(f);
    }
    let answer = model::generate(&prompt, &d, 0);
    let id = format!("msg_{}", text::hex(state.next_id()));
    let tool_ids: Vec<String> = (0..answer.tool_calls.len())
        .map(|j| {
            format!(
                "toolu_{}",
                text::hex(text::mix(hash64(id.as_bytes()).wrapping_add(j as u64)))
            )
        })
        .collect();
    let usage = Usage::new(&prompt, &answer, &d);
    if params.stream {
        let events = stream_events(&id, &params.model, &answer, &tool_ids, &d, &usage);
        sse::stream_response(events, Pacing::from_directives(&d), BROKEN)
    } else {
        let body = message(&id, &params.model, &answer, &tool_ids, &usage);
        sse::json_response(body.to_string().into_bytes(), &d)
    }
}

pub async fn count_tokens(headers: HeaderMap, body: Bytes) -> Response {
    match prepare(&headers, &body) {
        Ok((prompt, _, _)) => json_status(
            StatusCode::OK,
            json!({ "input_tokens": prompt.input_tokens })
                .to_string()
                .into_bytes(),
        ),
        Err(r) => r,
    }
}

fn parse(v: &Value, p: &mut Prompt) -> Result<Params, String> {
    let obj = v.as_object().ok_or("request body must be a JSON object")?;
    let model = obj
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model: Field required")?
        .to_string();
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages: Field required")?;
    // Native structured outputs: `output_config.format` (and the deprecated beta
    // `output_format`) with a JSON schema make the answer a schema instance.
    let format = obj
        .get("output_config")
        .and_then(|c| c.get("format"))
        .or_else(|| obj.get("output_format"));
    if let Some(schema) = format
        .filter(|f| f.get("type").and_then(Value::as_str) == Some("json_schema"))
        .and_then(|f| f.get("schema"))
    {
        p.format = crate::model::OutputFormat::JsonSchema(schema.clone());
    }
    match obj.get("system") {
        Some(Value::String(s)) => p.user_text(s, false),
        Some(Value::Array(blocks)) => {
            for b in blocks {
                p.user_text(b.get("text").and_then(Value::as_str).unwrap_or(""), false);
            }
        }
        _ => {}
    }
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
        if role == "user" {
            p.begin_message(true);
        } else {
            p.begin_assistant_message();
        }
        match m.get("content") {
            Some(Value::String(s)) => text_in(p, s, role == "user"),
            Some(Value::Array(blocks)) => {
                for b in blocks {
                    block(p, b, role == "user");
                }
            }
            _ => return Err(format!("messages.{i}.content: Field required")),
        }
    }
    parse_tools(obj, p)?;
    p.stop = obj
        .get("stop_sequences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    p.max_tokens = obj.get("max_tokens").and_then(Value::as_u64);
    let stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
    Ok(Params { model, stream })
}

fn text_in(p: &mut Prompt, s: &str, user: bool) {
    if user {
        p.user_text(s, true)
    } else {
        p.other_text(s)
    }
}

fn block(p: &mut Prompt, b: &Value, user: bool) {
    match b.get("type").and_then(Value::as_str) {
        Some("text") => text_in(p, b.get("text").and_then(Value::as_str).unwrap_or(""), user),
        Some("image") => p.image(),
        Some("tool_use") => p.other_text(&b.get("input").map(Value::to_string).unwrap_or_default()),
        Some("tool_result") => {
            let content = match b.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => {
                    let texts: Vec<&str> = parts
                        .iter()
                        .filter_map(|x| x.get("text").and_then(Value::as_str))
                        .collect();
                    texts.join(" ")
                }
                _ => String::new(),
            };
            p.tool_result(&content);
        }
        Some("thinking") => p.other_text(b.get("thinking").and_then(Value::as_str).unwrap_or("")),
        _ => {}
    }
}

fn parse_tools(obj: &Map<String, Value>, p: &mut Prompt) -> Result<(), String> {
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        p.tool_definitions(&Value::Array(tools.clone()));
        for (i, t) in tools.iter().enumerate() {
            let name = t
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("tools.{i}.name: Field required"))?;
            let schema = t
                .get("input_schema")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"}));
            p.tools.push(ToolSpec {
                name: name.to_string(),
                schema,
            });
        }
    }
    p.tool_choice = match obj.get("tool_choice") {
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(tc) => match tc.get("type").and_then(Value::as_str) {
            Some("auto") => ToolChoice::Auto,
            Some("any") => ToolChoice::Any,
            Some("none") => ToolChoice::None,
            Some("tool") => {
                let name = tc.get("name").and_then(Value::as_str).ok_or("tool_choice.tool.name: Field required")?;
                ToolChoice::Named(name.to_string())
            }
            _ => return Err("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'".into()),
        },
    };
    Ok(())
}

/// Anthropic semantics: input_tokens excludes cache reads and writes; output
/// tokens include any thinking.
struct Usage {
    input: u64,
    cache_read: u64,
    cache_write: u64,
    output: u64,
}

impl Usage {
    fn new(p: &Prompt, a: &Answer, d: &Directives) -> Self {
        Self {
            input: p.input_tokens,
            cache_read: d.cached_tokens.unwrap_or(0),
            cache_write: d.cache_write_tokens.unwrap_or(0),
            output: a.output_tokens + d.reasoning_tokens.unwrap_or(0),
        }
    }

    fn json(&self, output: u64) -> Value {
        json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cache_read,
            "output_tokens": output,
            "service_tier": "standard"
        })
    }
}

fn stop_fields(f: &Finish) -> (&'static str, Value) {
    match f {
        Finish::Stop => ("end_turn", Value::Null),
        Finish::Length => ("max_tokens", Value::Null),
        Finish::StopSequence(s) => ("stop_sequence", Value::String(s.clone())),
        Finish::ToolCalls => ("tool_use", Value::Null),
    }
}

fn message(id: &str, model: &str, a: &Answer, tool_ids: &[String], usage: &Usage) -> Value {
    let mut content = Vec::new();
    if !a.tokens.is_empty() {
        content.push(json!({ "type": "text", "text": a.text() }));
    }
    for (call, tid) in a.tool_calls.iter().zip(tool_ids) {
        content
            .push(json!({ "type": "tool_use", "id": tid, "name": call.name, "input": call.args }));
    }
    let (reason, seq) = stop_fields(&a.finish);
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": seq,
        "usage": usage.json(usage.output)
    })
}

/// `content_block_delta`, members in Anthropic's order. The events of every streamed
/// block are typed rather than `serde_json::Value`s, whose sorted maps cost the
/// simulator more than the gateway it feeds spends on the same event.
#[derive(Serialize)]
struct BlockDelta<'a> {
    r#type: &'static str,
    index: usize,
    delta: DeltaBody<'a>,
}

impl<'a> BlockDelta<'a> {
    fn new(index: usize, delta: DeltaBody<'a>) -> Self {
        Self {
            r#type: "content_block_delta",
            index,
            delta,
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum DeltaBody<'a> {
    TextDelta { text: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

/// `content_block_stop`.
#[derive(Serialize)]
struct BlockStop {
    r#type: &'static str,
    index: usize,
}

impl BlockStop {
    fn new(index: usize) -> Self {
        Self {
            r#type: "content_block_stop",
            index,
        }
    }
}

fn stream_events(
    id: &str,
    model: &str,
    a: &Answer,
    tool_ids: &[String],
    d: &Directives,
    usage: &Usage,
) -> Vec<Bytes> {
    let mut ev = Vec::with_capacity(a.tokens.len() + 16);
    let start = json!({
        "type": "message_start",
        "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": usage.json(1)
        }
    });
    ev.push(named_event("message_start", &start));
    ev.push(named_event("ping", &json!({ "type": "ping" })));
    let mut index = 0;
    if !a.tokens.is_empty() {
        let block = json!({ "type": "content_block_start", "index": index, "content_block": { "type": "text", "text": "" } });
        ev.push(named_event("content_block_start", &block));
        for delta in a.deltas(d) {
            let body = BlockDelta::new(index, DeltaBody::TextDelta { text: &delta });
            ev.push(named_event("content_block_delta", &body));
        }
        ev.push(named_event("content_block_stop", &BlockStop::new(index)));
        index += 1;
    }
    for (call, tid) in a.tool_calls.iter().zip(tool_ids) {
        let block = json!({
            "type": "content_block_start", "index": index,
            "content_block": { "type": "tool_use", "id": tid, "name": call.name, "input": {} }
        });
        ev.push(named_event("content_block_start", &block));
        // Real streams open every tool_use block with an empty fragment.
        let frags = std::iter::once(String::new()).chain(text::piece_tokens(&call.arguments));
        for frag in frags {
            let body = BlockDelta::new(
                index,
                DeltaBody::InputJsonDelta {
                    partial_json: &frag,
                },
            );
            ev.push(named_event("content_block_delta", &body));
        }
        ev.push(named_event("content_block_stop", &BlockStop::new(index)));
        index += 1;
    }
    let (reason, seq) = stop_fields(&a.finish);
    let delta = json!({
        "type": "message_delta",
        "delta": { "stop_reason": reason, "stop_sequence": seq },
        "usage": usage.json(usage.output)
    });
    ev.push(named_event("message_delta", &delta));
    ev.push(named_event(
        "message_stop",
        &json!({ "type": "message_stop" }),
    ));
    ev
}
