//! Token counts Morn makes itself, for requests whose upstream reported no usage and
//! for reservations made before a call.
//!
//! Two tools, for two jobs:
//! - [`count_prompt`], [`count_text`], [`count_inputs`]: tiktoken-identical BPE counts
//!   (`o200k_base` for gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and the o-series; `cl100k_base`
//!   for gpt-4, gpt-3.5 and the `text-embedding-3`/`ada-002` embeddings). Use them for
//!   the usage record when an upstream reports no usage: they match what OpenAI bills.
//!   Other providers' tokenizers are not public or not shipped, so their models are
//!   counted with `o200k_base` as an approximation (usually within ~10-20% for English
//!   text; such records are marked estimated anyway). A full BPE pass costs about
//!   100 ns per token, so a long prompt costs a fraction of a millisecond.
//! - [`estimate_prompt_fast`]: one pass over the bytes that imitates the
//!   pre-tokenizer (words, digit groups, symbols, characters) without the BPE merges,
//!   with the same per-message overhead; tens of times cheaper. Use it on the request
//!   path for rate-limit and budget reservations, which are settled against the real
//!   usage afterwards. It errs on the high side: on English, code, JSON, CJK and
//!   accented text it comes out 1.1-1.8x the exact count (see `tests/tokens.rs`).
//!
//! The ranks are compiled into the binary by `bpe-openai` (no download at build or run
//! time); each encoder is decoded once, on first use, behind a `LazyLock` in that crate
//! (~60 ms for `o200k_base`). Call [`warm_up`] at startup to pay that before the first
//! request does.

use bpe_openai::Tokenizer;
use morn_protocol::{ChatRequest, Message, Part};

/// Tokens OpenAI adds around every message (`<|start|>role ... <|end|>`), per its
/// cookbook's `num_tokens_from_messages` for current chat models.
const PER_MESSAGE: u64 = 3;
/// A message's `name` costs one token beyond its text.
const PER_NAME: u64 = 1;
/// Every reply is primed with `<|start|>assistant<|message|>`.
const REPLY_PRIMING: u64 = 3;
/// OpenAI renders tool definitions into a hidden system-prompt section; its exact
/// format is not public. These constants approximate it: a fixed cost for the section
/// and per tool, on top of the name, description and JSON schema text.
const TOOLS_SECTION: u64 = 12;
const PER_TOOL: u64 = 8;
/// Image tokens are set by the image's size, which Morn does not decode on the hot
/// path. `low` detail is a flat 85 for OpenAI; otherwise this is a 1024×1024 image at
/// `high` detail (85 + 4 tiles × 170), a common size and a fair middle.
const IMAGE_LOW: u64 = 85;
const IMAGE_DEFAULT: u64 = 765;
/// Letters per extra token of a long word in the fast estimate. Real BPE merges are
/// longer (about 6 letters per token for English); shorter errs on the high side.
const FAST_LETTERS_PER_TOKEN: u64 = 4;

/// Which BPE vocabulary a model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1/o3/o4, gpt-oss; also the approximation for
    /// every non-OpenAI model.
    O200kBase,
    /// gpt-4, gpt-3.5-turbo, text-embedding-3-*, text-embedding-ada-002.
    Cl100kBase,
}

impl Encoding {
    /// The encoding `model` uses, by name; a provider prefix (`openai/gpt-4`) is
    /// ignored.
    pub fn for_model(model: &str) -> Self {
        let name = model.rsplit_once('/').map_or(model, |(_, name)| name);
        const O200K: [&str; 8] = [
            "gpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "gpt-oss",
            "chatgpt-4o",
            "o1",
            "o3",
        ];
        const CL100K: [&str; 5] = [
            "gpt-4",
            "gpt-3.5",
            "gpt-35",
            "text-embedding-3",
            "text-embedding-ada-002",
        ];
        // o200k prefixes first: `gpt-4o` also starts with `gpt-4`.
        if O200K.iter().any(|p| name.starts_with(p)) || name.starts_with("o4") {
            Self::O200kBase
        } else if CL100K.iter().any(|p| name.starts_with(p)) {
            Self::Cl100kBase
        } else {
            Self::O200kBase
        }
    }

    fn tokenizer(self) -> &'static Tokenizer {
        match self {
            Self::O200kBase => bpe_openai::o200k_base(),
            Self::Cl100kBase => bpe_openai::cl100k_base(),
        }
    }

    /// Tokens in `text`.
    pub fn count(self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        self.tokenizer().count(text) as u64
    }
}

/// Decodes both encoders now, so the first request does not pay for it.
pub fn warm_up() {
    Encoding::O200kBase.count("warm up");
    Encoding::Cl100kBase.count("warm up");
}

/// Tokens in `text` for `model`.
pub fn count_text(model: &str, text: &str) -> u64 {
    Encoding::for_model(model).count(text)
}

/// Input tokens of an embeddings request: the sum over inputs, as OpenAI reports
/// `prompt_tokens` (no per-input overhead).
pub fn count_inputs(model: &str, inputs: &[String]) -> u64 {
    let encoding = Encoding::for_model(model);
    inputs.iter().map(|text| encoding.count(text)).sum()
}

/// Prompt tokens of a chat request (messages, tools, system), as the upstream would
/// count them.
pub fn count_prompt(req: &ChatRequest) -> u64 {
    let encoding = Encoding::for_model(&req.model);
    let count = |text: &str| encoding.count(text);
    prompt_tokens(req, &count)
}

/// A cheap over-estimate of [`count_prompt`] for reservations; see the module docs.
pub fn estimate_prompt_fast(req: &ChatRequest) -> u64 {
    prompt_tokens(req, &estimate_text_fast)
}

/// A cheap over-estimate of [`count_text`]: one pass over the bytes that mimics the
/// pre-tokenizer instead of running the BPE merges.
///
/// Each run of ASCII letters is one token plus one per [`FAST_LETTERS_PER_TOKEN`]
/// letters after the first (BPE merges common words whole and splits rare ones into a
/// few pieces); digits go in threes as in the o200k and cl100k patterns; every ASCII
/// symbol and every non-ASCII character is a token of its own (CJK is close to that;
/// accented Latin and symbol runs such as `();` merge, so they are over-counted);
/// whitespace is free except for indentation runs, one token each.
pub fn estimate_text_fast(text: &str) -> u64 {
    let mut tokens = 0u64;
    let mut letters = 0u64;
    let mut digits = 0u64;
    let mut spaces = 0u64;
    let flush = |tokens: &mut u64, letters: &mut u64, digits: &mut u64| {
        if *letters > 0 {
            *tokens += 1 + (*letters - 1) / FAST_LETTERS_PER_TOKEN;
        }
        *tokens += digits.div_ceil(3);
        (*letters, *digits) = (0, 0);
    };
    for &b in text.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => {
                letters += 1;
                spaces = 0;
                continue;
            }
            b'0'..=b'9' => {
                digits += 1;
                continue;
            }
            _ => {}
        }
        flush(&mut tokens, &mut letters, &mut digits);
        match b {
            b' ' | b'\t' => {
                spaces += 1;
                // A single space joins the next word; a run of them is a token.
                if spaces == 2 {
                    tokens += 1;
                }
                continue;
            }
            // UTF-8 continuation bytes: the character was counted at its lead byte.
            0x80..=0xBF => {}
            _ => tokens += 1,
        }
        spaces = 0;
    }
    flush(&mut tokens, &mut letters, &mut digits);
    tokens
}

/// The chat prompt accounting shared by the exact count and the fast estimate, with
/// `count` the text measure.
fn prompt_tokens(req: &ChatRequest, count: &dyn Fn(&str) -> u64) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|message| message_tokens(message, count))
        .sum();
    let tools = if req.tools.is_empty() {
        0
    } else {
        let per_tool: u64 = req
            .tools
            .iter()
            .map(|tool| {
                // The schema as compact JSON text is what a model sees, near enough.
                let schema = serde_json::to_string(&tool.parameters).unwrap_or_default();
                PER_TOOL
                    + count(&tool.name)
                    + tool.description.as_deref().map_or(0, count)
                    + count(&schema)
            })
            .sum();
        TOOLS_SECTION + per_tool
    };
    messages + tools + REPLY_PRIMING
}

fn message_tokens(message: &Message, count: &dyn Fn(&str) -> u64) -> u64 {
    let role = match message.role {
        morn_protocol::Role::System => "system",
        morn_protocol::Role::Developer => "developer",
        morn_protocol::Role::User => "user",
        morn_protocol::Role::Assistant => "assistant",
        morn_protocol::Role::Tool => "tool",
    };
    let name = message.name.as_deref().map_or(0, |n| PER_NAME + count(n));
    PER_MESSAGE + count(role) + name + parts_tokens(&message.content, count)
}

fn parts_tokens(parts: &[Part], count: &dyn Fn(&str) -> u64) -> u64 {
    parts
        .iter()
        .map(|part| match part {
            Part::Text { text } | Part::Thinking { text, .. } => count(text),
            Part::Image { detail, .. } => match detail.as_deref() {
                Some("low") => IMAGE_LOW,
                _ => IMAGE_DEFAULT,
            },
            // Ids are not part of what the model reads; names and arguments are.
            Part::ToolCall(call) => count(&call.name) + count(&call.arguments),
            Part::ToolResult { name, content, .. } => {
                name.as_deref().map_or(0, count) + parts_tokens(content, count)
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_encoding_by_model() {
        use Encoding::*;
        for (model, encoding) in [
            ("gpt-4o-mini", O200kBase),
            ("gpt-4.1-nano", O200kBase),
            ("o3-mini", O200kBase),
            ("o4-mini", O200kBase),
            ("gpt-5", O200kBase),
            ("openai/gpt-4o", O200kBase),
            ("gpt-4", Cl100kBase),
            ("gpt-4-turbo", Cl100kBase),
            ("gpt-3.5-turbo", Cl100kBase),
            ("text-embedding-3-small", Cl100kBase),
            ("text-embedding-ada-002", Cl100kBase),
            ("claude-sonnet-4-5", O200kBase),
        ] {
            assert_eq!(Encoding::for_model(model), encoding, "{model}");
        }
    }
}
