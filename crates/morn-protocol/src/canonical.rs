//! The canonical request, response and stream-event types.
//!
//! Every inbound protocol (OpenAI Chat Completions, Anthropic Messages) converts its
//! requests into these types, and every upstream adapter (OpenAI-compatible, Anthropic,
//! Gemini) converts them into its own wire format and its answers back. That is N + M
//! converters instead of N × M.
//!
//! Semantics that differ between providers are fixed here once:
//! - `Usage::input_tokens` counts *all* prompt tokens, including cache reads and cache
//!   writes (OpenAI semantics); `cache_read_tokens` and `cache_write_tokens` are subsets.
//! - `Usage::output_tokens` counts *all* generated tokens, including reasoning tokens
//!   (OpenAI semantics); `reasoning_tokens` is a subset.
//! - Tool-call arguments are kept as the JSON *text* the model produced, because streamed
//!   arguments arrive as fragments and may not be valid JSON until the end.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A chat request in canonical form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model name the client asked for (a Morn model name, not the upstream one).
    pub model: String,
    /// The conversation, system and developer instructions included, in order.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// `Some(false)` forbids more than one tool call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Anthropic and Gemini `top_k`; dropped for OpenAI upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Upper bound on generated tokens (`max_tokens` / `max_completion_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Number of choices; only OpenAI-compatible upstreams support more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// End-user identifier (OpenAI `user`, Anthropic `metadata.user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub stream: bool,
    /// `stream_options.include_usage`: the client wants a final usage chunk.
    #[serde(default)]
    pub include_usage: bool,
    /// OpenAI `reasoning_effort` (`minimal`, `low`, `medium`, `high`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Anthropic extended thinking budget, when the client asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
    /// Inbound fields Morn does not model. Forwarded untouched to upstreams that speak
    /// the same protocol as the caller (`extra_protocol`), dropped elsewhere.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    /// Which inbound protocol `extra` came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_protocol: Option<Protocol>,
}

/// Wire protocols Morn speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    OpenAi,
    Anthropic,
    Gemini,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    /// A message carrying tool results (OpenAI role `tool`; Anthropic `tool_result`
    /// blocks in a user turn; Gemini `functionResponse` parts).
    Tool,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
    /// Participant name (OpenAI `name`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    /// A message holding a single text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: vec![Part::Text { text: text.into() }],
            name: None,
        }
    }

    /// All text parts joined, ignoring other parts.
    pub fn joined_text(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let Part::Text { text } = part {
                out.push_str(text);
            }
        }
        out
    }
}

/// A piece of message content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    /// An image, as an `https://` URL or a `data:<mime>;base64,<data>` URI.
    Image {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A tool call made by the assistant.
    ToolCall(ToolCall),
    /// The result of a tool call, sent back by the client.
    ToolResult {
        tool_call_id: String,
        /// The called tool's name when the inbound protocol carries it (Gemini needs it;
        /// adapters look it up from earlier tool calls otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        content: Vec<Part>,
        #[serde(default)]
        is_error: bool,
    },
    /// Model reasoning that the provider returns in the clear (Anthropic thinking).
    Thinking {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
}

/// A tool call: which function, with what arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as JSON text, exactly as the model produced them.
    pub arguments: String,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
    /// OpenAI `strict` function calling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call at least one tool.
    Required,
    /// The model must call this tool.
    Tool { name: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end of turn, or a stop sequence (see `Choice::stop_sequence`).
    Stop,
    /// `max_tokens` reached.
    Length,
    ToolCalls,
    ContentFilter,
}

/// Token counts for one request. See the module docs for what each count includes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// A complete (non-streamed) chat answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Upstream response id when it has one; otherwise one Morn made.
    pub id: String,
    /// The model that answered, as the upstream names it.
    pub model: String,
    /// Unix seconds.
    pub created: i64,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    /// The assistant message: text, tool calls, thinking, in order.
    pub message: Message,
    pub finish_reason: FinishReason,
    /// The stop sequence that ended generation, when the upstream reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequence: Option<String>,
}

/// One event of a streamed answer, in canonical form.
///
/// Upstream decoders produce these; inbound encoders turn them into the client's wire
/// format. A well-formed stream is: `Start`, then deltas, then `Finish` for each choice,
/// then at most one `Usage`, then the end of the stream. `Error` may come at any point
/// and is the last event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The upstream accepted the request and started answering.
    Start {
        id: String,
        model: String,
        /// Input usage when known up front (Anthropic `message_start`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    TextDelta {
        choice: u32,
        text: String,
    },
    ThinkingDelta {
        choice: u32,
        text: String,
    },
    /// A thinking block's signature (Anthropic), sent once the block is complete.
    ThinkingSignature {
        choice: u32,
        signature: String,
    },
    /// A new tool call begins. `index` counts tool calls within the choice from 0.
    ToolCallStart {
        choice: u32,
        index: u32,
        id: String,
        name: String,
    },
    /// A fragment of a tool call's JSON arguments.
    ToolCallDelta {
        choice: u32,
        index: u32,
        arguments: String,
    },
    Finish {
        choice: u32,
        reason: FinishReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop_sequence: Option<String>,
    },
    /// Final usage for the whole request.
    Usage(Usage),
    /// The stream failed; nothing follows.
    Error(crate::error::ApiError),
}
