//! Rate limits, budgets and price overrides: small tables the server keeps in memory
//! (it reloads them with the `list_all_*` calls) and the platform API edits.
//!
//! Every lookup, update and delete is keyed by the organization as well as the id, so
//! a caller holding one organization cannot reach another's rows by guessing ids.

use async_trait::async_trait;
use serde_json::Value;

use super::{map_row, map_rows};
use crate::StoreError;
use crate::backend::{Arg, Backend, Query, RowRead, args, classify};
use crate::metering::{Budget, BudgetPeriod, PolicyScope, PriceOverride, RateLimitRule};

/// Policies as data.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// `Conflict { what: "rate limit" }` when the workspace already has a rule for the
    /// same scope, scope id and model; Reference when the workspace is missing.
    async fn create_rate_limit(&self, rule: &RateLimitRule) -> Result<(), StoreError>;
    /// Replaces every field but `id`, `org_id` and `created_at`.
    async fn update_rate_limit(&self, rule: &RateLimitRule) -> Result<(), StoreError>;
    async fn get_rate_limit(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<RateLimitRule>, StoreError>;
    async fn delete_rate_limit(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;
    /// The workspace's rules, by id.
    async fn list_rate_limits(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Vec<RateLimitRule>, StoreError>;
    /// Every rule of the installation (for the in-memory copy).
    async fn list_all_rate_limits(&self) -> Result<Vec<RateLimitRule>, StoreError>;

    /// `Conflict { what: "budget" }` when the workspace already has a budget for the
    /// same scope, scope id and period.
    async fn create_budget(&self, budget: &Budget) -> Result<(), StoreError>;
    /// Replaces every field but `id`, `org_id` and `created_at`.
    async fn update_budget(&self, budget: &Budget) -> Result<(), StoreError>;
    async fn get_budget(&self, org_id: &str, id: &str) -> Result<Option<Budget>, StoreError>;
    async fn delete_budget(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;
    /// The workspace's budgets, by id.
    async fn list_budgets(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Vec<Budget>, StoreError>;
    async fn list_all_budgets(&self) -> Result<Vec<Budget>, StoreError>;
    /// Marks the alert at `percent` of the period starting at `period_start` as fired.
    /// `true` only for the first caller, so one alert goes out across replicas.
    async fn claim_budget_alert(
        &self,
        budget_id: &str,
        period_start: i64,
        percent: i64,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// `Conflict { what: "price override" }` when the organization already has an
    /// override for the same workspace (or none), model and deployment (or none).
    async fn create_price_override(&self, price: &PriceOverride) -> Result<(), StoreError>;
    /// Replaces every field but `id`, `org_id` and `created_at`.
    async fn update_price_override(&self, price: &PriceOverride) -> Result<(), StoreError>;
    async fn get_price_override(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<PriceOverride>, StoreError>;
    async fn delete_price_override(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;
    /// The organization's overrides (organization-wide and per workspace), by id; with
    /// `workspace_id`, only that workspace's.
    async fn list_price_overrides(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<PriceOverride>, StoreError>;
    async fn list_all_price_overrides(&self) -> Result<Vec<PriceOverride>, StoreError>;
}

const LIMIT_COLS: &str = "id, org_id, workspace_id, scope, scope_id, model, rpm, tpm, \
     max_concurrent, created_at, updated_at";

const BUDGET_COLS: &str = "id, org_id, workspace_id, scope, scope_id, period, amount_micros, \
     alert_percents, webhook_url, hard_stop, created_at, updated_at";

const PRICE_COLS: &str = "id, org_id, workspace_id, model, deployment, price, created_at, \
     updated_at";

/// A stored enum the CHECK constraint allows only in its known spellings: anything
/// else is a corrupt database, reported as a decode error.
fn decode<T>(text: String, parse: impl Fn(&str) -> Option<T>) -> Result<T, sqlx::Error> {
    parse(&text).ok_or_else(|| sqlx::Error::Decode(format!("unknown value {text:?}").into()))
}

fn limit_row(row: &impl RowRead) -> Result<RateLimitRule, sqlx::Error> {
    Ok(RateLimitRule {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        workspace_id: row.text("workspace_id")?,
        scope: decode(row.text("scope")?, PolicyScope::parse)?,
        scope_id: row.text("scope_id")?,
        model: row.opt_text("model")?,
        rpm: row.opt_int("rpm")?,
        tpm: row.opt_int("tpm")?,
        max_concurrent: row.opt_int("max_concurrent")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn budget_row(row: &impl RowRead) -> Result<Budget, sqlx::Error> {
    let percents = serde_json::from_value(row.json("alert_percents")?)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Budget {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        workspace_id: row.text("workspace_id")?,
        scope: decode(row.text("scope")?, PolicyScope::parse)?,
        scope_id: row.text("scope_id")?,
        period: decode(row.text("period")?, BudgetPeriod::parse)?,
        amount_micros: row.int("amount_micros")?,
        alert_percents: percents,
        webhook_url: row.opt_text("webhook_url")?,
        hard_stop: row.flag("hard_stop")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn price_row(row: &impl RowRead) -> Result<PriceOverride, sqlx::Error> {
    Ok(PriceOverride {
        id: row.text("id")?,
        org_id: row.text("org_id")?,
        workspace_id: row.opt_text("workspace_id")?,
        model: row.text("model")?,
        deployment: row.opt_text("deployment")?,
        price: row.json("price")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn percents(values: &[i64]) -> Arg {
    Arg::Json(Value::from(values.to_vec()))
}

/// `SELECT <cols> FROM <table> WHERE org_id = $1 AND id = $2`.
fn select_in_org(select: Query, org_id: &str, id: &str) -> Query {
    select
        .sql("org_id = ")
        .bind(org_id)
        .sql(" AND id = ")
        .bind(id)
}

/// Appends ` WHERE org_id = $1 AND id = $2` to an UPDATE or DELETE.
fn where_in_org(query: Query, org_id: &str, id: &str) -> Query {
    query
        .sql(" WHERE org_id = ")
        .bind(org_id)
        .sql(" AND id = ")
        .bind(id)
}

fn select(cols: &'static str, from_where: &'static str) -> Query {
    Query::new("SELECT ").sql(cols).sql(from_where)
}

fn select_limits() -> Query {
    select(LIMIT_COLS, " FROM rate_limits WHERE ")
}

fn select_budgets() -> Query {
    select(BUDGET_COLS, " FROM budgets WHERE ")
}

fn select_prices() -> Query {
    select(PRICE_COLS, " FROM price_overrides WHERE ")
}

/// Runs an update keyed by organization and id; a missing row is `NotFound`.
async fn update_one<B: Backend>(
    backend: &B,
    query: Query,
    what: &'static str,
) -> Result<(), StoreError> {
    match backend
        .execute(query)
        .await
        .map_err(|e| classify(e, what))?
    {
        0 => Err(StoreError::NotFound { what }),
        _ => Ok(()),
    }
}

#[async_trait]
impl<B: Backend> PolicyStore for B {
    async fn create_rate_limit(&self, r: &RateLimitRule) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO rate_limits (")
            .sql(LIMIT_COLS)
            .sql(") VALUES (")
            .binds(args![
                &r.id,
                &r.org_id,
                &r.workspace_id,
                r.scope.as_str(),
                &r.scope_id,
                &r.model,
                r.rpm,
                r.tpm,
                r.max_concurrent,
                r.created_at,
                r.updated_at,
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "rate limit"))?;
        Ok(())
    }

    async fn update_rate_limit(&self, r: &RateLimitRule) -> Result<(), StoreError> {
        let query = Query::new("UPDATE rate_limits SET workspace_id = ")
            .bind(&r.workspace_id)
            .sql(", scope = ")
            .bind(r.scope.as_str())
            .sql(", scope_id = ")
            .bind(&r.scope_id)
            .sql(", model = ")
            .bind(&r.model)
            .sql(", rpm = ")
            .bind(r.rpm)
            .sql(", tpm = ")
            .bind(r.tpm)
            .sql(", max_concurrent = ")
            .bind(r.max_concurrent)
            .sql(", updated_at = ")
            .bind(r.updated_at);
        update_one(self, where_in_org(query, &r.org_id, &r.id), "rate limit").await
    }

    async fn get_rate_limit(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<RateLimitRule>, StoreError> {
        let query = select_in_org(select_limits(), org_id, id);
        map_row(self.fetch_optional(query).await?, limit_row)
    }

    async fn delete_rate_limit(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        let query = where_in_org(Query::new("DELETE FROM rate_limits"), org_id, id);
        Ok(self.execute(query).await? > 0)
    }

    async fn list_rate_limits(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Vec<RateLimitRule>, StoreError> {
        let query = select_limits()
            .sql("org_id = ")
            .bind(org_id)
            .sql(" AND workspace_id = ")
            .bind(workspace_id)
            .sql(" ORDER BY id");
        map_rows(self.fetch_all(query).await?, limit_row)
    }

    async fn list_all_rate_limits(&self) -> Result<Vec<RateLimitRule>, StoreError> {
        let query = select_limits().sql("1 = 1 ORDER BY id");
        map_rows(self.fetch_all(query).await?, limit_row)
    }

    async fn create_budget(&self, b: &Budget) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO budgets (")
            .sql(BUDGET_COLS)
            .sql(") VALUES (")
            .binds(args![
                &b.id,
                &b.org_id,
                &b.workspace_id,
                b.scope.as_str(),
                &b.scope_id,
                b.period.as_str(),
                b.amount_micros,
            ])
            .sql(", ")
            .bind(percents(&b.alert_percents))
            .sql(", ")
            .binds(args![
                &b.webhook_url,
                b.hard_stop,
                b.created_at,
                b.updated_at
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "budget"))?;
        Ok(())
    }

    async fn update_budget(&self, b: &Budget) -> Result<(), StoreError> {
        let query = Query::new("UPDATE budgets SET workspace_id = ")
            .bind(&b.workspace_id)
            .sql(", scope = ")
            .bind(b.scope.as_str())
            .sql(", scope_id = ")
            .bind(&b.scope_id)
            .sql(", period = ")
            .bind(b.period.as_str())
            .sql(", amount_micros = ")
            .bind(b.amount_micros)
            .sql(", alert_percents = ")
            .bind(percents(&b.alert_percents))
            .sql(", webhook_url = ")
            .bind(&b.webhook_url)
            .sql(", hard_stop = ")
            .bind(b.hard_stop)
            .sql(", updated_at = ")
            .bind(b.updated_at);
        update_one(self, where_in_org(query, &b.org_id, &b.id), "budget").await
    }

    async fn get_budget(&self, org_id: &str, id: &str) -> Result<Option<Budget>, StoreError> {
        let query = select_in_org(select_budgets(), org_id, id);
        map_row(self.fetch_optional(query).await?, budget_row)
    }

    async fn delete_budget(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        let query = where_in_org(Query::new("DELETE FROM budgets"), org_id, id);
        Ok(self.execute(query).await? > 0)
    }

    async fn list_budgets(
        &self,
        org_id: &str,
        workspace_id: &str,
    ) -> Result<Vec<Budget>, StoreError> {
        let query = select_budgets()
            .sql("org_id = ")
            .bind(org_id)
            .sql(" AND workspace_id = ")
            .bind(workspace_id)
            .sql(" ORDER BY id");
        map_rows(self.fetch_all(query).await?, budget_row)
    }

    async fn list_all_budgets(&self) -> Result<Vec<Budget>, StoreError> {
        let query = select_budgets().sql("1 = 1 ORDER BY id");
        map_rows(self.fetch_all(query).await?, budget_row)
    }

    async fn claim_budget_alert(
        &self,
        budget_id: &str,
        period_start: i64,
        percent: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        // The primary key decides the race: every replica tries the insert, the one
        // whose row lands sends the alert, the others see zero rows affected.
        let query = Query::new(
            "INSERT INTO budget_alerts (budget_id, period_start, percent, fired_at) VALUES (",
        )
        .binds(args![budget_id, period_start, percent, now])
        .sql(") ON CONFLICT (budget_id, period_start, percent) DO NOTHING");
        let rows = self
            .execute(query)
            .await
            .map_err(|e| classify(e, "budget alert"))?;
        Ok(rows > 0)
    }

    async fn create_price_override(&self, p: &PriceOverride) -> Result<(), StoreError> {
        let query = Query::new("INSERT INTO price_overrides (")
            .sql(PRICE_COLS)
            .sql(") VALUES (")
            .binds(args![
                &p.id,
                &p.org_id,
                &p.workspace_id,
                &p.model,
                &p.deployment,
                &p.price,
                p.created_at,
                p.updated_at,
            ])
            .sql(")");
        self.execute(query)
            .await
            .map_err(|e| classify(e, "price override"))?;
        Ok(())
    }

    async fn update_price_override(&self, p: &PriceOverride) -> Result<(), StoreError> {
        let query = Query::new("UPDATE price_overrides SET workspace_id = ")
            .bind(&p.workspace_id)
            .sql(", model = ")
            .bind(&p.model)
            .sql(", deployment = ")
            .bind(&p.deployment)
            .sql(", price = ")
            .bind(&p.price)
            .sql(", updated_at = ")
            .bind(p.updated_at);
        update_one(
            self,
            where_in_org(query, &p.org_id, &p.id),
            "price override",
        )
        .await
    }

    async fn get_price_override(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<PriceOverride>, StoreError> {
        let query = select_in_org(select_prices(), org_id, id);
        map_row(self.fetch_optional(query).await?, price_row)
    }

    async fn delete_price_override(&self, org_id: &str, id: &str) -> Result<bool, StoreError> {
        let query = where_in_org(Query::new("DELETE FROM price_overrides"), org_id, id);
        Ok(self.execute(query).await? > 0)
    }

    async fn list_price_overrides(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<PriceOverride>, StoreError> {
        let query = select_prices()
            .sql("org_id = ")
            .bind(org_id)
            .and_if("workspace_id = ", workspace_id)
            .sql(" ORDER BY id");
        map_rows(self.fetch_all(query).await?, price_row)
    }

    async fn list_all_price_overrides(&self) -> Result<Vec<PriceOverride>, StoreError> {
        let query = select_prices().sql("1 = 1 ORDER BY id");
        map_rows(self.fetch_all(query).await?, price_row)
    }
}
