//! Admission: before a request goes upstream, everything it may use is reserved in one
//! all-or-nothing [`Counters::reserve`] call: a request in each matching requests-per-
//! minute window, its estimated tokens in each tokens-per-minute window, a concurrency
//! slot, and its worst-case cost in each budget. Reserving the worst case is what keeps
//! concurrent requests from overspending a budget. When the request ends,
//! [`Admission::settle`] replaces the estimates with what was really used and frees the
//! concurrency slots.

use std::sync::{Arc, OnceLock};

use morn_meter::counters::{Adjustment, Counters, Outcome, Reservation};
use morn_protocol::{ApiError, ErrorKind};
use morn_store::{Budget, PolicyScope};

use axum::http::{HeaderName, HeaderValue};

use super::period::{budget_window, minute, reset_text};
use super::policy::PolicySet;
use crate::identity::CachedKey;

/// How long a concurrency slot outlives a replica that died holding it.
const CONCURRENCY_TTL_MS: u64 = 10 * 60_000;
/// Windows are kept a little past their end, so a late settle still finds them.
const WINDOW_SLACK_MS: i64 = 5_000;

/// What the caller asks to reserve.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub model: &'a str,
    /// Prompt tokens plus the output tokens the request may produce.
    pub tokens: i64,
    /// The most the request can cost, in micro-units.
    pub worst_cost: i64,
    pub now: i64,
}

/// One reserved amount and what it stands for.
#[derive(Debug, Clone)]
enum Hold {
    Requests {
        scope: PolicyScope,
        key: Arc<str>,
        limit: i64,
        reset_at: i64,
    },
    Tokens {
        scope: PolicyScope,
        key: Arc<str>,
        amount: i64,
        limit: i64,
        ttl_ms: u64,
        reset_at: i64,
    },
    Concurrency {
        scope: PolicyScope,
        key: Arc<str>,
        limit: i64,
    },
    Budget {
        budget: Arc<Budget>,
        key: Arc<str>,
        amount: i64,
        ttl_ms: u64,
        period_start: i64,
        /// The counter right after this request reserved (its worst case included).
        reserved_to: i64,
    },
}

/// `x-ratelimit-*` values: the tightest requests and tokens windows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// (limit, remaining, reset in ms)
    pub requests: Option<(i64, i64, i64)>,
    pub tokens: Option<(i64, i64, i64)>,
}

/// The header names of a window's limit, remaining and reset, requests then tokens.
const NAMES: [[&str; 3]; 2] = [
    [
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
    ],
    [
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ],
];

impl RateHeaders {
    /// The windows present, each with its names.
    fn windows(&self) -> impl Iterator<Item = (&'static [&'static str; 3], (i64, i64, i64))> {
        [self.requests, self.tokens]
            .into_iter()
            .zip(&NAMES)
            .filter_map(|(window, names)| Some((names, window?)))
    }

    /// The headers, as OpenAI names them.
    pub fn pairs(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::with_capacity(6);
        for (&[limit_name, remaining_name, reset_name], (limit, remaining, reset_ms)) in
            self.windows()
        {
            out.push((
                HeaderName::from_static(limit_name),
                HeaderValue::from(limit),
            ));
            out.push((
                HeaderName::from_static(remaining_name),
                HeaderValue::from(remaining.max(0)),
            ));
            out.extend(reset_value(reset_ms).map(|v| (HeaderName::from_static(reset_name), v)));
        }
        out
    }

    /// The same headers as HTTP/1.1 head lines (`name: value\r\n`), for a writer that
    /// builds the head itself: no header map, no hashing of six names and no value
    /// allocations per answer (4 k instructions as map entries, measured by callgrind).
    pub fn write_lines(&self, out: &mut Vec<u8>) {
        let mut line = |name: &str, value: &[u8]| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        };
        let mut number = itoa::Buffer::new();
        for (&[limit_name, remaining_name, reset_name], (limit, remaining, reset_ms)) in
            self.windows()
        {
            line(limit_name, number.format(limit).as_bytes());
            line(remaining_name, number.format(remaining.max(0)).as_bytes());
            match whole_seconds(reset_ms) {
                Some(value) => line(reset_name, value.as_bytes()),
                None => line(reset_name, reset_text(reset_ms).as_bytes()),
            }
        }
    }
}

/// A reset header's value. A minute window resets in 1 to 60 whole seconds for all but
/// its last second, so those values are made once and shared (a clone is a reference
/// count, not an allocation and a `format!`).
fn reset_value(ms: i64) -> Option<HeaderValue> {
    match whole_seconds(ms) {
        Some(value) => Some(value.clone()),
        None => HeaderValue::from_str(&reset_text(ms)).ok(),
    }
}

/// The shared value of a reset `ms` away when it is 1 to 60 whole seconds, rounded up.
fn whole_seconds(ms: i64) -> Option<&'static HeaderValue> {
    static WHOLE_SECONDS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    if ms < 1000 {
        return None;
    }
    let secs = usize::try_from((ms + 999) / 1000).ok()?;
    WHOLE_SECONDS
        .get_or_init(|| {
            (0..=60)
                .filter_map(|s| HeaderValue::from_str(&reset_text(s * 1000)).ok())
                .collect()
        })
        .get(secs)
}

/// A budget a settled request spent from, for alerting.
#[derive(Debug, Clone)]
pub struct Spent {
    pub budget: Arc<Budget>,
    pub key: Arc<str>,
    pub period_start: i64,
    /// The spend as this request saw it: the counter as its reservation left it
    /// (others' reservations in flight included), with its own reservation replaced
    /// by the actual cost. The request that reserved last sees at least the final
    /// spend, so no crossing goes unnoticed.
    pub seen_spend: i64,
}

/// What an admitted request holds until it settles.
pub struct Admission {
    counters: Option<Arc<dyn Counters>>,
    holds: Vec<Hold>,
    pub headers: RateHeaders,
    /// Whether a hard budget applies (the request's output must then be bounded).
    pub hard_budget: bool,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("holds", &self.holds.len())
            .finish()
    }
}

/// Why admission refused, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Limit {
        scope: PolicyScope,
        what: &'static str,
    },
    Budget {
        scope: PolicyScope,
    },
    Unavailable,
}

impl Admission {
    /// Budgets this admission holds (to seed before reserving).
    pub fn budget_keys(&self) -> impl Iterator<Item = (&Arc<Budget>, &str, i64, u64)> {
        self.holds.iter().filter_map(|h| match h {
            Hold::Budget {
                budget,
                key,
                period_start,
                ttl_ms,
                ..
            } => Some((budget, &**key, *period_start, *ttl_ms)),
            _ => None,
        })
    }

    /// The counters the caller's policies touch for this request, not yet reserved.
    pub fn plan(policies: &PolicySet, key: &CachedKey, ask: Ask<'_>) -> Self {
        let mut holds = Vec::new();
        let subjects = [
            (PolicyScope::Key, Some(key.id.as_str())),
            (PolicyScope::User, key.user_id.as_deref()),
            (PolicyScope::Workspace, Some(key.workspace_id.as_str())),
        ];
        let (window_start, window_end) = minute(ask.now);
        let window_ttl = (window_end - ask.now + WINDOW_SLACK_MS) as u64;
        for (scope, id) in subjects {
            let Some(id) = id else { continue };
            for limit in policies.limits.get(id).into_iter().flatten() {
                let rule = &limit.rule;
                if rule.scope != scope
                    || rule.workspace_id != key.workspace_id
                    || rule.model.as_deref().is_some_and(|m| m != ask.model)
                {
                    continue;
                }
                if let Some(max) = rule.rpm {
                    holds.push(Hold::Requests {
                        scope,
                        key: limit.names.requests.at(window_start),
                        limit: max,
                        reset_at: window_end,
                    });
                }
                if let Some(max) = rule.tpm {
                    holds.push(Hold::Tokens {
                        scope,
                        key: limit.names.tokens.at(window_start),
                        amount: ask.tokens,
                        limit: max,
                        ttl_ms: window_ttl,
                        reset_at: window_end,
                    });
                }
                if let Some(max) = rule.max_concurrent {
                    holds.push(Hold::Concurrency {
                        scope,
                        key: limit.names.concurrency.clone(),
                        limit: max,
                    });
                }
            }
            for entry in policies.budgets.get(id).into_iter().flatten() {
                let budget = &entry.budget;
                if budget.scope != scope || budget.workspace_id != key.workspace_id {
                    continue;
                }
                let (start, end) = budget_window(budget.period, ask.now);
                let ttl_ms = if end == i64::MAX {
                    0
                } else {
                    (end - ask.now + 3_600_000) as u64
                };
                holds.push(Hold::Budget {
                    budget: budget.clone(),
                    key: entry.name.at(start),
                    amount: ask.worst_cost,
                    ttl_ms,
                    period_start: start,
                    reserved_to: 0,
                });
            }
        }
        let hard_budget = holds
            .iter()
            .any(|h| matches!(h, Hold::Budget { budget, .. } if budget.hard_stop));
        Self {
            counters: None,
            holds,
            headers: RateHeaders::default(),
            hard_budget,
        }
    }

    /// Whether nothing needs reserving.
    pub fn is_free(&self) -> bool {
        self.holds.is_empty()
    }

    fn reservations(&self, now: i64) -> Vec<Reservation> {
        self.holds
            .iter()
            .map(|h| match h {
                Hold::Requests {
                    key,
                    limit,
                    reset_at,
                    ..
                } => Reservation {
                    key: key.clone(),
                    amount: 1,
                    limit: *limit,
                    ttl_ms: (reset_at - now + WINDOW_SLACK_MS) as u64,
                },
                Hold::Tokens {
                    key,
                    amount,
                    limit,
                    ttl_ms,
                    ..
                } => Reservation {
                    key: key.clone(),
                    amount: *amount,
                    limit: *limit,
                    ttl_ms: *ttl_ms,
                },
                Hold::Concurrency { key, limit, .. } => Reservation {
                    key: key.clone(),
                    amount: 1,
                    limit: *limit,
                    ttl_ms: CONCURRENCY_TTL_MS,
                },
                Hold::Budget {
                    budget,
                    key,
                    amount,
                    ttl_ms,
                    ..
                } => Reservation {
                    key: key.clone(),
                    amount: *amount,
                    limit: if budget.hard_stop {
                        budget.amount_micros
                    } else {
                        i64::MAX / 2
                    },
                    ttl_ms: *ttl_ms,
                },
            })
            .collect()
    }

    /// Reserves everything planned, or refuses with the caller-facing error.
    pub async fn reserve(
        mut self,
        counters: &Arc<dyn Counters>,
        now: i64,
    ) -> Result<Self, (Refusal, ApiError)> {
        let items = self.reservations(now);
        let outcome = counters.reserve(&items).await.map_err(|err| {
            tracing::error!(error = %err, "rate-limit counters unavailable");
            (
                Refusal::Unavailable,
                ApiError::new(
                    ErrorKind::Unavailable,
                    "Rate limiting is temporarily unavailable. Try again shortly.",
                )
                .with_code("limiter_unavailable")
                .with_retry_after(Some(1)),
            )
        })?;
        match outcome {
            Outcome::Admitted(values) => {
                self.headers = headers(&self.holds, &items, &values, now);
                for (hold, value) in self.holds.iter_mut().zip(&values) {
                    if let Hold::Budget { reserved_to, .. } = hold {
                        *reserved_to = *value;
                    }
                }
                self.counters = Some(counters.clone());
                Ok(self)
            }
            Outcome::Denied { index, current } => {
                Err(refusal(&self.holds[index], &items[index], current, now))
            }
        }
    }

    /// Replaces estimates with actual use and frees concurrency slots. Returns the
    /// budgets spent from, for alerting.
    pub async fn settle(mut self, tokens: i64, cost: i64) -> Vec<Spent> {
        let Some(counters) = self.counters.take() else {
            return Vec::new();
        };
        let (adjustments, spent) = settlement(&self.holds, tokens, cost);
        if !adjustments.is_empty()
            && let Err(err) = counters.adjust(&adjustments).await
        {
            tracing::warn!(error = %err, "could not settle rate-limit counters");
        }
        self.holds.clear();
        spent
    }
}

impl Drop for Admission {
    /// A request dropped without settling (the client went away mid-stream, a task
    /// was cancelled) still frees its concurrency slots; its reservations stand, which
    /// errs on the safe side.
    fn drop(&mut self) {
        let Some(counters) = self.counters.take() else {
            return;
        };
        let release: Vec<Adjustment> = self
            .holds
            .iter()
            .filter_map(|h| match h {
                Hold::Concurrency { key, .. } => Some(Adjustment {
                    key: key.clone(),
                    delta: -1,
                    ttl_ms: CONCURRENCY_TTL_MS,
                }),
                _ => None,
            })
            .collect();
        if release.is_empty() {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = counters.adjust(&release).await;
            });
        }
    }
}

fn settlement(holds: &[Hold], tokens: i64, cost: i64) -> (Vec<Adjustment>, Vec<Spent>) {
    let mut adjustments = Vec::new();
    let mut spent = Vec::new();
    for hold in holds {
        match hold {
            Hold::Requests { .. } => {}
            Hold::Tokens {
                key,
                amount,
                ttl_ms,
                ..
            } => {
                if tokens != *amount {
                    adjustments.push(Adjustment {
                        key: key.clone(),
                        delta: tokens - amount,
                        ttl_ms: *ttl_ms,
                    });
                }
            }
            Hold::Concurrency { key, .. } => adjustments.push(Adjustment {
                key: key.clone(),
                delta: -1,
                ttl_ms: CONCURRENCY_TTL_MS,
            }),
            Hold::Budget {
                budget,
                key,
                amount,
                ttl_ms,
                period_start,
                reserved_to,
            } => {
                if cost != *amount {
                    adjustments.push(Adjustment {
                        key: key.clone(),
                        delta: cost - amount,
                        ttl_ms: *ttl_ms,
                    });
                }
                spent.push(Spent {
                    budget: budget.clone(),
                    key: key.clone(),
                    period_start: *period_start,
                    seen_spend: reserved_to.saturating_add(cost - amount),
                });
            }
        }
    }
    (adjustments, spent)
}

fn headers(holds: &[Hold], items: &[Reservation], values: &[i64], now: i64) -> RateHeaders {
    let mut out = RateHeaders::default();
    let tighter = |slot: &mut Option<(i64, i64, i64)>, cand: (i64, i64, i64)| {
        if slot.is_none_or(|s| cand.1 < s.1) {
            *slot = Some(cand);
        }
    };
    for ((hold, item), value) in holds.iter().zip(items).zip(values) {
        match hold {
            Hold::Requests { reset_at, .. } => tighter(
                &mut out.requests,
                (item.limit, item.limit - value, reset_at - now),
            ),
            Hold::Tokens { reset_at, .. } => tighter(
                &mut out.tokens,
                (item.limit, item.limit - value, reset_at - now),
            ),
            _ => {}
        }
    }
    out
}

fn refusal(hold: &Hold, item: &Reservation, current: i64, now: i64) -> (Refusal, ApiError) {
    match hold {
        Hold::Requests {
            scope, reset_at, ..
        } => {
            let wait = (reset_at - now).max(0);
            (
                Refusal::Limit {
                    scope: *scope,
                    what: "requests",
                },
                ApiError::new(
                    ErrorKind::RateLimited,
                    format!(
                        "Rate limit reached for this {} on requests per minute: limit {}, used {current}. Try again in {}.",
                        scope.as_str(),
                        item.limit,
                        reset_text(wait)
                    ),
                )
                .with_code("rate_limit_exceeded")
                .with_retry_after(Some(((wait + 999) / 1000).max(1) as u64)),
            )
        }
        Hold::Tokens {
            scope,
            amount,
            reset_at,
            ..
        } => {
            let wait = (reset_at - now).max(0);
            let what = Refusal::Limit {
                scope: *scope,
                what: "tokens",
            };
            if *amount > item.limit {
                return (
                    what,
                    ApiError::new(
                        ErrorKind::RateLimited,
                        format!(
                            "Request too large for this {}'s tokens per minute: limit {}, requested {amount}. Reduce the prompt or max_tokens.",
                            scope.as_str(),
                            item.limit
                        ),
                    )
                    .with_code("tokens_exceed_limit"),
                );
            }
            (
                what,
                ApiError::new(
                    ErrorKind::RateLimited,
                    format!(
                        "Rate limit reached for this {} on tokens per minute: limit {}, used {current}, requested {amount}. Try again in {}.",
                        scope.as_str(),
                        item.limit,
                        reset_text(wait)
                    ),
                )
                .with_code("rate_limit_exceeded")
                .with_retry_after(Some(((wait + 999) / 1000).max(1) as u64)),
            )
        }
        Hold::Concurrency { scope, limit, .. } => (
            Refusal::Limit {
                scope: *scope,
                what: "concurrency",
            },
            ApiError::new(
                ErrorKind::RateLimited,
                format!(
                    "Too many concurrent requests for this {}: limit {limit}.",
                    scope.as_str()
                ),
            )
            .with_code("concurrency_limit_exceeded")
            .with_retry_after(Some(1)),
        ),
        Hold::Budget { budget, amount, .. } => (
            Refusal::Budget {
                scope: budget.scope,
            },
            ApiError::new(
                ErrorKind::RateLimited,
                format!(
                    "The {} {} budget is exhausted: {} of {} micro-units spent, this request may cost up to {amount}.",
                    budget.scope.as_str(),
                    budget.period.as_str(),
                    current,
                    budget.amount_micros
                ),
            )
            .with_code("budget_exceeded"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_headers_carry_both_windows_as_openai_writes_them() {
        let headers = RateHeaders {
            requests: Some((600, 599, 250)),
            tokens: Some((90_000, -3, 63_000)),
        };
        let pairs: Vec<(String, String)> = headers
            .pairs()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_owned()))
            .collect();
        let want = [
            ("x-ratelimit-limit-requests", "600"),
            ("x-ratelimit-remaining-requests", "599"),
            ("x-ratelimit-reset-requests", "250ms"),
            ("x-ratelimit-limit-tokens", "90000"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "1m3s"),
        ];
        let resets = [(0, "0ms"), (999, "999ms"), (1_000, "1s"), (1_001, "2s")];
        for (ms, want) in resets
            .into_iter()
            .chain([(59_001, "1m0s"), (60_000, "1m0s")])
        {
            let value = reset_value(ms).map(|v| v.to_str().unwrap_or("?").to_owned());
            assert_eq!(value.as_deref(), Some(want), "{ms} ms");
        }
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs, want);
        // The head lines the HTTP/1.1 writer puts out say the same.
        let mut lines = Vec::new();
        headers.write_lines(&mut lines);
        let from_pairs: String = want.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
        assert_eq!(String::from_utf8_lossy(&lines), from_pairs);
        for ms in [0, 999, 1_000, 59_001, 60_000, 61_000, 3_600_000] {
            let mut one = Vec::new();
            RateHeaders {
                requests: Some((1, 1, ms)),
                tokens: None,
            }
            .write_lines(&mut one);
            let value = reset_value(ms).map(|v| v.to_str().unwrap_or("?").to_owned());
            let want = format!(
                "x-ratelimit-reset-requests: {}\r\n",
                value.unwrap_or_default()
            );
            assert!(String::from_utf8_lossy(&one).ends_with(&want), "{ms} ms");
        }
        let tokens_only = RateHeaders {
            requests: None,
            tokens: Some((5, 5, 1_000)),
        };
        let names: Vec<String> = tokens_only
            .pairs()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "x-ratelimit-limit-tokens",
                "x-ratelimit-remaining-tokens",
                "x-ratelimit-reset-tokens"
            ]
        );
    }
}
