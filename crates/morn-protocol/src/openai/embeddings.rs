//! OpenAI Embeddings, both directions.
//!
//! Inbound `input` may be a string, an array of strings, an array of token ids (one
//! pre-tokenized input) or an array of token-id arrays. Vectors go back as float arrays
//! or, for `encoding_format: "base64"` (what the official Python SDK asks for by
//! default), as base64 of the little-endian `f32` bytes. Upstreams are always asked for
//! floats, so Morn can meter, cache and re-encode them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{invalid_value, missing};
use super::inbound::deserialize;
use super::to_vec;
use super::upstream::ExtraOut;
use super::usage::WireUsageIn;
use crate::{ApiError, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EncodingFormat, Usage};

/// Top-level fields Morn models; `extra` never overrides them upstream.
const MODELED_FIELDS: &[&str] = &["model", "input", "dimensions", "encoding_format", "user"];

#[derive(Default)]
struct RequestIn {
    model: Option<String>,
    input: Option<InputIn>,
    dimensions: Option<u32>,
    encoding_format: Option<EncodingFormat>,
    user: Option<String>,
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RequestIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RequestIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an embeddings request object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RequestIn, A::Error> {
                let mut r = RequestIn::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "model" => r.model = map.next_value()?,
                        "input" => r.input = map.next_value()?,
                        "dimensions" => r.dimensions = map.next_value()?,
                        "encoding_format" => r.encoding_format = map.next_value()?,
                        "user" => r.user = map.next_value()?,
                        _ => {
                            let value: Value = map.next_value()?;
                            r.extra.insert(key, value);
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
}

/// `input` in any of its four shapes.
struct InputIn(Vec<EmbeddingInput>);

/// One element of an `input` array.
enum InputItem {
    Text(String),
    Token(u32),
    Tokens(Vec<u32>),
}

impl<'de> Deserialize<'de> for InputItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InputItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a token id or an array of token ids")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<InputItem, E> {
                Ok(InputItem::Text(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<InputItem, E> {
                u32::try_from(v)
                    .map(InputItem::Token)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &"a token id"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<InputItem, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &"a token id"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InputItem, A::Error> {
                let mut tokens = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(t) = seq.next_element()? {
                    tokens.push(t);
                }
                Ok(InputItem::Tokens(tokens))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for InputIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InputIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an array of strings, or an array of token ids")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<InputIn, E> {
                Ok(InputIn(vec![EmbeddingInput::Text(v.to_owned())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InputIn, A::Error> {
                let mut inputs = Vec::new();
                let mut tokens = Vec::new();
                while let Some(item) = seq.next_element::<InputItem>()? {
                    match item {
                        InputItem::Text(t) => inputs.push(EmbeddingInput::Text(t)),
                        InputItem::Tokens(t) => inputs.push(EmbeddingInput::Tokens(t)),
                        InputItem::Token(t) => tokens.push(t),
                    }
                }
                match (inputs.is_empty(), tokens.is_empty()) {
                    (_, true) => Ok(InputIn(inputs)),
                    (true, false) => Ok(InputIn(vec![EmbeddingInput::Tokens(tokens)])),
                    (false, false) => Err(de::Error::custom(
                        "invalid value: token ids cannot be mixed with strings or token arrays",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a `/v1/embeddings` body (same error codes as chat requests).
pub fn parse_embedding_request(body: &[u8]) -> Result<EmbeddingRequest, ApiError> {
    let wire: RequestIn = deserialize(body)?;
    let model = match wire.model {
        Some(m) if !m.is_empty() => m,
        Some(_) => return Err(invalid_value("model", "'model' must not be empty.")),
        None => return Err(missing("model")),
    };
    let input = match wire.input {
        None => return Err(missing("input")),
        Some(InputIn(v)) if v.is_empty() => {
            return Err(invalid_value("input", "'input' must not be empty."));
        }
        Some(InputIn(v)) => v,
    };
    if let Some(i) = input
        .iter()
        .position(|x| matches!(x, EmbeddingInput::Tokens(t) if t.is_empty()))
    {
        return Err(invalid_value(
            &format!("input[{i}]"),
            "A token array must not be empty.",
        ));
    }
    if wire.dimensions == Some(0) {
        return Err(invalid_value(
            "dimensions",
            "'dimensions' must be at least 1.",
        ));
    }
    Ok(EmbeddingRequest {
        model,
        input,
        dimensions: wire.dimensions,
        encoding_format: wire.encoding_format.unwrap_or_default(),
        user: wire.user,
        extra: wire.extra,
    })
}

#[derive(Serialize)]
struct ResponseOut<'a> {
    object: &'static str,
    data: Vec<EmbeddingOut<'a>>,
    model: &'a str,
    usage: UsageOut,
}

#[derive(Serialize)]
struct EmbeddingOut<'a> {
    object: &'static str,
    index: usize,
    embedding: VectorOut<'a>,
}

struct VectorOut<'a>(&'a [f32], EncodingFormat);

impl Serialize for VectorOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            EncodingFormat::Float => self.0.serialize(s),
            EncodingFormat::Base64 => s.serialize_str(&base64_vector(self.0)),
        }
    }
}

fn base64_vector(v: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(v.len() * 4);
    for x in v {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    BASE64.encode(bytes)
}

#[derive(Serialize)]
struct UsageOut {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// `{"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"}`.
pub fn render_embedding_response(resp: &EmbeddingResponse, format: EncodingFormat) -> Vec<u8> {
    to_vec(&ResponseOut {
        object: "list",
        data: resp
            .data
            .iter()
            .enumerate()
            .map(|(index, v)| EmbeddingOut {
                object: "embedding",
                index,
                embedding: VectorOut(v, format),
            })
            .collect(),
        model: &resp.model,
        usage: UsageOut {
            prompt_tokens: resp.usage.input_tokens,
            total_tokens: resp.usage.input_tokens,
        },
    })
}

#[derive(Serialize)]
struct RequestOut<'a> {
    model: &'a str,
    input: InputOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(flatten)]
    extra: ExtraOut<'a>,
}

struct InputOut<'a>(&'a [EmbeddingInput]);

impl Serialize for InputOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            // One input keeps its own shape: a string, or one token array.
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }
}

/// The body to POST to `{base}/embeddings`; floats are always requested.
pub fn encode_embedding_request(
    req: &EmbeddingRequest,
    upstream_model: &str,
) -> Result<Vec<u8>, ApiError> {
    let texts = req
        .input
        .iter()
        .filter(|i| matches!(i, EmbeddingInput::Text(_)))
        .count();
    if texts != 0 && texts != req.input.len() {
        return Err(invalid_value(
            "input",
            "'input' cannot mix strings and token arrays for an OpenAI-compatible provider.",
        ));
    }
    Ok(to_vec(&RequestOut {
        model: upstream_model,
        input: InputOut(&req.input),
        dimensions: req.dimensions,
        encoding_format: "float",
        user: req.user.as_deref(),
        extra: ExtraOut(Some(&req.extra), MODELED_FIELDS),
    }))
}

#[derive(Deserialize)]
struct ResponseIn {
    data: Vec<EmbeddingIn>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<WireUsageIn>,
}

#[derive(Deserialize)]
struct EmbeddingIn {
    #[serde(default)]
    index: Option<usize>,
    embedding: VectorIn,
}

/// Floats, or base64 from a server that ignored `encoding_format: "float"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum VectorIn {
    Floats(Vec<f32>),
    Base64(String),
}

/// Reads an upstream embeddings answer; vectors are put in `index` order.
pub fn decode_embedding_response(body: &[u8]) -> Result<EmbeddingResponse, ApiError> {
    let wire: ResponseIn = serde_json::from_slice(body).map_err(ApiError::bad_upstream)?;
    let mut items = Vec::with_capacity(wire.data.len());
    for (position, item) in wire.data.into_iter().enumerate() {
        let vector = match item.embedding {
            VectorIn::Floats(v) => v,
            VectorIn::Base64(s) => decode_base64_vector(&s)?,
        };
        items.push((item.index.unwrap_or(position), vector));
    }
    items.sort_by_key(|(index, _)| *index);
    Ok(EmbeddingResponse {
        model: wire.model.unwrap_or_default(),
        data: items.into_iter().map(|(_, v)| v).collect(),
        usage: Usage::from(wire.usage.unwrap_or_default()),
    })
}

fn decode_base64_vector(s: &str) -> Result<Vec<f32>, ApiError> {
    let bytes = BASE64.decode(s).map_err(ApiError::bad_upstream)?;
    if bytes.len() % 4 != 0 {
        return Err(ApiError::bad_upstream(
            "a base64 embedding is not a whole number of f32s",
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
