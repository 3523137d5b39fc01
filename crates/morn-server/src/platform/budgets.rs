//! Budgets as data: `/workspaces/{ws}/budgets`. A budget caps what one key, one
//! member or the whole workspace may spend per UTC day, per UTC month or in total,
//! with soft alerts at percentages of the amount and, when `hard_stop` is set,
//! refusal once it is spent.
//!
//! Every answer carries the spend of the current period, read from the ledger, so a
//! dashboard needs one call. Viewers read; admins and owners change. Every change is
//! audited and applied to this replica's in-memory policies at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use morn_store::{Budget, BudgetPeriod};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::WsAccess;
use super::audit::{Entry, record};
use super::error::{PResult, PlatformError};
use super::extract::{Body, List, new_id, now_ms};
use super::policy::{double_option, plausible_id, resolve_scope, usage_filter};
use crate::state::Shared;

/// Alerts when a body gives none: a warning, then the limit itself.
const DEFAULT_ALERTS: [i64; 2] = [80, 100];
const MAX_ALERTS: usize = 10;
const MAX_URL_LEN: usize = 2048;

/// A budget as the API shows it, with the spend of its current period.
#[derive(Debug, Serialize)]
pub struct BudgetView {
    #[serde(flatten)]
    budget: Budget,
    object: &'static str,
    /// Spent in the current period, micro-units.
    spent_micros: i64,
    /// Start of the current period (UTC), unix ms; 0 for a `total` budget.
    period_start: i64,
    /// End of the current period (exclusive), unix ms; `null` for `total`.
    period_end: Option<i64>,
}

/// The current period of `period` at `now`: `[start, end)`, `end` `None` for total.
pub fn current_period(period: BudgetPeriod, now: i64) -> (i64, Option<i64>) {
    let (start, end) = crate::metering::period::budget_window(period, now);
    (start, (end != i64::MAX).then_some(end))
}

async fn view(state: &Shared, budget: Budget) -> PResult<BudgetView> {
    let (start, end) = current_period(budget.period, now_ms());
    let filter = usage_filter(
        &budget.org_id,
        &budget.workspace_id,
        budget.scope,
        &budget.scope_id,
        start,
        end.unwrap_or(i64::MAX),
    );
    let spent = state.identity.store.usage_total(&filter).await?.cost_micros;
    Ok(BudgetView {
        budget,
        object: "budget",
        spent_micros: spent,
        period_start: start,
        period_end: end,
    })
}

/// The body of create and update. On update, absent fields stay; `webhook_url: null`
/// removes the webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    scope: Option<String>,
    scope_id: Option<String>,
    period: Option<String>,
    amount_micros: Option<i64>,
    alert_percents: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    webhook_url: Option<Option<String>>,
    hard_stop: Option<bool>,
}

/// `GET /workspaces/{ws}/budgets`.
pub async fn list(
    State(state): State<Shared>,
    access: WsAccess,
) -> PResult<Json<List<BudgetView>>> {
    let budgets = state
        .identity
        .store
        .list_budgets(&access.workspace.org_id, &access.workspace.id)
        .await?;
    let mut views = Vec::with_capacity(budgets.len());
    for budget in budgets {
        views.push(view(&state, budget).await?);
    }
    Ok(Json(List::all(views)))
}

/// `POST /workspaces/{ws}/budgets`.
pub async fn create(
    State(state): State<Shared>,
    access: WsAccess,
    Body(body): Body<BudgetBody>,
) -> PResult<(StatusCode, Json<BudgetView>)> {
    let missing = |field: &str| PlatformError::MissingField(field.to_owned());
    let scope = body.scope.as_deref().ok_or_else(|| missing("scope"))?;
    if body.period.is_none() {
        return Err(missing("period"));
    }
    if body.amount_micros.is_none() {
        return Err(missing("amount_micros"));
    }
    let (scope, scope_id) = resolve_scope(&state, &access, scope, body.scope_id.as_deref()).await?;
    let now = now_ms();
    let mut budget = Budget {
        id: new_id(),
        org_id: access.workspace.org_id.clone(),
        workspace_id: access.workspace.id.clone(),
        scope,
        scope_id,
        period: BudgetPeriod::Month,
        amount_micros: 0,
        alert_percents: DEFAULT_ALERTS.to_vec(),
        webhook_url: None,
        hard_stop: true,
        created_at: now,
        updated_at: now,
    };
    apply(&mut budget, body)?;
    state.identity.store.create_budget(&budget).await?;
    changed(&state, &access, "budget.create", &budget).await;
    Ok((StatusCode::CREATED, Json(view(&state, budget).await?)))
}

/// `GET /workspaces/{ws}/budgets/{id}`.
pub async fn get(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<Json<BudgetView>> {
    let budget = find(&state, &access, &id).await?;
    Ok(Json(view(&state, budget).await?))
}

/// `PATCH /workspaces/{ws}/budgets/{id}`.
pub async fn update(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body<BudgetBody>,
) -> PResult<Json<BudgetView>> {
    let mut budget = find(&state, &access, &id).await?;
    if body.scope.is_some() || body.scope_id.is_some() {
        let scope = body.scope.as_deref().unwrap_or(budget.scope.as_str());
        // A new scope kind needs its own id (the workspace scope excepted).
        let scope_id = body
            .scope_id
            .as_deref()
            .or((body.scope.is_none()).then_some(budget.scope_id.as_str()));
        (budget.scope, budget.scope_id) = resolve_scope(&state, &access, scope, scope_id).await?;
    }
    apply(&mut budget, body)?;
    budget.updated_at = now_ms();
    state.identity.store.update_budget(&budget).await?;
    changed(&state, &access, "budget.update", &budget).await;
    Ok(Json(view(&state, budget).await?))
}

/// `DELETE /workspaces/{ws}/budgets/{id}`.
pub async fn delete(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, id)): Path<(String, String)>,
) -> PResult<StatusCode> {
    let budget = find(&state, &access, &id).await?;
    state
        .identity
        .store
        .delete_budget(&budget.org_id, &budget.id)
        .await?;
    changed(&state, &access, "budget.delete", &budget).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Applies the set fields of `body` but the scope (resolved by the caller).
fn apply(budget: &mut Budget, body: BudgetBody) -> PResult<()> {
    if let Some(period) = body.period {
        budget.period = BudgetPeriod::parse(&period)
            .ok_or_else(|| PlatformError::invalid("period", "Use day, month or total."))?;
    }
    if let Some(amount) = body.amount_micros {
        if amount < 0 {
            return Err(PlatformError::invalid(
                "amount_micros",
                "An integer number of micro-units (1 USD = 1000000), 0 or more.",
            ));
        }
        budget.amount_micros = amount;
    }
    if let Some(percents) = body.alert_percents {
        budget.alert_percents = valid_percents(percents)?;
    }
    if let Some(url) = body.webhook_url {
        budget.webhook_url = url.as_deref().map(valid_webhook).transpose()?;
    }
    if let Some(hard_stop) = body.hard_stop {
        budget.hard_stop = hard_stop;
    }
    Ok(())
}

/// Percentages 1 to 100, at most ten; stored sorted without repeats, since an alert
/// fires once per percentage and period.
fn valid_percents(mut percents: Vec<i64>) -> PResult<Vec<i64>> {
    if percents.len() > MAX_ALERTS || percents.iter().any(|p| !(1..=100).contains(p)) {
        return Err(PlatformError::invalid(
            "alert_percents",
            "At most 10 whole percentages, each from 1 to 100.",
        ));
    }
    percents.sort_unstable();
    percents.dedup();
    Ok(percents)
}

/// An absolute `http` or `https` URL with a host.
fn valid_webhook(url: &str) -> PResult<String> {
    let bad = || PlatformError::invalid("webhook_url", "An absolute http:// or https:// URL.");
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let usable = url.len() <= MAX_URL_LEN
        && !host.is_empty()
        && !host.starts_with(':')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !usable {
        return Err(bad());
    }
    Ok(url.to_owned())
}

/// The workspace's budget `id` (404 for another workspace's).
async fn find(state: &Shared, access: &WsAccess, id: &str) -> PResult<Budget> {
    let missing = PlatformError::NotFound("budget");
    if !plausible_id(id) {
        return Err(missing);
    }
    match state
        .identity
        .store
        .get_budget(&access.workspace.org_id, id)
        .await?
    {
        Some(budget) if budget.workspace_id == access.workspace.id => Ok(budget),
        _ => Err(missing),
    }
}

/// Applies a change to this replica's policies, then audits it.
async fn changed(state: &Shared, access: &WsAccess, action: &'static str, budget: &Budget) {
    crate::metering::policies_changed(state).await;
    let entry = Entry::new(&access.caller, action, "budget")
        .workspace(&budget.workspace_id)
        .target(&budget.id)
        .details(json!({
            "scope": budget.scope,
            "scope_id": budget.scope_id,
            "period": budget.period,
            "amount_micros": budget.amount_micros,
            "alert_percents": budget.alert_percents,
            "webhook_url": budget.webhook_url,
            "hard_stop": budget.hard_stop,
        }));
    record(state, &budget.org_id, &access.meta, entry).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_calendar_periods() {
        // 2025-03-15T13:45:00Z
        let now = 1_742_046_300_000;
        assert_eq!(
            current_period(BudgetPeriod::Day, now),
            (1_741_996_800_000, Some(1_742_083_200_000))
        );
        assert_eq!(
            current_period(BudgetPeriod::Month, now),
            (1_740_787_200_000, Some(1_743_465_600_000))
        );
        assert_eq!(current_period(BudgetPeriod::Total, now), (0, None));
    }

    #[test]
    fn webhooks_are_http_urls() {
        assert!(valid_webhook("https://hooks.example.com/x?y=1").is_ok());
        assert!(valid_webhook("http://10.0.0.1:8080").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https:///path",
            "javascript:alert(1)",
            "https://a b",
        ] {
            assert!(valid_webhook(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percents_are_sorted_and_bounded() {
        assert_eq!(valid_percents(vec![100, 50, 50]).ok(), Some(vec![50, 100]));
        assert!(valid_percents(vec![0]).is_err());
        assert!(valid_percents(vec![101]).is_err());
        assert!(valid_percents((1..=11).collect()).is_err());
    }
}
