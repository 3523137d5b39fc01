//! Prices and cost. A [`Price`] is per million tokens in micro-units; the cost of a
//! request is computed from its [`Usage`] once, rounded to the nearest micro-unit.
//!
//! The same [`Price`] shape is what users send to the platform API as a price override
//! (JSON) and what the shipped catalog (`defaults.toml`, see [`catalog`]) is written in,
//! so unknown fields are refused rather than silently ignored: a misspelt `cache_raed`
//! would otherwise bill cache reads at the full input price without anyone noticing.

mod catalog;

use morn_protocol::Usage;
use serde::{Deserialize, Serialize};

pub use catalog::PriceCatalog;

/// Micro-units in one currency unit; prices are per this many tokens too.
const PER_MILLION: i128 = 1_000_000;

/// Prices of one model, per million tokens, in micro-units (1 USD = 1,000,000).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: i64,
    pub output: i64,
    /// Cached input read; defaults to `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<i64>,
    /// Cache write (Anthropic); defaults to `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<i64>,
    /// Reasoning output; defaults to `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<i64>,
    /// A dearer tier for long prompts (Gemini 2.5 Pro above 200k, Claude Sonnet 4 with
    /// the 1M context), applied to the whole request when its input exceeds the
    /// threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_context: Option<LongContext>,
    /// Batch API prices. Stored and listed so the catalog is complete; real-time
    /// requests never use them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchPrice>,
}

/// The long-prompt tier of a [`Price`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongContext {
    /// Input tokens (cached ones included, as providers count them) above which this
    /// tier applies. A prompt of exactly `threshold` tokens is still at the base tier.
    pub threshold: u64,
    pub input: i64,
    pub output: i64,
    /// Defaults to this tier's `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<i64>,
    /// Defaults to this tier's `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<i64>,
    /// Defaults to this tier's `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<i64>,
}

/// Batch API prices, per million tokens in micro-units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchPrice {
    pub input: i64,
    pub output: i64,
}

/// What a request cost, in micro-units.
///
/// The components are each rounded for display; only `micros` (the exact sum rounded
/// once) is billed, so the components may not add up to it by a micro-unit or two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub micros: i64,
    /// Uncached input.
    #[serde(default)]
    pub input_micros: i64,
    #[serde(default)]
    pub cache_read_micros: i64,
    #[serde(default)]
    pub cache_write_micros: i64,
    /// Output other than reasoning.
    #[serde(default)]
    pub output_micros: i64,
    #[serde(default)]
    pub reasoning_micros: i64,
}

/// Every rate of one tier with its defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub reasoning: i64,
}

impl Price {
    /// A price with only input and output rates.
    pub fn new(input: i64, output: i64) -> Self {
        Self {
            input,
            output,
            ..Self::default()
        }
    }

    /// The rates that apply to a request with `input_tokens` prompt tokens (cached ones
    /// included): the long-context tier above its threshold, the base rates otherwise.
    pub fn rates_for(&self, input_tokens: u64) -> Rates {
        match &self.long_context {
            Some(long) if input_tokens > long.threshold => Rates {
                input: long.input,
                output: long.output,
                cache_read: long.cache_read.unwrap_or(long.input),
                cache_write: long.cache_write.unwrap_or(long.input),
                reasoning: long.reasoning.unwrap_or(long.output),
            },
            _ => Rates {
                input: self.input,
                output: self.output,
                cache_read: self.cache_read.unwrap_or(self.input),
                cache_write: self.cache_write.unwrap_or(self.input),
                reasoning: self.reasoning.unwrap_or(self.output),
            },
        }
    }

    /// The cost of `usage` at these prices.
    ///
    /// `usage` has canonical semantics: `input_tokens` includes cache reads and writes,
    /// `output_tokens` includes reasoning. Subsets larger than their total (a confused
    /// upstream) are clamped rather than producing a negative count.
    pub fn cost(&self, usage: &Usage) -> Cost {
        let rates = self.rates_for(usage.input_tokens);
        let cache_read = usage.cache_read_tokens.min(usage.input_tokens);
        let cache_write = usage
            .cache_write_tokens
            .min(usage.input_tokens - cache_read);
        let uncached = usage.input_tokens - cache_read - cache_write;
        let reasoning = usage.reasoning_tokens.min(usage.output_tokens);
        let output = usage.output_tokens - reasoning;

        // Each part is micro-units × tokens, i.e. a millionth of a micro-unit.
        let part = |rate: i64, tokens: u64| i128::from(rate) * i128::from(tokens);
        let parts = [
            part(rates.input, uncached),
            part(rates.cache_read, cache_read),
            part(rates.cache_write, cache_write),
            part(rates.output, output),
            part(rates.reasoning, reasoning),
        ];
        Cost {
            micros: round_micros(parts.iter().fold(0, |a, p| a.saturating_add(*p))),
            input_micros: round_micros(parts[0]),
            cache_read_micros: round_micros(parts[1]),
            cache_write_micros: round_micros(parts[2]),
            output_micros: round_micros(parts[3]),
            reasoning_micros: round_micros(parts[4]),
        }
    }

    /// The most a request with `input_tokens` prompt tokens and at most
    /// `max_output_tokens` generated tokens can cost, for budget reservations: every
    /// input token uncached (or written to the cache, if dearer) at the tier the prompt
    /// falls in, every output token at the dearer of output and reasoning.
    pub fn max_cost(&self, input_tokens: u64, max_output_tokens: u64) -> i64 {
        let rates = self.rates_for(input_tokens);
        let input = rates.input.max(rates.cache_write).max(rates.cache_read);
        let output = rates.output.max(rates.reasoning);
        // Rounded up: a reservation must never be smaller than the final charge.
        let total = (i128::from(input) * i128::from(input_tokens))
            .saturating_add(i128::from(output) * i128::from(max_output_tokens))
            .max(0);
        clamp_i64(total / PER_MILLION + i128::from(total % PER_MILLION != 0))
    }

    /// Checks that no price is negative and a long-context threshold is set. `serde`
    /// cannot express these, and a negative price would credit the caller.
    pub fn validate(&self) -> Result<(), String> {
        let mut fields = vec![
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("reasoning", self.reasoning),
        ];
        if let Some(long) = &self.long_context {
            if long.threshold == 0 {
                return Err("long_context.threshold must be above 0".into());
            }
            fields.extend([
                ("long_context.input", Some(long.input)),
                ("long_context.output", Some(long.output)),
                ("long_context.cache_read", long.cache_read),
                ("long_context.cache_write", long.cache_write),
                ("long_context.reasoning", long.reasoning),
            ]);
        }
        if let Some(batch) = &self.batch {
            fields.extend([
                ("batch.input", Some(batch.input)),
                ("batch.output", Some(batch.output)),
            ]);
        }
        match fields.iter().find(|(_, v)| v.is_some_and(|v| v < 0)) {
            Some((name, Some(v))) => Err(format!(
                "{name} is {v}: prices are micro-units per million tokens and cannot be negative"
            )),
            _ => Ok(()),
        }
    }
}

/// Millionths of a micro-unit to micro-units, half up (half away from zero, though
/// valid prices are never negative).
fn round_micros(millionths: i128) -> i64 {
    // Quotient and remainder rather than `(m + half) / P`, which overflows near the
    // i128 bounds that saturated sums reach.
    // Usage fits in i64 almost always, and i64 division is several times cheaper than
    // i128's (a library call).
    if let Ok(m) = i64::try_from(millionths) {
        let (q, r) = (m / 1_000_000, m % 1_000_000);
        return q + i64::from(r >= 500_000) - i64::from(r <= -500_000);
    }
    let (q, r) = (millionths / PER_MILLION, millionths % PER_MILLION);
    let half = PER_MILLION / 2;
    clamp_i64(q + i128::from(r >= half) - i128::from(r <= -half))
}

/// Saturates instead of wrapping: u64::MAX tokens at a high price overflows i64.
fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        }
    }

    #[test]
    fn rounds_once_half_up() {
        // 1 token at 1.5 micro-units per million is 0.0000015 micro-units: rounds to 0;
        // 500_000 tokens at 1 micro-unit per million is exactly half: rounds up.
        let p = Price::new(1, 0);
        assert_eq!(p.cost(&usage(500_000, 0)).micros, 1);
        assert_eq!(p.cost(&usage(499_999, 0)).micros, 0);
        // Two halves in different parts add up to one, not zero or two.
        let p = Price::new(1, 1);
        assert_eq!(p.cost(&usage(250_000, 250_000)).micros, 1);
    }

    #[test]
    fn clamps_inconsistent_subsets() {
        let p = Price {
            cache_read: Some(0),
            ..Price::new(1_000_000, 2_000_000)
        };
        let u = Usage {
            input_tokens: 10,
            output_tokens: 5,
            cache_read_tokens: 50,
            cache_write_tokens: 7,
            reasoning_tokens: 9,
        };
        // All 10 input tokens are cache reads (free); all 5 output tokens reasoning.
        assert_eq!(p.cost(&u).micros, 10);
    }

    #[test]
    fn huge_usage_saturates() {
        let p = Price::new(i64::MAX, i64::MAX);
        assert_eq!(p.cost(&usage(u64::MAX, u64::MAX)).micros, i64::MAX);
        assert_eq!(p.max_cost(u64::MAX, u64::MAX), i64::MAX);
    }

    #[test]
    fn validate_names_the_field() {
        let p = Price {
            batch: Some(BatchPrice {
                input: -1,
                output: 0,
            }),
            ..Price::new(1, 1)
        };
        let err = p.validate().err().unwrap_or_default();
        assert!(err.starts_with("batch.input is -1"), "{err}");
    }
}
