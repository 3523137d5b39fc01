//! `POST /v1/chat/completions`: request parsing into a `Prompt`, and the
//! `chat.completion` / `chat.completion.chunk` renderings.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{bad_request, check_auth, fault};
use crate::directives::{self, Directives};
use crate::model::{self, Answer, Finish, OutputFormat, Prompt, ToolChoice, ToolSpec};
use crate::routes::{effective, now_secs};
use crate::sse::{self, Pacing};
use crate::text::{self, hash64};
use crate::{AppState, faults};

const BROKEN: &[u8] = b"data: {\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":\n\n";
const MAX_N: u64 = 128;

/// Request fields that shape the response rather than the answer.
struct Params {
    model: String,
    stream: bool,
    include_usage: bool,
    n: u64,
}

type Invalid = (String, Option<&'static str>, Option<&'static str>);

fn invalid(msg: impl Into<String>, param: &'static str, code: &'static str) -> Invalid {
    (msg.into(), Some(param), Some(code))
}

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let hdr = match directives::from_headers(&headers) {
        Ok(h) => h,
        Err(e) => return bad_request(&e, None, None),
    };
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            None,
            None,
        );
    };
    let mut prompt = Prompt::new();
    let params = match parse(&v, &mut prompt) {
        Ok(p) => p,
        Err((msg, param, code)) => return bad_request(&msg, param, code),
    };
    if let Some(e) = &prompt.found.error {
        return bad_request(e, Some("messages"), None);
    }
    let (d, key) = effective(&state, &prompt.found, hdr);
    if let Some(f) = faults::before_response(&state, &d, &key).await {
        return fault(f);
    }
    let answers: Vec<Answer> = (0..params.n)
        .map(|i| model::generate(&prompt, &d, i))
        .collect();
    let id = format!("chatcmpl-{}", text::hex(state.next_id()));
    let usage = usage(&prompt, &answers, &d);
    if params.stream {
        let events = stream_events(&id, &params, &answers, &d, usage);
        sse::stream_response(events, Pacing::from_directives(&d), BROKEN)
    } else {
        sse::json_response(completion(&id, &params, &answers, usage), &d)
    }
}

fn parse(v: &Value, p: &mut Prompt) -> Result<Params, Invalid> {
    let Some(obj) = v.as_object() else {
        return Err((
            "Invalid type for request body: expected an object.".into(),
            None,
            None,
        ));
    };
    let model = match obj.get("model").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None => return Err(("you must provide a model parameter".into(), None, None)),
    };
    let Some(messages) = obj.get("messages") else {
        return Err(invalid(
            "Missing required parameter: 'messages'.",
            "messages",
            "missing_required_parameter",
        ));
    };
    let messages = messages
        .as_array()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            invalid(
                "Invalid 'messages': empty array. Expected an array with minimum length 1.",
                "messages",
                "empty_array",
            )
        })?;
    for (i, m) in messages.iter().enumerate() {
        parse_message(m, i, p)?;
    }
    parse_tools(obj, p)?;
    p.stop = match obj.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    p.max_tokens = obj
        .get("max_completion_tokens")
        .and_then(Value::as_u64)
        .or_else(|| obj.get("max_tokens").and_then(Value::as_u64));
    p.format = parse_format(obj.get("response_format"))?;
    let stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let stream_options = obj.get("stream_options").filter(|s| !s.is_null());
    if stream_options.is_some() && !stream {
        return Err(invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "stream_options",
            "invalid_value",
        ));
    }
    let include_usage = stream_options
        .and_then(|s| s.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let n = obj.get("n").and_then(Value::as_u64).unwrap_or(1);
    if n == 0 || n > MAX_N {
        return Err(invalid(
            format!("{n} is not a valid value for 'n'."),
            "n",
            "invalid_value",
        ));
    }
    Ok(Params {
        model,
        stream,
        include_usage,
        n,
    })
}

fn parse_message(m: &Value, i: usize, p: &mut Prompt) -> Result<(), Invalid> {
    let role = m.get("role").and_then(Value::as_str).unwrap_or("");
    let content = m.get("content");
    match role {
        "user" | "system" | "developer" => {
            p.begin_message(role == "user");
            visit_content(content, p, role == "user");
        }
        "assistant" => {
            p.begin_assistant_message();
            if let Some(t) = content.and_then(Value::as_str) {
                p.other_text(t);
            }
            for call in m
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                p.other_text(&call.to_string());
            }
        }
        "tool" | "function" => {
            p.begin_tool_message();
            p.tool_result(&content_text(content));
        }
        other => {
            return Err((
                format!(
                    "Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
                ),
                Some(param_role(i)),
                Some("invalid_value"),
            ));
        }
    }
    Ok(())
}

/// Error params must be `'static`; the index is rarely beyond a few.
fn param_role(i: usize) -> &'static str {
    match i {
        0 => "messages.[0].role",
        1 => "messages.[1].role",
        2 => "messages.[2].role",
        _ => "messages",
    }
}

fn visit_content(content: Option<&Value>, p: &mut Prompt, echo: bool) {
    match content {
        Some(Value::String(s)) => p.user_text(s, echo),
        Some(Value::Array(parts)) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        p.user_text(part.get("text").and_then(Value::as_str).unwrap_or(""), echo)
                    }
                    Some("image_url") => p.image(),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|x| x.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn parse_tools(obj: &Map<String, Value>, p: &mut Prompt) -> Result<(), Invalid> {
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        p.tool_definitions(&Value::Array(tools.clone()));
        for t in tools {
            let f = t.get("function");
            let Some(name) = f.and_then(|f| f.get("name")).and_then(Value::as_str) else {
                return Err(invalid(
                    "Missing required parameter: 'tools[0].function.name'.",
                    "tools",
                    "missing_required_parameter",
                ));
            };
            let schema = f
                .and_then(|f| f.get("parameters"))
                .cloned()
                .unwrap_or_else(|| json!({}));
            p.tools.push(ToolSpec {
                name: name.to_string(),
                schema,
            });
        }
    }
    p.tool_choice = match obj.get("tool_choice") {
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(_) if p.tools.is_empty() => {
            return Err(invalid(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                "tool_choice",
                "invalid_value",
            ));
        }
        Some(Value::String(s)) => match s.as_str() {
            "none" => ToolChoice::None,
            "required" => ToolChoice::Any,
            _ => ToolChoice::Auto,
        },
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => ToolChoice::Named(name.to_string()),
            None => ToolChoice::Auto,
        },
    };
    Ok(())
}

fn parse_format(rf: Option<&Value>) -> Result<OutputFormat, Invalid> {
    let Some(rf) = rf.filter(|v| !v.is_null()) else {
        return Ok(OutputFormat::Text);
    };
    match rf.get("type").and_then(Value::as_str) {
        Some("text") => Ok(OutputFormat::Text),
        Some("json_object") => Ok(OutputFormat::JsonObject),
        Some("json_schema") => match rf.pointer("/json_schema/schema") {
            Some(s) => Ok(OutputFormat::JsonSchema(s.clone())),
            None => Err(invalid(
                "Missing required parameter: 'response_format.json_schema'.",
                "response_format.json_schema",
                "missing_required_parameter",
            )),
        },
        _ => Err(invalid(
            "Invalid value: 'response_format.type'. Supported values are: 'text', 'json_object' and 'json_schema'.",
            "response_format.type",
            "invalid_value",
        )),
    }
}

fn finish_reason(f: &Finish) -> &'static str {
    match f {
        Finish::Stop | Finish::StopSequence(_) => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

/// `usage`, its members in OpenAI's order. OpenAI semantics: `prompt_tokens` includes
/// cached tokens, `completion_tokens` includes reasoning tokens.
#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

fn usage(p: &Prompt, answers: &[Answer], d: &Directives) -> Usage {
    let cached = d.cached_tokens.unwrap_or(0);
    let reasoning = d.reasoning_tokens.unwrap_or(0);
    let prompt_tokens = p.input_tokens + cached;
    let completion = answers.iter().map(|a| a.output_tokens).sum::<u64>() + reasoning;
    Usage {
        prompt_tokens,
        completion_tokens: completion,
        total_tokens: prompt_tokens + completion,
        prompt_tokens_details: PromptDetails {
            cached_tokens: cached,
            audio_tokens: 0,
        },
        completion_tokens_details: CompletionDetails {
            reasoning_tokens: reasoning,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
        },
    }
}

fn tool_calls_json(state_ids: &[String], a: &Answer) -> Value {
    let calls: Vec<Value> = a
        .tool_calls
        .iter()
        .zip(state_ids)
        .map(|(c, id)| json!({ "id": id, "type": "function", "function": { "name": c.name, "arguments": c.arguments } }))
        .collect();
    Value::Array(calls)
}

/// Tool call ids derive from the completion id so they are unique per response.
fn call_ids(id: &str, choice: usize, a: &Answer) -> Vec<String> {
    let base = hash64(id.as_bytes()) ^ ((choice as u64) << 32);
    (0..a.tool_calls.len())
        .map(|j| format!("call_{}", text::hex(text::mix(base.wrapping_add(j as u64)))))
        .collect()
}

/// A `chat.completion`, its members in api.openai.com's order. Typed rather than a
/// `serde_json::Value`: a sorted map per object was most of the simulator's work per
/// answer, on the cores it shares with the gateway under benchmark.
#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<CompletionChoice>,
    usage: Usage,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

#[derive(Serialize)]
struct CompletionChoice {
    index: usize,
    message: Message,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: Option<String>,
    refusal: Option<()>,
    annotations: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Value>,
}

fn completion(id: &str, params: &Params, answers: &[Answer], usage: Usage) -> Vec<u8> {
    let choices = answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let text = a.text();
            CompletionChoice {
                index: i,
                message: Message {
                    role: "assistant",
                    content: (!text.is_empty()).then_some(text),
                    refusal: None,
                    annotations: [],
                    tool_calls: (!a.tool_calls.is_empty())
                        .then(|| tool_calls_json(&call_ids(id, i, a), a)),
                },
                logprobs: None,
                finish_reason: finish_reason(&a.finish),
            }
        })
        .collect();
    let completion = Completion {
        id,
        object: "chat.completion",
        created: now_secs(),
        model: &params.model,
        choices,
        usage,
        service_tier: "default",
        system_fingerprint: "fp_morn_mock",
    };
    // Plain data with string keys: serializing it cannot fail.
    serde_json::to_vec(&completion).unwrap_or_default()
}

/// Writes `chat.completion.chunk` events as api.openai.com orders their members: `id`,
/// `object`, `created`, `model`, `service_tier`, `system_fingerprint`, `choices`, then
/// `usage` when the client asked for it. The members every chunk shares are rendered
/// once ([`ChunkWriter::head`]); building each chunk as a `serde_json::Value` (a
/// sorted map per object) cost ~15 k instructions a chunk, most of the simulator's
/// work per streamed answer, on the cores it shares with the gateway under benchmark.
struct ChunkWriter {
    /// `{"id":…,…,"choices":` — everything before the chunk's own part.
    head: Vec<u8>,
    include_usage: bool,
    events: Vec<Bytes>,
}

impl ChunkWriter {
    fn new(id: &str, model: &str, created: u64, include_usage: bool) -> Self {
        let mut head = Vec::with_capacity(192);
        head.extend_from_slice(b"{\"id\":");
        json_string(&mut head, id);
        head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        head.extend_from_slice(created.to_string().as_bytes());
        head.extend_from_slice(b",\"model\":");
        json_string(&mut head, model);
        head.extend_from_slice(
            b",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_morn_mock\",\"choices\":",
        );
        Self {
            head,
            include_usage,
            events: Vec::with_capacity(32),
        }
    }

    /// A chunk of choice `index` with a text delta: the usual chunk, written without
    /// building a JSON value.
    fn push_text(&mut self, index: usize, text: &str) {
        let mut choice = Vec::with_capacity(64 + text.len());
        choice.extend_from_slice(b"{\"content\":");
        json_string(&mut choice, text);
        choice.push(b'}');
        self.push_delta(index, &choice, None);
    }

    fn push(&mut self, index: usize, delta: Value, finish: Option<&str>) {
        self.push_delta(index, delta.to_string().as_bytes(), finish);
    }

    /// A chunk of one choice: `delta` is that choice's delta object, as JSON.
    fn push_delta(&mut self, index: usize, delta: &[u8], finish: Option<&str>) {
        let mut choices = Vec::with_capacity(96 + delta.len());
        choices.extend_from_slice(b"[{\"index\":");
        choices.extend_from_slice(index.to_string().as_bytes());
        choices.extend_from_slice(b",\"delta\":");
        choices.extend_from_slice(delta);
        choices.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
        match finish {
            Some(reason) => json_string(&mut choices, reason),
            None => choices.extend_from_slice(b"null"),
        }
        choices.extend_from_slice(b"}]");
        self.push_raw(&choices, None);
    }

    /// A chunk with `choices` as given (JSON) and, with `include_usage`, `usage`
    /// (`null` on every chunk but the last).
    fn push_raw(&mut self, choices: &[u8], usage: Option<&Usage>) {
        let mut event = Vec::with_capacity(self.head.len() + choices.len() + 32);
        event.extend_from_slice(b"data: ");
        event.extend_from_slice(&self.head);
        event.extend_from_slice(choices);
        if self.include_usage {
            event.extend_from_slice(b",\"usage\":");
            match usage {
                // Plain numbers: serializing them cannot fail.
                Some(usage) => {
                    let _ = serde_json::to_writer(&mut event, usage);
                }
                None => event.extend_from_slice(b"null"),
            }
        }
        event.extend_from_slice(b"}\n\n");
        self.events.push(Bytes::from(event));
    }
}

/// `s` as a JSON string (quotes and escapes) appended to `out`.
fn json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a `&str` to a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn stream_events(
    id: &str,
    params: &Params,
    answers: &[Answer],
    d: &Directives,
    usage: Usage,
) -> Vec<Bytes> {
    let mut w = ChunkWriter::new(id, &params.model, now_secs(), params.include_usage);
    for (i, a) in answers.iter().enumerate() {
        // `content` is "" before text and null before tool calls alone, as OpenAI sends.
        let role_delta: &[u8] = if a.tool_calls.is_empty() || !a.tokens.is_empty() {
            br#"{"role":"assistant","content":"","refusal":null}"#
        } else {
            br#"{"role":"assistant","content":null,"refusal":null}"#
        };
        w.push_delta(i, role_delta, None);
        for delta in a.deltas(d) {
            w.push_text(i, &delta);
        }
        for (j, (call, call_id)) in a.tool_calls.iter().zip(call_ids(id, i, a)).enumerate() {
            let head = json!({ "index": j, "id": call_id, "type": "function", "function": { "name": call.name, "arguments": "" } });
            w.push(i, json!({ "tool_calls": [head] }), None);
            for frag in text::piece_tokens(&call.arguments) {
                w.push(
                    i,
                    json!({ "tool_calls": [{ "index": j, "function": { "arguments": frag } }] }),
                    None,
                );
            }
        }
        w.push_delta(i, b"{}", Some(finish_reason(&a.finish)));
    }
    if params.include_usage {
        w.push_raw(b"[]", Some(&usage));
    }
    w.events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    w.events
}
