//! `generateContent`, `streamGenerateContent` (`alt=sse`, or a streamed JSON
//! array without it) and `countTokens`.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{bad_request, fault};
use crate::directives::{self, Directives};
use crate::model::{self, Answer, Finish, OutputFormat, Prompt, ToolChoice, ToolSpec};
use crate::routes::effective;
use crate::sse::{self, Pacing, data_crlf, json_status};
use crate::text;
use crate::{Shared, faults};

const BROKEN: &[u8] = b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"te\r\n\r\n";

/// `stream`: None for `generateContent`, Some(true) for SSE, Some(false) for
/// the JSON-array stream.
pub async fn handle(
    state: &Shared,
    headers: &HeaderMap,
    model: &str,
    body: &[u8],
    stream: Option<bool>,
) -> Response {
    let hdr = match directives::from_headers(headers) {
        Ok(h) => h,
        Err(e) => return bad_request(&e),
    };
    let mut prompt = Prompt::new();
    if let Err(msg) = parse_body(body, &mut prompt) {
        return bad_request(&msg);
    }
    if let Some(e) = &prompt.found.error {
        return bad_request(e);
    }
    let (d, key) = effective(state, &prompt.found, hdr);
    if let Some(f) = faults::before_response(state, &d, &key).await {
        return fault(f);
    }
    let answer = model::generate(&prompt, &d, 0);
    let response_id = text::hex(state.next_id());
    let r = Render {
        model,
        response_id: &response_id,
        usage: usage(&prompt, &answer, &d),
    };
    match stream {
        None => sse::json_response(r.whole(&answer).to_string().into_bytes(), &d),
        Some(sse_mode) => {
            let chunks = r.chunks(&answer, &d);
            let pacing = Pacing::from_directives(&d);
            if sse_mode {
                sse::stream_response(chunks.iter().map(data_crlf).collect(), pacing, BROKEN)
            } else {
                sse::stream_typed(
                    json_array(&chunks),
                    pacing,
                    b"[{\"candidates\": ",
                    "application/json",
                )
            }
        }
    }
}

pub fn count_tokens(_model: &str, body: &[u8]) -> Response {
    let mut prompt = Prompt::new();
    match parse_body(body, &mut prompt) {
        Ok(()) => json_status(
            StatusCode::OK,
            json!({ "totalTokens": prompt.input_tokens })
                .to_string()
                .into_bytes(),
        ),
        Err(msg) => bad_request(&msg),
    }
}

fn parse_body(body: &[u8], p: &mut Prompt) -> Result<(), String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("Invalid JSON payload received. {e}"))?;
    let obj = v
        .as_object()
        .ok_or("Invalid JSON payload received. Expected an object.")?;
    // countTokens may wrap the request as {"generateContentRequest": {...}}.
    let obj = obj
        .get("generateContentRequest")
        .and_then(Value::as_object)
        .unwrap_or(obj);
    parse(obj, p)
}

fn parse(obj: &Map<String, Value>, p: &mut Prompt) -> Result<(), String> {
    let contents = obj
        .get("contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or("* GenerateContentRequest.contents: contents is not specified\n")?;
    if let Some(parts) = obj
        .get("systemInstruction")
        .and_then(|s| s.get("parts"))
        .and_then(Value::as_array)
    {
        for part in parts {
            p.user_text(
                part.get("text").and_then(Value::as_str).unwrap_or(""),
                false,
            );
        }
    }
    for c in contents {
        let user = c.get("role").and_then(Value::as_str).unwrap_or("user") != "model";
        if user {
            p.begin_message(true);
        } else {
            p.begin_assistant_message();
        }
        for part in c
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                if user {
                    p.user_text(t, true)
                } else {
                    p.other_text(t)
                }
            } else if part.get("inlineData").is_some() || part.get("fileData").is_some() {
                p.image();
            } else if let Some(fc) = part.get("functionCall") {
                p.other_text(&fc.to_string());
            } else if let Some(fr) = part.get("functionResponse") {
                p.tool_result(&strings_of(fr.get("response").unwrap_or(&Value::Null)));
            }
        }
    }
    parse_tools(obj, p);
    let gc = obj.get("generationConfig");
    p.max_tokens = gc
        .and_then(|g| g.get("maxOutputTokens"))
        .and_then(Value::as_u64);
    p.stop = gc
        .and_then(|g| g.get("stopSequences"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let mime = gc
        .and_then(|g| g.get("responseMimeType"))
        .and_then(Value::as_str);
    if mime == Some("application/json") {
        let schema = gc.and_then(|g| {
            g.get("responseJsonSchema")
                .or_else(|| g.get("responseSchema"))
        });
        p.format = match schema {
            Some(s) => OutputFormat::JsonSchema(s.clone()),
            None => OutputFormat::JsonObject,
        };
    }
    Ok(())
}

/// A function response's string leaves, joined; falls back to its JSON text.
fn strings_of(v: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            Value::Number(n) => out.push(n.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    if out.is_empty() {
        v.to_string()
    } else {
        out.join(" ")
    }
}

fn parse_tools(obj: &Map<String, Value>, p: &mut Prompt) {
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        p.tool_definitions(&Value::Array(tools.clone()));
        let decls = tools
            .iter()
            .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
            .flatten();
        for f in decls {
            let Some(name) = f.get("name").and_then(Value::as_str) else {
                continue;
            };
            let schema = f
                .get("parametersJsonSchema")
                .or_else(|| f.get("parameters"))
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"}));
            p.tools.push(ToolSpec {
                name: name.to_string(),
                schema,
            });
        }
    }
    let cfg = obj
        .get("toolConfig")
        .and_then(|t| t.get("functionCallingConfig"));
    let mode = cfg
        .and_then(|c| c.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or("AUTO");
    p.tool_choice = match mode {
        "ANY" => ToolChoice::Any,
        "NONE" => ToolChoice::None,
        _ => ToolChoice::Auto,
    };
    let allowed: Vec<&str> = cfg
        .and_then(|c| c.get("allowedFunctionNames"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if p.tool_choice == ToolChoice::Any && !allowed.is_empty() {
        p.tools.retain(|t| allowed.contains(&t.name.as_str()));
    }
}

/// Gemini semantics: promptTokenCount includes cached content;
/// candidatesTokenCount excludes thoughts; the total includes both.
fn usage(p: &Prompt, a: &Answer, d: &Directives) -> Value {
    let cached = d.cached_tokens.unwrap_or(0);
    let thoughts = d.reasoning_tokens.unwrap_or(0);
    let prompt = p.input_tokens + cached;
    let mut u = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": a.output_tokens,
        "totalTokenCount": prompt + a.output_tokens + thoughts,
        "promptTokensDetails": [{ "modality": "TEXT", "tokenCount": prompt }]
    });
    if cached > 0 {
        u["cachedContentTokenCount"] = json!(cached);
    }
    if thoughts > 0 {
        u["thoughtsTokenCount"] = json!(thoughts);
    }
    u
}

fn finish_reason(f: &Finish) -> &'static str {
    match f {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::StopSequence(_) | Finish::ToolCalls => "STOP",
    }
}

struct Render<'a> {
    model: &'a str,
    response_id: &'a str,
    usage: Value,
}

impl Render<'_> {
    fn response(&self, parts: Vec<Value>, finish: Option<&str>) -> Value {
        let mut candidate = json!({ "content": { "parts": parts, "role": "model" }, "index": 0 });
        let mut r =
            json!({ "candidates": [], "modelVersion": self.model, "responseId": self.response_id });
        if let Some(f) = finish {
            candidate["finishReason"] = json!(f);
            r["usageMetadata"] = self.usage.clone();
        }
        r["candidates"] = json!([candidate]);
        r
    }

    fn whole(&self, a: &Answer) -> Value {
        let mut parts = Vec::new();
        if !a.tokens.is_empty() {
            parts.push(json!({ "text": a.text() }));
        }
        parts.extend(call_parts(a));
        self.response(parts, Some(finish_reason(&a.finish)))
    }

    /// Text deltas, then function calls whole; the last chunk carries
    /// finishReason and usageMetadata.
    fn chunks(&self, a: &Answer, d: &Directives) -> Vec<Value> {
        let mut parts: Vec<Vec<Value>> = a
            .deltas(d)
            .into_iter()
            .map(|t| vec![json!({ "text": t })])
            .collect();
        let calls = call_parts(a);
        if !calls.is_empty() || parts.is_empty() {
            parts.push(if calls.is_empty() {
                vec![json!({ "text": "" })]
            } else {
                calls
            });
        }
        let last = parts.len().saturating_sub(1);
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.response(p, (i == last).then(|| finish_reason(&a.finish))))
            .collect()
    }
}

fn call_parts(a: &Answer) -> Vec<Value> {
    a.tool_calls
        .iter()
        .map(|c| json!({ "functionCall": { "name": c.name, "args": c.args } }))
        .collect()
}

/// Without `alt=sse` the stream is one JSON array delivered element by element.
fn json_array(chunks: &[Value]) -> Vec<Bytes> {
    let mut out: Vec<Bytes> = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let sep = if i == 0 { "[" } else { ",\r\n" };
            Bytes::from(format!("{sep}{c}"))
        })
        .collect();
    out.push(Bytes::from_static(if chunks.is_empty() {
        b"[]"
    } else {
        b"]"
    }));
    out
}
