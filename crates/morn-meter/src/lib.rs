//! Metering for Morn: what a request costs, whether it may run, and the record of it.
//!
//! - [`prices`]: the price catalog (shipped defaults plus overrides) and the cost of a
//!   request from its token usage, in integer micro-units.
//! - [`tokens`]: token counts Morn makes itself when an upstream reports none.
//! - [`counters`]: atomic check-and-add counters for rate limits and budgets, in
//!   process (embedded) or in Redis (cluster), behind one trait.
//! - [`ledger`]: the usage ledger writer: a write-ahead file the request path appends
//!   to in microseconds, drained in batches into the store; nothing acknowledged is
//!   lost, even to SIGKILL.
//! - [`metrics`]: counters and histograms rendered in the Prometheus text format.
//!
//! Nothing here knows HTTP; the server wires it into the request path.

pub mod counters;
pub mod ledger;
pub mod metrics;
pub mod prices;
pub mod tokens;
