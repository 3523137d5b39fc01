//! The in-memory copy of the policies (rate limits, budgets, price overrides), so
//! admission never reads the database. Reloaded from the store every `refresh`
//! interval (other replicas' edits) and at once after an edit on this replica; a
//! store outage keeps the last good copy.

use std::sync::{Arc, RwLock};

use morn_meter::prices::Price;
use morn_store::{Budget, RateLimitRule, Store, StoreError};

use super::names::{LimitNames, WindowName, budget_name};

/// One price override, parsed.
#[derive(Debug, Clone)]
pub struct Override {
    pub workspace_id: Option<String>,
    pub model: String,
    pub deployment: Option<String>,
    pub price: Price,
}

/// A rate-limit rule and its counters' names.
#[derive(Debug)]
pub struct Limit {
    pub rule: RateLimitRule,
    pub names: LimitNames,
}

/// A budget (shared: a request holds it by `Arc`) and its counter's name.
#[derive(Debug)]
pub struct BudgetPolicy {
    pub budget: Arc<Budget>,
    pub name: WindowName,
}

/// A snapshot of every policy, indexed for the request path by the id of the key,
/// user or workspace it is about (ids are UUIDs, unique across scopes; callers still
/// check the scope). Keyed by the bare id so a lookup borrows the caller's `&str`
/// instead of building a key.
/// foldhash rather than SipHash: keys are ids from the store, not caller input, and
/// several lookups happen per governed request.
#[derive(Debug, Default)]
pub struct PolicySet {
    pub limits: foldhash::HashMap<String, Vec<Limit>>,
    pub budgets: foldhash::HashMap<String, Vec<BudgetPolicy>>,
    /// Organization id → its overrides.
    pub prices: foldhash::HashMap<String, Vec<Override>>,
}

impl PolicySet {
    /// Reads every policy from the store.
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let mut set = Self::default();
        for rule in store.list_all_rate_limits().await? {
            set.limits
                .entry(rule.scope_id.clone())
                .or_default()
                .push(Limit {
                    names: LimitNames::new(&rule.id),
                    rule,
                });
        }
        for budget in store.list_all_budgets().await? {
            set.budgets
                .entry(budget.scope_id.clone())
                .or_default()
                .push(BudgetPolicy {
                    name: budget_name(&budget.id),
                    budget: Arc::new(budget),
                });
        }
        for o in store.list_all_price_overrides().await? {
            // The API validates prices on write; a row that no longer parses (an
            // older format) is skipped rather than failing every reload.
            let Ok(price) = serde_json::from_value::<Price>(o.price.clone()) else {
                tracing::warn!(id = %o.id, "price override does not parse; ignored");
                continue;
            };
            set.prices
                .entry(o.org_id.clone())
                .or_default()
                .push(Override {
                    workspace_id: o.workspace_id,
                    model: o.model,
                    deployment: o.deployment,
                    price,
                });
        }
        Ok(set)
    }

    /// Whether any policy exists at all (lets admission skip work when none does).
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.budgets.is_empty()
    }
}

/// The current snapshot, swapped whole on reload.
#[derive(Debug, Default)]
pub struct Policies {
    current: RwLock<Arc<PolicySet>>,
}

impl Policies {
    pub fn get(&self) -> Arc<PolicySet> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub async fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let set = Arc::new(PolicySet::load(store).await?);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = set;
        Ok(())
    }
}
