//! The ledger's per-hour sums (`usage_hourly`): how a batch of records becomes upserts
//! of hourly rows, and how a report's time range splits between the hourly rows (whole
//! hours) and the records themselves (partial hours at either end).
//!
//! The hourly rows replace four tenant indexes on `usage_records`, which cost every
//! request four b-tree inserts; a batch now adds to one hourly row per hour, tenant and
//! model it touches. They are written in the same transaction as the records they
//! sum, and only for records that are new (see `insert_usage`), so they always equal a
//! `GROUP BY` over the records.

use std::collections::BTreeMap;

use crate::backend::{Bind, BindRow};
use crate::metering::UsageRecord;

pub(super) const HOUR_MS: i64 = 3_600_000;

/// The start of the UTC hour holding `at` (unix ms).
pub(super) fn hour_of(at: i64) -> i64 {
    at - at.rem_euclid(HOUR_MS)
}

/// The columns of an upsert, in [`BindRow`] order.
pub(super) const HOURLY_COLS: &str = "hour_start, org_id, workspace_id, user_id, key_id, \
     model, requests, errors, input_tokens, output_tokens, cache_read_tokens, \
     cache_write_tokens, reasoning_tokens, cost_micros";

/// What follows the upsert's `VALUES`: a row already there gets the batch's sums added.
/// The table is named in `SET` because PostgreSQL wants the existing row qualified.
pub(super) const HOURLY_CONFLICT: &str = " ON CONFLICT (hour_start, org_id, workspace_id, user_id, key_id, model) DO UPDATE SET \
     requests = usage_hourly.requests + excluded.requests, \
     errors = usage_hourly.errors + excluded.errors, \
     input_tokens = usage_hourly.input_tokens + excluded.input_tokens, \
     output_tokens = usage_hourly.output_tokens + excluded.output_tokens, \
     cache_read_tokens = usage_hourly.cache_read_tokens + excluded.cache_read_tokens, \
     cache_write_tokens = usage_hourly.cache_write_tokens + excluded.cache_write_tokens, \
     reasoning_tokens = usage_hourly.reasoning_tokens + excluded.reasoning_tokens, \
     cost_micros = usage_hourly.cost_micros + excluded.cost_micros";

/// The sums a report reads from hourly rows, named as the records' [`super`]
/// aggregates so both kinds of rows read alike. `CAST`: PostgreSQL's `SUM(bigint)` is
/// `numeric`.
pub(super) const HOURLY_AGGREGATES: &str = "\
     CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests, \
     CAST(COALESCE(SUM(errors), 0) AS BIGINT) AS errors, \
     CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
     CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
     CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT) AS cache_read_tokens, \
     CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens, \
     CAST(COALESCE(SUM(reasoning_tokens), 0) AS BIGINT) AS reasoning_tokens, \
     CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) AS cost_micros";

/// The part of one hourly row a batch adds. Absent ids are `""`, as in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HourlyRow<'a> {
    hour_start: i64,
    org_id: &'a str,
    workspace_id: &'a str,
    user_id: &'a str,
    key_id: &'a str,
    model: &'a str,
    sums: Sums,
}

/// The sums an hourly row keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    requests: i64,
    errors: i64,
    input_tokens: i64,
    output_tokens: i64,
    cache_read_tokens: i64,
    cache_write_tokens: i64,
    reasoning_tokens: i64,
    cost_micros: i64,
}

impl Sums {
    fn add(&mut self, record: &UsageRecord) {
        self.requests += 1;
        self.errors += i64::from(record.error_class.is_some());
        self.input_tokens += record.input_tokens;
        self.output_tokens += record.output_tokens;
        self.cache_read_tokens += record.cache_read_tokens;
        self.cache_write_tokens += record.cache_write_tokens;
        self.reasoning_tokens += record.reasoning_tokens;
        self.cost_micros += record.cost_micros;
    }
}

type HourlyKey<'a> = (i64, &'a str, &'a str, &'a str, &'a str, &'a str);

/// The hourly rows `records` add to, in key order. Sorted, so that concurrent batches
/// on PostgreSQL (two replicas) lock shared rows in the same order and cannot
/// deadlock; one row per key, because PostgreSQL refuses an upsert that reaches the
/// same row twice.
pub(super) fn hourly_rows(records: &[UsageRecord]) -> Vec<HourlyRow<'_>> {
    let mut rows: BTreeMap<HourlyKey<'_>, Sums> = BTreeMap::new();
    for record in records {
        let key = (
            hour_of(record.created_at),
            record.org_id.as_deref().unwrap_or(""),
            record.workspace_id.as_deref().unwrap_or(""),
            record.user_id.as_deref().unwrap_or(""),
            record.key_id.as_deref().unwrap_or(""),
            record.model.as_str(),
        );
        rows.entry(key).or_default().add(record);
    }
    rows.into_iter()
        .map(
            |((hour_start, org_id, workspace_id, user_id, key_id, model), sums)| HourlyRow {
                hour_start,
                org_id,
                workspace_id,
                user_id,
                key_id,
                model,
                sums,
            },
        )
        .collect()
}

/// The columns of an upsert, in [`HOURLY_COLS`] order.
impl BindRow for HourlyRow<'_> {
    const VALUES: usize = 14;

    fn bind_row(&self, to: &mut impl Bind) {
        to.int(self.hour_start);
        to.text(self.org_id);
        to.text(self.workspace_id);
        to.text(self.user_id);
        to.text(self.key_id);
        to.text(self.model);
        to.int(self.sums.requests);
        to.int(self.sums.errors);
        to.int(self.sums.input_tokens);
        to.int(self.sums.output_tokens);
        to.int(self.sums.cache_read_tokens);
        to.int(self.sums.cache_write_tokens);
        to.int(self.sums.reasoning_tokens);
        to.int(self.sums.cost_micros);
    }
}

/// Where a report reads `[since, until)` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Split {
    /// Ranges read from `usage_records`: the partial hours at either end, or the whole
    /// range when it holds no whole hour.
    pub records: Vec<(i64, i64)>,
    /// The whole hours, read from `usage_hourly` (by `hour_start`).
    pub hourly: Option<(i64, i64)>,
}

/// Splits `[since, until)` into whole hours and the partial hours around them.
pub(super) fn split(since: i64, until: i64) -> Split {
    let first = match hour_of(since) {
        start if start == since => since,
        start => start.saturating_add(HOUR_MS),
    };
    let end = hour_of(until);
    if first >= end {
        return Split {
            records: if since < until {
                vec![(since, until)]
            } else {
                Vec::new()
            },
            hourly: None,
        };
    }
    let mut records = Vec::new();
    if since < first {
        records.push((since, first));
    }
    if end < until {
        records.push((end, until));
    }
    Split {
        records,
        hourly: Some((first, end)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: i64, key: Option<&str>, model: &str, cost: i64) -> UsageRecord {
        UsageRecord {
            request_id: format!("r{at}{cost}"),
            created_at: at,
            org_id: Some("o".into()),
            workspace_id: Some("w".into()),
            user_id: None,
            key_id: key.map(str::to_owned),
            endpoint: "chat".into(),
            model: model.into(),
            deployment: None,
            stream: false,
            status: 200,
            error_class: (cost == 3).then(|| "upstream_error".to_owned()),
            input_tokens: 10,
            output_tokens: 20,
            cache_read_tokens: 1,
            cache_write_tokens: 2,
            reasoning_tokens: 3,
            cost_micros: cost,
            estimated: false,
            cache_hit: false,
            latency_ms: 5,
            ttft_ms: None,
            client_request_id: None,
        }
    }

    #[test]
    fn a_batch_becomes_one_row_per_hour_tenant_and_model_in_key_order() {
        let h = 10 * HOUR_MS;
        let records = [
            record(h + HOUR_MS + 5, Some("k1"), "m", 1),
            record(h + 1, Some("k1"), "m", 2),
            record(h + HOUR_MS - 1, Some("k1"), "m", 3),
            record(h + 2, None, "m", 4),
            record(h + 3, Some("k1"), "n", 5),
        ];
        let rows = hourly_rows(&records);
        let keys: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.hour_start,
                    r.key_id,
                    r.model,
                    r.sums.requests,
                    r.sums.cost_micros,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (h, "", "m", 1, 4),
                (h, "k1", "m", 2, 5),
                (h, "k1", "n", 1, 5),
                (h + HOUR_MS, "k1", "m", 1, 1),
            ]
        );
        assert_eq!(rows[1].user_id, "", "an absent id is empty");
        assert_eq!(rows[1].sums.errors, 1);
        assert_eq!(rows[1].sums.input_tokens, 20);
        assert_eq!(rows[1].sums.reasoning_tokens, 6);
    }

    #[test]
    fn a_range_splits_into_whole_hours_and_partial_ends() {
        let h = HOUR_MS;
        let whole = |a, b| Split {
            records: Vec::new(),
            hourly: Some((a, b)),
        };
        assert_eq!(split(2 * h, 5 * h), whole(2 * h, 5 * h));
        assert_eq!(
            split(2 * h - 1, 5 * h + 1),
            Split {
                records: vec![(2 * h - 1, 2 * h), (5 * h, 5 * h + 1)],
                hourly: Some((2 * h, 5 * h)),
            }
        );
        assert_eq!(
            split(2 * h + 1, 3 * h),
            Split {
                records: vec![(2 * h + 1, 3 * h)],
                hourly: None,
            },
            "less than a whole hour"
        );
        assert_eq!(
            split(2 * h + 1, 4 * h - 1),
            Split {
                records: vec![(2 * h + 1, 4 * h - 1)],
                hourly: None,
            },
            "two partial hours and no whole one"
        );
        assert_eq!(split(3 * h, 3 * h).records, Vec::new(), "an empty range");
        assert_eq!(
            split(0, i64::MAX).records,
            vec![(hour_of(i64::MAX), i64::MAX)]
        );
    }
}
