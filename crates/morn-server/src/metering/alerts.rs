//! Soft budget alerts: when a budget's spend crosses one of its alert percentages, an
//! `budget.alert` event goes to the audit log and, if the budget has a webhook, a JSON
//! POST goes there. Each alert fires once per budget, period and percentage across all
//! replicas: the store's `claim_budget_alert` decides who sends it.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use morn_store::AuditEvent;

use super::Meter;
use super::admit::Spent;
use crate::identity::key_cache_now as now_ms;

/// Alerts this process has already seen fired (saves a store round trip per request
/// once a threshold is behind).
#[derive(Debug, Default)]
pub struct Alerts {
    fired: Mutex<HashSet<(String, i64, i64)>>,
}

impl Alerts {
    /// Checks the budgets a settled request spent from.
    pub async fn check(&self, meter: &Meter, spent: Vec<Spent>) {
        // Most requests leave every budget below its first alert: knowing that from
        // what the reservation saw spares a counter read per request.
        if !spent.iter().any(may_alert) {
            return;
        }
        let keys: Vec<String> = spent.iter().map(|s| s.key.to_string()).collect();
        let Ok(values) = meter.counters.get(&keys).await else {
            return;
        };
        for (s, value) in spent.iter().zip(values) {
            let budget = &s.budget;
            if budget.amount_micros <= 0 {
                continue;
            }
            let percent = i128::from(value) * 100 / i128::from(budget.amount_micros);
            for &threshold in &budget.alert_percents {
                if i128::from(threshold) > percent {
                    continue;
                }
                let id = (budget.id.clone(), s.period_start, threshold);
                if !self
                    .fired
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(id)
                {
                    continue;
                }
                let now = now_ms();
                match meter
                    .store
                    .claim_budget_alert(&budget.id, s.period_start, threshold, now)
                    .await
                {
                    Ok(true) => fire(meter, s, threshold, value, now).await,
                    Ok(false) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, budget = %budget.id, "budget alert not claimed")
                    }
                }
            }
        }
    }
}

/// Whether the spend `s` saw reaches one of its budget's alert percentages.
fn may_alert(s: &Spent) -> bool {
    let amount = i128::from(s.budget.amount_micros);
    amount > 0
        && s.budget
            .alert_percents
            .iter()
            .any(|&p| i128::from(s.seen_spend) * 100 >= i128::from(p) * amount)
}

async fn fire(meter: &Meter, s: &Spent, percent: i64, spent: i64, now: i64) {
    let budget = &s.budget;
    let details = serde_json::json!({
        "budget_id": budget.id,
        "scope": budget.scope.as_str(),
        "scope_id": budget.scope_id,
        "period": budget.period.as_str(),
        "period_start": s.period_start,
        "percent": percent,
        "spent_micros": spent,
        "amount_micros": budget.amount_micros,
        "hard_stop": budget.hard_stop,
    });
    tracing::info!(budget = %budget.id, percent, spent, "budget alert");
    let event = AuditEvent {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: budget.org_id.clone(),
        workspace_id: Some(budget.workspace_id.clone()),
        actor_type: "system".into(),
        actor_id: "morn".into(),
        action: "budget.alert".into(),
        target_type: "budget".into(),
        target_id: Some(budget.id.clone()),
        ip: None,
        user_agent: None,
        details: details.clone(),
        created_at: now,
    };
    if let Err(err) = meter.store.append_audit(&event).await {
        tracing::error!(error = %err, "budget alert not written to the audit log");
    }
    let Some(url) = budget.webhook_url.clone() else {
        return;
    };
    let body = serde_json::json!({"type": "budget.alert", "created_at": now, "data": details});
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let result = client
            .post(&url)
            .timeout(Duration::from_secs(10))
            .json(&body)
            .send()
            .await;
        match result {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => tracing::warn!(
                status = resp.status().as_u16(),
                "budget webhook refused the alert"
            ),
            // The URL may carry a token: log the failure, not the URL.
            Err(err) => tracing::warn!(error = %err.without_url(), "budget webhook unreachable"),
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use morn_store::{Budget, BudgetPeriod, PolicyScope};

    use super::*;

    fn spent(amount_micros: i64, alert_percents: Vec<i64>, seen_spend: i64) -> Spent {
        let budget = Budget {
            id: "b".into(),
            org_id: "o".into(),
            workspace_id: "w".into(),
            scope: PolicyScope::Workspace,
            scope_id: "w".into(),
            period: BudgetPeriod::Day,
            amount_micros,
            alert_percents,
            webhook_url: None,
            hard_stop: false,
            created_at: 0,
            updated_at: 0,
        };
        Spent {
            budget: Arc::new(budget),
            key: "bd:b:0".into(),
            period_start: 0,
            seen_spend,
        }
    }

    #[test]
    fn only_a_spend_at_a_threshold_reads_the_counter() {
        assert!(!may_alert(&spent(1_000, vec![80, 100], 799)));
        assert!(may_alert(&spent(1_000, vec![80, 100], 800)));
        assert!(may_alert(&spent(1_000, vec![100], 5_000)));
        assert!(!may_alert(&spent(1_000, vec![], 5_000)), "no alerts set");
        assert!(!may_alert(&spent(0, vec![80], 5_000)), "no amount");
        // No overflow at the extremes.
        assert!(may_alert(&spent(i64::MAX, vec![1], i64::MAX)));
    }
}
