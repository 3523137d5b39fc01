//! Records of the commercial layer: the usage ledger, its reports, and the policies
//! (rate limits, budgets, price overrides) that are data, editable through the API.
//!
//! Money is integer micro-units (1 USD = 1,000,000); times are unix milliseconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request, as the ledger keeps it. The cost is computed once, when the request
/// ends; no price data is copied into the row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Morn's id of the request (a UUID v7); unique, so replays are idempotent.
    pub request_id: String,
    pub created_at: i64,
    /// `None` for requests made with the master key.
    pub org_id: Option<String>,
    pub workspace_id: Option<String>,
    pub user_id: Option<String>,
    pub key_id: Option<String>,
    /// `chat`, `messages` or `embeddings`.
    pub endpoint: String,
    /// The model name the client asked for.
    pub model: String,
    /// `<provider>/<upstream model>` that answered; `None` when no upstream did.
    pub deployment: Option<String>,
    pub stream: bool,
    /// The HTTP status the client saw (200 for a stream that started, even if it
    /// later broke; `error_class` says so).
    pub status: i64,
    /// `rate_limited`, `budget_exceeded`, `upstream_error`, `stream_broken`,
    /// `client_closed`...; `None` on success.
    pub error_class: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost_micros: i64,
    /// Token counts were estimated by Morn because the upstream reported none.
    pub estimated: bool,
    pub cache_hit: bool,
    pub latency_ms: i64,
    /// Time to first token (streams only).
    pub ttft_ms: Option<i64>,
    /// The caller's own `x-request-id`, when it sent one (echoed back to it, and kept
    /// here to find the record by it). `request_id` is always Morn's: a caller reusing
    /// an id must not make two requests one record.
    #[serde(default)]
    pub client_request_id: Option<String>,
}

/// Which ledger rows a report covers; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFilter {
    pub org_id: Option<String>,
    pub workspace_id: Option<String>,
    pub user_id: Option<String>,
    pub key_id: Option<String>,
    pub model: Option<String>,
    /// Inclusive lower bound on `created_at`.
    pub since: i64,
    /// Exclusive upper bound on `created_at`.
    pub until: i64,
}

/// A time bucket of a usage report (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBucket {
    Hour,
    Day,
    Month,
}

/// A dimension a usage report can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageDimension {
    Model,
    Key,
    User,
    Workspace,
}

/// How to group a usage report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageGrouping {
    pub bucket: Option<TimeBucket>,
    pub by: Vec<UsageDimension>,
}

/// One row of a usage report: the sums over the rows of one group. Grouping fields
/// not asked for are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageAggregate {
    /// Start of the time bucket, unix ms.
    pub bucket_start: Option<i64>,
    pub model: Option<String>,
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub workspace_id: Option<String>,
    pub requests: i64,
    /// Requests with an `error_class`.
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost_micros: i64,
}

/// Who a rate limit or budget applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyScope {
    Key,
    User,
    Workspace,
}

impl PolicyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::User => "user",
            Self::Workspace => "workspace",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "key" => Some(Self::Key),
            "user" => Some(Self::User),
            "workspace" => Some(Self::Workspace),
            _ => None,
        }
    }
}

/// A rate limit: requests per minute, tokens per minute and concurrent requests for
/// one key, user or workspace, on every model or one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitRule {
    pub id: String,
    pub org_id: String,
    /// The workspace the rule belongs to (the scope's workspace).
    pub workspace_id: String,
    pub scope: PolicyScope,
    /// The key, user or workspace id.
    pub scope_id: String,
    /// `None`: every model, counted together.
    pub model: Option<String>,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub max_concurrent: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The period a budget counts over (UTC calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    Day,
    Month,
    Total,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Total => "total",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            "total" => Some(Self::Total),
            _ => None,
        }
    }
}

/// A spending limit for a key, user or workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub id: String,
    pub org_id: String,
    pub workspace_id: String,
    pub scope: PolicyScope,
    pub scope_id: String,
    pub period: BudgetPeriod,
    pub amount_micros: i64,
    /// Percentages of the amount at which a soft alert fires once per period.
    pub alert_percents: Vec<i64>,
    /// Alerts are POSTed here (and always written to the audit log).
    pub webhook_url: Option<String>,
    /// Requests are refused once the budget is spent; otherwise alerts only.
    pub hard_stop: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A price that replaces the catalog's for an organization, a workspace or one
/// deployment. `price` is the catalog's price object (per million tokens, micro-units).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceOverride {
    pub id: String,
    pub org_id: String,
    /// `None`: the whole organization.
    pub workspace_id: Option<String>,
    /// The Morn model name the price applies to.
    pub model: String,
    /// `<provider>/<upstream model>`: only when this deployment answers.
    pub deployment: Option<String>,
    pub price: Value,
    pub created_at: i64,
    pub updated_at: i64,
}
