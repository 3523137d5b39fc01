//! `embedContent` and `batchEmbedContents`, with `outputDimensionality`.

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::{bad_request, fault};
use crate::directives::{self, MessageDirectives};
use crate::embed::{DEFAULT_DIM, embed};
use crate::routes::effective;
use crate::{Shared, faults, sse};

const MAX_DIM: u64 = 4096;

/// One `EmbedContentRequest` to a vector.
fn embed_request(req: &Value, found: &mut MessageDirectives) -> Result<Vec<f32>, String> {
    let parts = req
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .ok_or("* EmbedContentRequest.content: content is not specified\n")?;
    let text: Vec<String> = parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .map(|t| found.strip(t).into_owned())
        .collect();
    let dim = match req.get("outputDimensionality") {
        None | Some(Value::Null) => DEFAULT_DIM as u64,
        Some(d) => d
            .as_u64()
            .filter(|d| (1..=MAX_DIM).contains(d))
            .ok_or("* EmbedContentRequest.output_dimensionality: must be positive\n")?,
    };
    Ok(embed(&text.join(" "), dim as usize))
}

async fn respond(
    state: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    build: impl FnOnce(&Value, &mut MessageDirectives) -> Result<Value, String>,
) -> Response {
    let hdr = match directives::from_headers(headers) {
        Ok(h) => h,
        Err(e) => return bad_request(&e),
    };
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return bad_request("Invalid JSON payload received.");
    };
    let mut found = MessageDirectives::default();
    let out = match build(&v, &mut found) {
        Ok(o) => o,
        Err(e) => return bad_request(&e),
    };
    let (d, key) = effective(state, &found, hdr);
    if let Some(f) = faults::before_response(state, &d, &key).await {
        return fault(f);
    }
    sse::json_response(out.to_string().into_bytes(), &d)
}

pub async fn single(state: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    respond(state, headers, body, |v, found| {
        let values = embed_request(v, found)?;
        Ok(json!({ "embedding": { "values": values } }))
    })
    .await
}

pub async fn batch(state: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    respond(state, headers, body, |v, found| {
        let reqs = v
            .get("requests")
            .and_then(Value::as_array)
            .ok_or("* BatchEmbedContentsRequest.requests: requests is not specified\n")?;
        let embeddings = reqs
            .iter()
            .map(|r| embed_request(r, found).map(|values| json!({ "values": values })))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({ "embeddings": embeddings }))
    })
    .await
}
