//! Rate limits, budgets and price overrides: small tables the server keeps in memory
//! (it reloads them with the `list_all_*` calls) and the platform API edits.

use async_trait::async_trait;

use crate::StoreError;
use crate::backend::Backend;
use crate::metering::{Budget, PriceOverride, RateLimitRule};

/// Policies as data.
#[async_trait]
pub trait PolicyStore: Send + Sync {
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

    async fn create_budget(&self, budget: &Budget) -> Result<(), StoreError>;
    async fn update_budget(&self, budget: &Budget) -> Result<(), StoreError>;
    async fn get_budget(&self, org_id: &str, id: &str) -> Result<Option<Budget>, StoreError>;
    async fn delete_budget(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;
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

    async fn create_price_override(&self, price: &PriceOverride) -> Result<(), StoreError>;
    async fn update_price_override(&self, price: &PriceOverride) -> Result<(), StoreError>;
    async fn get_price_override(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<PriceOverride>, StoreError>;
    async fn delete_price_override(&self, org_id: &str, id: &str) -> Result<bool, StoreError>;
    /// The organization's overrides; with `workspace_id`, only that workspace's.
    async fn list_price_overrides(
        &self,
        org_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<PriceOverride>, StoreError>;
    async fn list_all_price_overrides(&self) -> Result<Vec<PriceOverride>, StoreError>;
}

// Placeholder bodies until the SQL lands.
#[async_trait]
impl<B: Backend> PolicyStore for B {
    async fn create_rate_limit(&self, _: &RateLimitRule) -> Result<(), StoreError> {
        Ok(())
    }
    async fn update_rate_limit(&self, _: &RateLimitRule) -> Result<(), StoreError> {
        Ok(())
    }
    async fn get_rate_limit(&self, _: &str, _: &str) -> Result<Option<RateLimitRule>, StoreError> {
        Ok(None)
    }
    async fn delete_rate_limit(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn list_rate_limits(&self, _: &str, _: &str) -> Result<Vec<RateLimitRule>, StoreError> {
        Ok(Vec::new())
    }
    async fn list_all_rate_limits(&self) -> Result<Vec<RateLimitRule>, StoreError> {
        Ok(Vec::new())
    }
    async fn create_budget(&self, _: &Budget) -> Result<(), StoreError> {
        Ok(())
    }
    async fn update_budget(&self, _: &Budget) -> Result<(), StoreError> {
        Ok(())
    }
    async fn get_budget(&self, _: &str, _: &str) -> Result<Option<Budget>, StoreError> {
        Ok(None)
    }
    async fn delete_budget(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn list_budgets(&self, _: &str, _: &str) -> Result<Vec<Budget>, StoreError> {
        Ok(Vec::new())
    }
    async fn list_all_budgets(&self) -> Result<Vec<Budget>, StoreError> {
        Ok(Vec::new())
    }
    async fn claim_budget_alert(
        &self,
        _: &str,
        _: i64,
        _: i64,
        _: i64,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn create_price_override(&self, _: &PriceOverride) -> Result<(), StoreError> {
        Ok(())
    }
    async fn update_price_override(&self, _: &PriceOverride) -> Result<(), StoreError> {
        Ok(())
    }
    async fn get_price_override(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<PriceOverride>, StoreError> {
        Ok(None)
    }
    async fn delete_price_override(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn list_price_overrides(
        &self,
        _: &str,
        _: Option<&str>,
    ) -> Result<Vec<PriceOverride>, StoreError> {
        Ok(Vec::new())
    }
    async fn list_all_price_overrides(&self) -> Result<Vec<PriceOverride>, StoreError> {
        Ok(Vec::new())
    }
}
