//! Serde types for an inbound Chat Completions request body.
//!
//! The top-level object has a hand-written visitor so that known fields are
//! deserialized straight into typed fields and every unknown field lands in `extra`
//! without buffering the whole body (`#[serde(flatten)]` would buffer it and lose the
//! field paths of errors). Fields that accept several JSON shapes (`content`, `stop`,
//! `tool_choice`) have small visitors instead of `#[serde(untagged)]`, whose errors
//! say nothing useful.

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A Chat Completions request as sent.
#[derive(Default)]
pub(crate) struct WireRequest {
    pub model: Option<String>,
    pub messages: Option<Vec<WireMessage>>,
    pub tools: Option<Vec<WireTool>>,
    pub tool_choice: Option<WireToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<WireResponseFormat>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u32>,
    pub max_completion_tokens: Option<u32>,
    pub stop: Option<StringOrList>,
    pub n: Option<u32>,
    pub seed: Option<i64>,
    pub user: Option<String>,
    pub stream: Option<bool>,
    pub stream_options: Option<WireStreamOptions>,
    pub reasoning_effort: Option<String>,
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for WireRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RequestVisitor)
    }
}

struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = WireRequest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a chat completion request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireRequest, A::Error> {
        let mut r = WireRequest::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "model" => r.model = map.next_value()?,
                "messages" => r.messages = map.next_value()?,
                "tools" => r.tools = map.next_value()?,
                "tool_choice" => r.tool_choice = map.next_value()?,
                "parallel_tool_calls" => r.parallel_tool_calls = map.next_value()?,
                "response_format" => r.response_format = map.next_value()?,
                "temperature" => r.temperature = map.next_value()?,
                "top_p" => r.top_p = map.next_value()?,
                "max_tokens" => r.max_tokens = map.next_value()?,
                "max_completion_tokens" => r.max_completion_tokens = map.next_value()?,
                "stop" => r.stop = map.next_value()?,
                "n" => r.n = map.next_value()?,
                "seed" => r.seed = map.next_value()?,
                "user" => r.user = map.next_value()?,
                "stream" => r.stream = map.next_value()?,
                "stream_options" => r.stream_options = map.next_value()?,
                "reasoning_effort" => r.reasoning_effort = map.next_value()?,
                _ => {
                    let value: Value = map.next_value()?;
                    r.extra.insert(key, value);
                }
            }
        }
        Ok(r)
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum WireRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    /// Legacy function calling: the result of an assistant `function_call`.
    Function,
}

#[derive(Deserialize)]
pub(crate) struct WireMessage {
    pub role: WireRole,
    #[serde(default)]
    pub content: Option<WireContent>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default)]
    pub tool_call_id: Option<String>,
    #[serde(default)]
    pub function_call: Option<WireFunctionCall>,
}

/// `content`: a string or an array of parts (`null` is the surrounding `Option`). Also
/// the shape of an upstream's assistant content, with its own part type.
pub(crate) enum WireContent<P = WirePart> {
    Text(String),
    Parts(Vec<P>),
}

impl<'de, P: Deserialize<'de>> Deserialize<'de> for WireContent<P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<P>(std::marker::PhantomData<P>);
        impl<'de, P: Deserialize<'de>> Visitor<'de> for V<P> {
            type Value = WireContent<P>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireContent<P>, E> {
                Ok(WireContent::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<WireContent<P>, E> {
                Ok(WireContent::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WireContent<P>, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(part) = seq.next_element()? {
                    parts.push(part);
                }
                Ok(WireContent::Parts(parts))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One content part. Audio and file parts are not supported by Morn's canonical model
/// and are rejected as unknown variants (`invalid_value`).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum WirePart {
    Text {
        text: String,
    },
    ImageUrl {
        image_url: WireImageUrl,
    },
    /// An assistant's earlier refusal, sent back as history.
    Refusal {
        refusal: String,
    },
}

/// `image_url`: `{url, detail}`, or a bare URL string as some clients send it.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum WireImageUrl {
    Object {
        url: String,
        #[serde(default)]
        detail: Option<String>,
    },
    Url(String),
}

#[derive(Deserialize)]
pub(crate) struct WireToolCall {
    pub id: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    pub function: WireFunctionCall,
}

#[derive(Deserialize)]
pub(crate) struct WireFunctionCall {
    pub name: String,
    #[serde(default)]
    pub arguments: ArgumentsText,
}

/// Tool-call arguments as JSON text. OpenAI sends a string; a few servers and clients
/// send the object itself, which is kept as its JSON text.
#[derive(Default)]
pub(crate) struct ArgumentsText(pub String);

impl<'de> Deserialize<'de> for ArgumentsText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Self(s)),
            Value::Null => Ok(Self(String::new())),
            other => Ok(Self(other.to_string())),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct WireTool {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub function: Option<WireFunctionDef>,
}

#[derive(Deserialize)]
pub(crate) struct WireFunctionDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `tool_choice`: `"auto" | "none" | "required"` or `{"type":"function","function":{"name"}}`.
pub(crate) enum WireToolChoice {
    Mode(String),
    Named(WireNamedChoice),
}

#[derive(Deserialize)]
pub(crate) struct WireNamedChoice {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub function: Option<WireChoiceFunction>,
}

#[derive(Deserialize)]
pub(crate) struct WireChoiceFunction {
    pub name: String,
}

impl<'de> Deserialize<'de> for WireToolChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WireToolChoice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"auto\", \"none\", \"required\" or a named tool choice object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireToolChoice, E> {
                Ok(WireToolChoice::Mode(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WireToolChoice, A::Error> {
                WireNamedChoice::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(WireToolChoice::Named)
            }
        }
        d.deserialize_any(V)
    }
}

/// `stop`: a string or an array of strings.
pub(crate) struct StringOrList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOrList, E> {
                Ok(StringOrList(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element()? {
                    out.push(s);
                }
                Ok(StringOrList(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum WireResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: WireJsonSchema },
}

#[derive(Deserialize)]
pub(crate) struct WireJsonSchema {
    pub name: String,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

#[derive(Deserialize)]
pub(crate) struct WireStreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
}
