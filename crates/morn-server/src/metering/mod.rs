//! Metering on the request path: admission (rate limits and budget reservations),
//! cost, the usage record, metrics, and the in-memory copy of the policies.
//!
//! A request meets the meter twice. [`Meter::begin`] before it goes upstream: the
//! caller's policies are looked up in memory and everything they limit is reserved in
//! one counter call (none at all when no policy applies). [`Metered::finish`] when it
//! ends: the cost is computed, the usage record is appended to the ledger (this is the
//! acknowledgement: from here it survives a crash), metrics are updated, and the
//! reservations are settled in the background.

mod admit;
mod alerts;
pub mod estimate;
mod names;
pub(crate) mod period;
mod policy;
mod pricing;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use morn_meter::counters::Counters;
use morn_meter::ledger::Ledger;
use morn_meter::metrics::{Metrics, RequestSample};
use morn_meter::prices::{Price, PriceCatalog};
use morn_protocol::{ApiError, Usage};
use morn_store::{PolicyScope, Store, UsageFilter, UsageRecord};

pub use admit::RateHeaders;
use admit::{Admission, Ask, Refusal};
use policy::Policies;
pub use pricing::Tenant;

use crate::identity::{Principal, key_cache_now as now_ms};
use crate::state::Shared;

/// Metering settings.
#[derive(Debug, Clone)]
pub struct MeterSettings {
    /// Output tokens assumed (and, under a hard budget, imposed) when a request sets no
    /// `max_tokens`.
    pub default_max_output_tokens: u32,
    /// How often policies are re-read from the store.
    pub policy_refresh: Duration,
}

impl Default for MeterSettings {
    fn default() -> Self {
        Self {
            default_max_output_tokens: 4096,
            policy_refresh: Duration::from_secs(1),
        }
    }
}

/// How long a graceful shutdown waits for the ledger writer's current flush.
const WRITER_STOP_WAIT: Duration = Duration::from_secs(5);

/// The meter's background tasks, ended by [`Meter::stop`].
#[derive(Debug)]
pub struct Background {
    writer: tokio::task::JoinHandle<()>,
    refresher: tokio::task::JoinHandle<()>,
}

/// Prices, policies, counters, ledger and metrics.
pub struct Meter {
    pub catalog: PriceCatalog,
    policies: Policies,
    counters: Arc<dyn Counters>,
    pub ledger: Arc<Ledger>,
    pub metrics: Metrics,
    store: Arc<dyn Store>,
    /// Budget counters this process has seeded from the ledger.
    seeded: Mutex<foldhash::HashSet<String>>,
    alerts: alerts::Alerts,
    settings: MeterSettings,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("counters", &self.counters.backend_name())
            .finish_non_exhaustive()
    }
}

impl Meter {
    /// Builds the meter and loads the policies once (a store error here is a start-up
    /// failure; later reload errors keep the last copy).
    pub async fn new(
        store: Arc<dyn Store>,
        counters: Arc<dyn Counters>,
        ledger: Arc<Ledger>,
        catalog: PriceCatalog,
        settings: MeterSettings,
    ) -> Result<Arc<Self>, morn_store::StoreError> {
        let meter = Arc::new(Self {
            catalog,
            policies: Policies::default(),
            counters,
            ledger,
            metrics: Metrics::new(),
            store,
            seeded: Mutex::new(foldhash::HashSet::default()),
            alerts: alerts::Alerts::default(),
            settings,
        });
        meter.policies.reload(meter.store.as_ref()).await?;
        Ok(meter)
    }

    /// The embedded default: counters in process, the ledger under `data_dir/ledger`,
    /// the shipped price catalog.
    pub async fn embedded(
        store: Arc<dyn Store>,
        data_dir: &std::path::Path,
    ) -> Result<Arc<Self>, Box<dyn std::error::Error + Send + Sync>> {
        let ledger = Ledger::open(ledger_config(data_dir))?;
        Ok(Self::new(
            store,
            Arc::new(morn_meter::counters::LocalCounters::new()),
            ledger,
            PriceCatalog::builtin(),
            MeterSettings::default(),
        )
        .await?)
    }

    /// Keeps policies fresh and the ledger moving until the process ends. The token
    /// encoders are not loaded here: they take ~100 MB and are needed only when an
    /// upstream reports no usage, so the first such request loads them.
    pub fn spawn_background(self: &Arc<Self>) -> Background {
        let writer = self.ledger.spawn_writer(self.store.clone());
        let meter = self.clone();
        let refresher = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(meter.settings.policy_refresh);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticker.tick().await;
                match meter.policies.reload(meter.store.as_ref()).await {
                    Ok(()) => failing = false,
                    Err(err) if !failing => {
                        tracing::warn!(error = %err, "policy refresh failed; keeping the last copy");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
        Background { writer, refresher }
    }

    /// Ends the background tasks, then stores every acknowledged usage record
    /// (graceful shutdown). The ledger writer finishes the flush it is in first, so
    /// nothing is stored twice; a store hanging for longer than [`WRITER_STOP_WAIT`]
    /// gets it aborted, and the records it held are stored by the drain.
    pub async fn stop(&self, background: Background) {
        background.refresher.abort();
        self.ledger.stop_writer();
        let mut writer = background.writer;
        if tokio::time::timeout(WRITER_STOP_WAIT, &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
        self.drain().await;
    }

    /// Stores every acknowledged usage record (graceful shutdown).
    pub async fn drain(&self) {
        if let Err(err) = self.ledger.drain(self.store.as_ref()).await {
            tracing::error!(error = %err, "usage ledger not fully stored; it stays on disk for the next start");
        }
    }

    /// Reloads policies now (after an edit on this replica).
    pub async fn reload_policies(&self) {
        if let Err(err) = self.policies.reload(self.store.as_ref()).await {
            tracing::warn!(error = %err, "policy reload failed");
        }
    }

    /// Output tokens assumed for requests without `max_tokens`.
    pub fn default_max_output_tokens(&self) -> u32 {
        self.settings.default_max_output_tokens
    }

    /// The price that applies to `model` served by `deployment`.
    pub fn price(
        &self,
        tenant: Tenant<'_>,
        model: &str,
        deployment: Option<&str>,
    ) -> Option<Price> {
        let policies = self.policies.get();
        pricing::resolve(&self.catalog, &policies, tenant, model, deployment).cloned()
    }

    /// Admits a request (or refuses it, recording the refusal).
    pub async fn begin(self: &Arc<Self>, start: Start<'_>) -> Result<Metered, ApiError> {
        let now = now_ms();
        let mut metered = Metered::new(self.clone(), &start, now);
        let Principal::Key(key) = start.principal else {
            return Ok(metered);
        };
        let policies = self.policies.get();
        if policies.is_empty() {
            return Ok(metered);
        }
        let tenant = metered.tenant();
        let max_output = i64::from(
            start
                .max_output_tokens
                .unwrap_or(self.settings.default_max_output_tokens),
        );
        let worst_cost = self.price(tenant, start.model, None).map_or(0, |p| {
            p.max_cost(start.prompt_tokens.max(0) as u64, max_output.max(0) as u64)
        });
        let plan = Admission::plan(
            &policies,
            key,
            Ask {
                model: start.model,
                tokens: start.prompt_tokens + max_output,
                worst_cost,
                now,
            },
        );
        if plan.is_free() {
            return Ok(metered);
        }
        self.seed_budgets(&plan, now).await;
        match plan.reserve(&self.counters, now).await {
            Ok(admission) => {
                metered.admission = Some(admission);
                Ok(metered)
            }
            Err((refusal, err)) => {
                match refusal {
                    Refusal::Limit { scope, what } => {
                        self.metrics.limiter_rejection(scope.as_str(), what);
                    }
                    Refusal::Budget { scope } => self.metrics.budget_block(scope.as_str()),
                    Refusal::Unavailable => {}
                }
                // The record's error class is the error's stable code.
                metered.finish(Finish {
                    upstream: false,
                    ..Finish::failed(&err, &err.code)
                });
                Err(err)
            }
        }
    }

    /// Seeds budget counters this process has not seen yet with the ledger's spend for
    /// the period (once per budget and period: no database read in steady state).
    async fn seed_budgets(&self, plan: &Admission, now: i64) {
        for (budget, key, period_start, ttl_ms) in plan.budget_keys() {
            let known = self
                .seeded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(key);
            if known {
                continue;
            }
            let mut filter = UsageFilter {
                workspace_id: Some(budget.workspace_id.clone()),
                since: period_start,
                until: now + 86_400_000,
                ..UsageFilter::default()
            };
            match budget.scope {
                PolicyScope::Key => filter.key_id = Some(budget.scope_id.clone()),
                PolicyScope::User => filter.user_id = Some(budget.scope_id.clone()),
                PolicyScope::Workspace => {}
            }
            let spent = match self.store.usage_total(&filter).await {
                Ok(total) => total.cost_micros,
                Err(err) => {
                    tracing::warn!(error = %err, budget = %budget.id, "cannot read budget spend; counting from zero");
                    continue;
                }
            };
            if self.counters.seed(key, spent, ttl_ms).await.is_ok() {
                self.seeded
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key.to_owned());
            }
        }
    }
}

/// Ledger settings for a data directory: records flushed every 200 ms in batches of
/// 1,000, at most a million unstored records on disk.
pub fn ledger_config(data_dir: &std::path::Path) -> morn_meter::ledger::LedgerConfig {
    morn_meter::ledger::LedgerConfig {
        dir: data_dir.join("ledger"),
        flush_interval: Duration::from_millis(200),
        batch_size: 1000,
        max_backlog: 1_000_000,
        fsync: false,
    }
}

/// What [`Meter::begin`] needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub struct Start<'a> {
    pub principal: &'a Principal,
    pub request_id: &'a str,
    /// The caller's own `x-request-id`, if it sent one.
    pub client_request_id: Option<&'a str>,
    pub started: Instant,
    /// `chat`, `messages` or `embeddings`.
    pub endpoint: &'static str,
    pub model: &'a str,
    pub stream: bool,
    /// Morn's estimate of the prompt.
    pub prompt_tokens: i64,
    /// The request's `max_tokens`, if set.
    pub max_output_tokens: Option<u32>,
}

/// How a request ended.
#[derive(Debug, Clone, Default)]
pub struct Finish<'a> {
    pub status: u16,
    pub error_class: Option<&'a str>,
    /// The upstream's usage; `None` when it reported none (Morn then estimates).
    pub usage: Option<Usage>,
    /// Morn's count of the output, used when `usage` is `None`.
    pub output_estimate: u64,
    /// Morn's exact count of the prompt, used when `usage` is `None` (else the fast
    /// estimate made at admission is used).
    pub prompt_count: Option<u64>,
    /// The Morn model that answered (a fallback's name when one did).
    pub served_model: Option<&'a str>,
    pub deployment: Option<&'a str>,
    pub ttft: Option<Duration>,
    /// The failure came from upstream (counted in `morn_upstream_errors_total` when it
    /// is a timeout, a rate limit or a server error).
    pub upstream: bool,
}

impl<'a> Finish<'a> {
    /// A request the gateway could not serve.
    pub fn failed(err: &ApiError, class: &'a str) -> Self {
        Self {
            status: err.status(),
            error_class: Some(class),
            upstream: true,
            ..Self::default()
        }
    }
}

/// A request between [`Meter::begin`] and [`Metered::finish`]. Dropped unfinished (the
/// client went away), it records itself as `client_closed`.
pub struct Metered {
    meter: Arc<Meter>,
    record: UsageRecord,
    started: Instant,
    admission: Option<Admission>,
    done: bool,
}

impl std::fmt::Debug for Metered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metered")
            .field("request_id", &self.record.request_id)
            .finish_non_exhaustive()
    }
}

impl Metered {
    fn new(meter: Arc<Meter>, start: &Start<'_>, now: i64) -> Self {
        let (org_id, workspace_id, user_id, key_id) = match start.principal {
            Principal::Master => (None, None, None, None),
            Principal::Key(key) => (
                Some(key.org_id.clone()),
                Some(key.workspace_id.clone()),
                key.user_id.clone(),
                Some(key.id.clone()),
            ),
        };
        Self {
            meter,
            record: UsageRecord {
                request_id: start.request_id.to_owned(),
                created_at: now,
                org_id,
                workspace_id,
                user_id,
                key_id,
                endpoint: start.endpoint.to_owned(),
                model: start.model.to_owned(),
                stream: start.stream,
                input_tokens: start.prompt_tokens,
                client_request_id: start.client_request_id.map(str::to_owned),
                ..UsageRecord::default()
            },
            started: start.started,
            admission: None,
            done: false,
        }
    }

    fn tenant(&self) -> Tenant<'_> {
        Tenant {
            org_id: self.record.org_id.as_deref(),
            workspace_id: self.record.workspace_id.as_deref(),
        }
    }

    /// Time since the request arrived.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// `x-ratelimit-*` headers for the response.
    pub fn rate_headers(&self) -> Option<&RateHeaders> {
        self.admission.as_ref().map(|a| &a.headers)
    }

    /// Whether a hard budget applies, so the output must be bounded.
    pub fn needs_max_tokens(&self) -> bool {
        self.admission.as_ref().is_some_and(|a| a.hard_budget)
    }

    /// Records the request. Returns whether the record was acknowledged by the ledger.
    pub fn finish(mut self, end: Finish<'_>) -> bool {
        self.done = true;
        let meter = self.meter.clone();
        let record = &mut self.record;
        record.status = i64::from(end.status);
        record.error_class = end.error_class.map(str::to_owned);
        record.deployment = end.deployment.map(str::to_owned);
        record.latency_ms = self.started.elapsed().as_millis() as i64;
        record.ttft_ms = end.ttft.map(|d| d.as_millis() as i64);
        let usage = match end.usage {
            Some(usage) if usage.input_tokens + usage.output_tokens > 0 => Some(usage),
            _ => None,
        };
        let served = end.error_class.is_none() || end.deployment.is_some();
        let usage = match usage {
            Some(usage) => usage,
            None if served => {
                record.estimated = true;
                Usage {
                    input_tokens: end
                        .prompt_count
                        .unwrap_or(record.input_tokens.max(0) as u64),
                    output_tokens: end.output_estimate,
                    ..Usage::default()
                }
            }
            // Refused before any upstream call: nothing used.
            None => Usage::default(),
        };
        record.input_tokens = usage.input_tokens as i64;
        record.output_tokens = usage.output_tokens as i64;
        record.cache_read_tokens = usage.cache_read_tokens as i64;
        record.cache_write_tokens = usage.cache_write_tokens as i64;
        record.reasoning_tokens = usage.reasoning_tokens as i64;
        let model = end.served_model.unwrap_or(&record.model);
        let tenant = Tenant {
            org_id: record.org_id.as_deref(),
            workspace_id: record.workspace_id.as_deref(),
        };
        record.cost_micros = meter
            .price(tenant, model, end.deployment)
            .map_or(0, |p| p.cost(&usage).micros);
        if end.upstream
            && let Some(class) = end.error_class
            && matches!(end.status, 408 | 429 | 500..=599)
        {
            meter.metrics.upstream_error(class);
        }
        meter.metrics.observe_request(&RequestSample {
            endpoint: &record.endpoint,
            model: &record.model,
            status: end.status,
            stream: record.stream,
            latency: self.started.elapsed(),
            ttft: end.ttft,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            cost_micros: record.cost_micros,
            error_class: end.error_class,
        });
        let cost = record.cost_micros;
        // The record moves into the ledger: read everything else from it first.
        let acknowledged = meter.ledger.record(std::mem::take(record));
        if let Some(admission) = self.admission.take() {
            let tokens = (usage.input_tokens + usage.output_tokens) as i64;
            let meter = meter.clone();
            settle_soon(async move {
                let spent = admission.settle(tokens, cost).await;
                meter.alerts.check(&meter, spent).await;
            });
        }
        acknowledged
    }
}

/// Runs `settlement` now if it completes without waiting (in-process counters, no
/// alert to send: the usual case), else finishes it in a task. A task per request
/// showed in profiles; the request must not wait for Redis either.
fn settle_soon(settlement: impl Future<Output = ()> + Send + 'static) {
    let mut settlement = Box::pin(settlement);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    // Polling once with a no-op waker is harmless: whatever the future waits on
    // registers the task's real waker when the task polls it again.
    if settlement.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(settlement);
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Rebuild a finisher around the same state: the client went away first.
        let placeholder = Metered {
            meter: self.meter.clone(),
            record: std::mem::take(&mut self.record),
            started: self.started,
            admission: self.admission.take(),
            done: false,
        };
        placeholder.finish(Finish {
            status: 499,
            error_class: Some("client_closed"),
            ..Finish::default()
        });
    }
}

/// Tells this replica's in-memory policies (rate limits, budgets, price overrides) that
/// the store changed, so the change applies at once here; other replicas pick it up at
/// their next refresh.
pub async fn policies_changed(state: &Shared) {
    state.meter.reload_policies().await;
}
