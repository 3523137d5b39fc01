//! Prices and cost. A [`Price`] is per million tokens in micro-units; the cost of a
//! request is computed from its [`Usage`] once, rounded to the nearest micro-unit.

use std::collections::HashMap;

use morn_protocol::Usage;
use serde::{Deserialize, Serialize};

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
}

/// What a request cost, in micro-units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub micros: i64,
}

impl Price {
    /// The cost of `usage` at these prices.
    pub fn cost(&self, usage: &Usage) -> Cost {
        let per_million = i128::from(self.input) * i128::from(usage.input_tokens)
            + i128::from(self.output) * i128::from(usage.output_tokens);
        Cost {
            micros: ((per_million + 500_000) / 1_000_000) as i64,
        }
    }
}

/// Model name → price, with the date the prices were read.
#[derive(Debug, Clone, Default)]
pub struct PriceCatalog {
    pub date: String,
    pub prices: HashMap<String, Price>,
}

impl PriceCatalog {
    /// The shipped catalog.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// The price of `model` (an upstream model name, provider-qualified or not).
    pub fn get(&self, model: &str) -> Option<&Price> {
        self.prices.get(model)
    }
}
