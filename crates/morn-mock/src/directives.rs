//! Per-request behaviour directives: `#mock{...}` in message text and
//! `x-mock-<name>` headers. Headers override message directives.

use std::borrow::Cow;

use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::MockOptions;

const MARKER: &str = "#mock{";
const HEADER_PREFIX: &str = "x-mock-";

/// Everything a request can ask the simulator to do differently.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directives {
    pub ttfb_ms: Option<u64>,
    pub words: Option<usize>,
    pub chunks: Option<usize>,
    pub chunk_gap_ms: Option<u64>,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub hang: Option<bool>,
    pub cut_after: Option<usize>,
    pub malformed_after: Option<usize>,
    pub tool_calls: Option<usize>,
    pub cached_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    pub fail_first: Option<u64>,
    pub error_message: Option<String>,
    /// Free text that only makes the `fail_first` key unique (e.g. a test name).
    pub key: Option<String>,
}

macro_rules! overlay_fields {
    ($dst:ident, $src:ident, $($f:ident),*) => {
        $( if $src.$f.is_some() { $dst.$f = $src.$f; } )*
    };
}

impl Directives {
    /// Server-wide defaults from the CLI.
    pub fn from_options(opts: &MockOptions) -> Self {
        Self {
            ttfb_ms: opts.ttfb_ms,
            chunk_gap_ms: opts.chunk_gap_ms,
            words: opts.words,
            ..Self::default()
        }
    }

    /// Fields set in `other` replace ours.
    pub fn overlay(&mut self, other: Directives) {
        overlay_fields!(
            self,
            other,
            ttfb_ms,
            words,
            chunks,
            chunk_gap_ms,
            status,
            retry_after,
            hang,
            cut_after,
            malformed_after,
            tool_calls,
            cached_tokens,
            cache_write_tokens,
            reasoning_tokens,
            fail_first,
            error_message,
            key
        );
    }
}

/// Directives carried in `x-mock-*` headers, plus the key `fail_first` counts by.
#[derive(Debug, Default)]
pub struct HeaderDirectives {
    pub directives: Directives,
    pub key: String,
}

/// Parses `x-mock-<name>` headers (`-` in names maps to `_`). Values that parse
/// as JSON (numbers, booleans) are taken as such, anything else as a string.
pub fn from_headers(headers: &HeaderMap) -> Result<HeaderDirectives, String> {
    let mut map = Map::new();
    let mut key = String::new();
    for (name, value) in headers {
        let Some(field) = name.as_str().strip_prefix(HEADER_PREFIX) else {
            continue;
        };
        let raw = value
            .to_str()
            .map_err(|_| format!("header {name} is not valid text"))?;
        key.push_str(name.as_str());
        key.push('=');
        key.push_str(raw);
        key.push(';');
        let v = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.into()));
        let v = match (field, v) {
            ("hang", Value::Number(n)) => Value::Bool(n.as_u64() != Some(0)),
            (_, v) => v,
        };
        map.insert(field.replace('-', "_"), v);
    }
    if map.is_empty() {
        return Ok(HeaderDirectives::default());
    }
    let directives = serde_json::from_value(Value::Object(map))
        .map_err(|e| format!("invalid x-mock-* header: {e}"))?;
    Ok(HeaderDirectives { directives, key })
}

/// Collects `#mock{...}` directives found in message text.
#[derive(Debug, Default)]
pub struct MessageDirectives {
    pub directives: Directives,
    /// The raw directive texts, concatenated: the `fail_first` key.
    pub key: String,
    pub error: Option<String>,
}

impl MessageDirectives {
    /// Returns `text` with every `#mock{...}` removed, recording the directives.
    pub fn strip<'a>(&mut self, text: &'a str) -> Cow<'a, str> {
        if !text.contains(MARKER) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(pos) = rest.find(MARKER) {
            out.push_str(rest.get(..pos).unwrap_or_default());
            let json_start = pos + MARKER.len() - 1;
            let tail = rest.get(json_start..).unwrap_or_default();
            let Some(len) = object_len(tail) else {
                self.error = Some("unterminated #mock{...} directive".into());
                return Cow::Owned(out);
            };
            let raw = tail.get(..len).unwrap_or_default();
            self.key.push_str(raw);
            match serde_json::from_str::<Directives>(raw) {
                Ok(d) => self.directives.overlay(d),
                Err(e) => self.error = Some(format!("invalid #mock directive {raw}: {e}")),
            }
            rest = tail.get(len..).unwrap_or_default();
        }
        out.push_str(rest);
        Cow::Owned(out)
    }
}

/// Length in bytes of the JSON object at the start of `s` (which starts with `{`).
fn object_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_parses() {
        let mut md = MessageDirectives::default();
        let out = md.strip(r#"hello #mock{"status":429,"error_message":"a}b"} world"#);
        assert_eq!(out, "hello  world");
        assert_eq!(md.directives.status, Some(429));
        assert_eq!(md.directives.error_message.as_deref(), Some("a}b"));
        assert!(md.error.is_none());
    }

    #[test]
    fn headers_parse() {
        let mut h = HeaderMap::new();
        h.insert("x-mock-ttfb-ms", axum::http::HeaderValue::from_static("50"));
        h.insert("x-mock-hang", axum::http::HeaderValue::from_static("1"));
        let d = from_headers(&h);
        assert!(matches!(
            d,
            Ok(HeaderDirectives {
                directives: Directives {
                    ttfb_ms: Some(50),
                    hang: Some(true),
                    ..
                },
                ..
            })
        ));
    }
}
