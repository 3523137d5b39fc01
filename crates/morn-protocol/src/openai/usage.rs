//! The OpenAI `usage` object, written for clients and read from upstreams.

use serde::{Deserialize, Serialize};

use crate::Usage;
use crate::json_scan::{Cursor, Seen};

/// `usage` as OpenAI writes it today, details included (clients such as the Python
/// SDK read `prompt_tokens_details.cached_tokens` and
/// `completion_tokens_details.reasoning_tokens`).
#[derive(Serialize)]
pub(crate) struct WireUsageOut {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetailsOut,
    completion_tokens_details: CompletionDetailsOut,
}

#[derive(Serialize)]
struct PromptDetailsOut {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetailsOut {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

impl From<&Usage> for WireUsageOut {
    fn from(u: &Usage) -> Self {
        Self {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.total_tokens(),
            prompt_tokens_details: PromptDetailsOut {
                cached_tokens: u.cache_read_tokens,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetailsOut {
                reasoning_tokens: u.reasoning_tokens,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }
}

impl WireUsageOut {
    /// Appends the JSON `serde_json` would write for `self`, by hand: every streamed
    /// answer with usage ends with it (a test in `stream_encode.rs` holds the two
    /// together).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        let mut number = itoa::Buffer::new();
        let mut put = |out: &mut Vec<u8>, before: &[u8], value: u64| {
            out.extend_from_slice(before);
            out.extend_from_slice(number.format(value).as_bytes());
        };
        let p = &self.prompt_tokens_details;
        let c = &self.completion_tokens_details;
        put(out, b"{\"prompt_tokens\":", self.prompt_tokens);
        put(out, b",\"completion_tokens\":", self.completion_tokens);
        put(out, b",\"total_tokens\":", self.total_tokens);
        put(
            out,
            b",\"prompt_tokens_details\":{\"cached_tokens\":",
            p.cached_tokens,
        );
        put(out, b",\"audio_tokens\":", p.audio_tokens);
        put(
            out,
            b"},\"completion_tokens_details\":{\"reasoning_tokens\":",
            c.reasoning_tokens,
        );
        put(out, b",\"audio_tokens\":", c.audio_tokens);
        put(
            out,
            b",\"accepted_prediction_tokens\":",
            c.accepted_prediction_tokens,
        );
        put(
            out,
            b",\"rejected_prediction_tokens\":",
            c.rejected_prediction_tokens,
        );
        out.extend_from_slice(b"}}");
    }
}

/// `usage` as OpenAI-compatible servers send it: every field optional and nullable.
#[derive(Deserialize, Default, Debug, Clone, Copy)]
pub(crate) struct WireUsageIn {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetailsIn>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetailsIn>,
    /// DeepSeek reports cache hits here instead of `prompt_tokens_details`.
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize, Default, Debug, Clone, Copy)]
struct PromptDetailsIn {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Default, Debug, Clone, Copy)]
struct CompletionDetailsIn {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl WireUsageIn {
    /// Reads `usage` at `cursor` as its `Deserialize` does (null fields as absent, a
    /// field given twice refused), without serde: the relay reads it on every answer.
    pub(crate) fn scan(cursor: &mut Cursor<'_>) -> Option<Self> {
        let mut usage = Self::default();
        let mut seen = Seen::default();
        cursor.object(|cursor, key| {
            let bit = match key {
                b"prompt_tokens" => 1,
                b"completion_tokens" => 2,
                b"prompt_tokens_details" => 4,
                b"completion_tokens_details" => 8,
                b"prompt_cache_hit_tokens" => 16,
                _ => return cursor.value().map(drop),
            };
            seen.first(bit)?;
            match bit {
                1 => usage.prompt_tokens = cursor.opt_u64()?,
                2 => usage.completion_tokens = cursor.opt_u64()?,
                16 => usage.prompt_cache_hit_tokens = cursor.opt_u64()?,
                4 => {
                    usage.prompt_tokens_details = detail(cursor, b"cached_tokens")?
                        .map(|cached_tokens| PromptDetailsIn { cached_tokens });
                }
                _ => {
                    usage.completion_tokens_details = detail(cursor, b"reasoning_tokens")?
                        .map(|reasoning_tokens| CompletionDetailsIn { reasoning_tokens });
                }
            }
            Some(())
        })?;
        Some(usage)
    }
}

/// A `*_details` object (or null: `Some(None)`) and its one field Morn reads.
fn detail(cursor: &mut Cursor<'_>, field: &[u8]) -> Option<Option<Option<u64>>> {
    if cursor.null() {
        return Some(None);
    }
    let mut value = None;
    cursor.object(|cursor, key| {
        if key != field {
            return cursor.value().map(drop);
        }
        if value.is_some() {
            return None;
        }
        value = Some(cursor.opt_u64()?);
        Some(())
    })?;
    Some(Some(value.flatten()))
}

impl From<WireUsageIn> for Usage {
    fn from(u: WireUsageIn) -> Self {
        let cached = u.prompt_tokens_details.and_then(|d| d.cached_tokens);
        Usage {
            input_tokens: u.prompt_tokens.unwrap_or(0),
            output_tokens: u.completion_tokens.unwrap_or(0),
            cache_read_tokens: cached.or(u.prompt_cache_hit_tokens).unwrap_or(0),
            cache_write_tokens: 0,
            reasoning_tokens: u
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}
