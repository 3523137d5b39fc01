//! The usage ledger: idempotent batch inserts and the aggregate queries behind
//! budgets, analytics and invoices.
//!
//! Inserts are multi-row statements that skip a request id already stored (`INSERT OR
//! IGNORE` on SQLite, `ON CONFLICT (request_id) DO NOTHING` on PostgreSQL), so the
//! ledger writer may replay a batch (after a crash or a failed commit) without double
//! counting. They are the hot write (every request makes a row), so their text
//! is built once per row count and backend, and their values are bound straight into
//! the driver's arguments (see `backend.rs`). The same transaction adds the batch to
//! the per-hour sums (`usage_hourly.rs`).
//!
//! Reports aggregate in SQL, over the hourly sums for whole hours and over the records
//! for partial hours at either end of the range; only the calendar month, whose length
//! varies, is folded from days in Rust. Groups are merged and ordered in Rust, because
//! SQLite and PostgreSQL disagree on where NULLs sort and on string collation.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use async_trait::async_trait;

use super::map_row;
use super::usage_hourly::{
    HOURLY_AGGREGATES, HOURLY_COLS, HOURLY_CONFLICT, HourlyRow, hourly_rows, split,
};
use crate::StoreError;
use crate::backend::{Backend, Bind, BindRow, Placeholder, Query, RowRead, Rows, values_sql};
use crate::metering::{
    TimeBucket, UsageAggregate, UsageDimension, UsageFilter, UsageGrouping, UsageRecord,
};

/// The usage ledger.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Inserts the records in one transaction (statements of at most 64 rows); a
    /// request id already stored is skipped, so a replayed or retried batch is
    /// harmless. Returns how many rows were new.
    async fn insert_usage(&self, records: &[UsageRecord]) -> Result<u64, StoreError>;

    /// One record by request id.
    async fn get_usage(&self, request_id: &str) -> Result<Option<UsageRecord>, StoreError>;

    /// The sums over every row matching `filter` (zeros when none does).
    async fn usage_total(&self, filter: &UsageFilter) -> Result<UsageAggregate, StoreError>;

    /// The sums per group, ordered by bucket then the grouping fields (model, key,
    /// user, workspace; `None` first). Only groups with at least one row are listed.
    async fn usage_report(
        &self,
        filter: &UsageFilter,
        grouping: &UsageGrouping,
    ) -> Result<Vec<UsageAggregate>, StoreError>;
}

const USAGE_COLS: &str = "request_id, created_at, org_id, workspace_id, user_id, key_id, \
     endpoint, model, deployment, stream, status, error_class, input_tokens, output_tokens, \
     cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micros, estimated, \
     cache_hit, latency_ms, ttft_ms, client_request_id";

/// The sums every report row carries. `CAST` because PostgreSQL's `SUM(bigint)` is
/// `numeric`; `COUNT(error_class)` counts the rows where it is not NULL.
const AGGREGATES: &str = "COUNT(*) AS requests, COUNT(error_class) AS errors, \
     CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
     CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
     CAST(COALESCE(SUM(cache_read_tokens), 0) AS BIGINT) AS cache_read_tokens, \
     CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens, \
     CAST(COALESCE(SUM(reasoning_tokens), 0) AS BIGINT) AS reasoning_tokens, \
     CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) AS cost_micros";

const DAY_MS: i64 = 86_400_000;

/// A table a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `usage_records`, one row per request: the partial hours of a range.
    Records,
    /// `usage_hourly`: the whole hours.
    Hourly,
}

impl Source {
    /// The sums, named alike for both tables.
    fn aggregates(self) -> &'static str {
        match self {
            Source::Records => AGGREGATES,
            Source::Hourly => HOURLY_AGGREGATES,
        }
    }

    /// The table and the lower end of the time range (a placeholder follows).
    fn table_since(self) -> &'static str {
        match self {
            Source::Records => " FROM usage_records WHERE created_at >= ",
            Source::Hourly => " FROM usage_hourly WHERE hour_start >= ",
        }
    }

    /// The upper end of the time range (a placeholder follows).
    fn until(self) -> &'static str {
        match self {
            Source::Records => " AND created_at < ",
            Source::Hourly => " AND hour_start < ",
        }
    }

    /// Bucket starts as SQL. Months are grouped by day here and folded in Rust.
    fn bucket(self, bucket: TimeBucket) -> &'static str {
        match (self, bucket) {
            (Source::Records, TimeBucket::Hour) => "created_at - created_at % 3600000",
            (Source::Records, TimeBucket::Day | TimeBucket::Month) => {
                "created_at - created_at % 86400000"
            }
            (Source::Hourly, TimeBucket::Hour) => "hour_start",
            (Source::Hourly, TimeBucket::Day | TimeBucket::Month) => {
                "hour_start - hour_start % 86400000"
            }
        }
    }

    /// A grouping column as selected: hourly rows keep an absent id as `''`, reports
    /// show it as NULL.
    fn dimension(self, dimension: UsageDimension) -> &'static str {
        match (self, dimension) {
            (_, UsageDimension::Model) => "model",
            (Source::Records, other) => dimension_column(other),
            (Source::Hourly, UsageDimension::Key) => "NULLIF(key_id, '') AS key_id",
            (Source::Hourly, UsageDimension::User) => "NULLIF(user_id, '') AS user_id",
            (Source::Hourly, UsageDimension::Workspace) => {
                "NULLIF(workspace_id, '') AS workspace_id"
            }
        }
    }

    /// The part of `[since, until)` this table holds, with `filter`'s other fields,
    /// summed per `bucket` and `dims`.
    fn part(
        self,
        (since, until): (i64, i64),
        filter: &UsageFilter,
        bucket: Option<TimeBucket>,
        dims: &[UsageDimension],
    ) -> Query {
        let mut query = Query::new("SELECT ");
        if let Some(bucket) = bucket {
            query = query.sql(self.bucket(bucket)).sql(" AS bucket_start, ");
        }
        for dimension in dims {
            query = query.sql(self.dimension(*dimension)).sql(", ");
        }
        query = query
            .sql(self.aggregates())
            .sql(self.table_since())
            .bind(since)
            .sql(self.until())
            .bind(until)
            .and_if("org_id = ", filter.org_id.as_deref())
            .and_if("workspace_id = ", filter.workspace_id.as_deref())
            .and_if("user_id = ", filter.user_id.as_deref())
            .and_if("key_id = ", filter.key_id.as_deref())
            .and_if("model = ", filter.model.as_deref());
        let groups = bucket
            .map(|bucket| self.bucket(bucket))
            .into_iter()
            .chain(dims.iter().map(|d| dimension_column(*d)));
        for (i, expr) in groups.enumerate() {
            query = query
                .sql(if i == 0 { " GROUP BY " } else { ", " })
                .sql(expr);
        }
        query
    }
}

/// A grouping dimension's column, as named in both tables and in report rows.
fn dimension_column(dimension: UsageDimension) -> &'static str {
    match dimension {
        UsageDimension::Model => "model",
        UsageDimension::Key => "key_id",
        UsageDimension::User => "user_id",
        UsageDimension::Workspace => "workspace_id",
    }
}

/// The query summing `filter`'s range per `bucket` and `dims`: one part per table and
/// time range (see [`split`]), joined by `UNION ALL`. A group may come back once per
/// part; the caller adds them up. `None` when the range is empty.
fn report_query(
    filter: &UsageFilter,
    bucket: Option<TimeBucket>,
    dims: &[UsageDimension],
) -> Option<Query> {
    let split = split(filter.since, filter.until);
    let parts = split
        .records
        .into_iter()
        .map(|range| (Source::Records, range))
        .chain(split.hourly.map(|range| (Source::Hourly, range)));
    let mut query: Option<Query> = None;
    for (source, range) in parts {
        let part = source.part(range, filter, bucket, dims);
        query = Some(match query {
            None => part,
            Some(query) => query.sql(" UNION ALL ").append(part),
        });
    }
    query
}

fn usage_row(row: &impl RowRead) -> Result<UsageRecord, sqlx::Error> {
    Ok(UsageRecord {
        request_id: row.text("request_id")?,
        created_at: row.int("created_at")?,
        org_id: row.opt_text("org_id")?,
        workspace_id: row.opt_text("workspace_id")?,
        user_id: row.opt_text("user_id")?,
        key_id: row.opt_text("key_id")?,
        endpoint: row.text("endpoint")?,
        model: row.text("model")?,
        deployment: row.opt_text("deployment")?,
        stream: row.flag("stream")?,
        status: row.int("status")?,
        error_class: row.opt_text("error_class")?,
        input_tokens: row.int("input_tokens")?,
        output_tokens: row.int("output_tokens")?,
        cache_read_tokens: row.int("cache_read_tokens")?,
        cache_write_tokens: row.int("cache_write_tokens")?,
        reasoning_tokens: row.int("reasoning_tokens")?,
        cost_micros: row.int("cost_micros")?,
        estimated: row.flag("estimated")?,
        cache_hit: row.flag("cache_hit")?,
        latency_ms: row.int("latency_ms")?,
        ttft_ms: row.opt_int("ttft_ms")?,
        client_request_id: row.opt_text("client_request_id")?,
    })
}

/// The columns of an insert, in [`USAGE_COLS`] order.
impl BindRow for UsageRecord {
    const VALUES: usize = 23;

    fn bind_row(&self, to: &mut impl Bind) {
        to.text(&self.request_id);
        to.int(self.created_at);
        to.opt_text(self.org_id.as_deref());
        to.opt_text(self.workspace_id.as_deref());
        to.opt_text(self.user_id.as_deref());
        to.opt_text(self.key_id.as_deref());
        to.text(&self.endpoint);
        to.text(&self.model);
        to.opt_text(self.deployment.as_deref());
        to.flag(self.stream);
        to.int(self.status);
        to.opt_text(self.error_class.as_deref());
        to.int(self.input_tokens);
        to.int(self.output_tokens);
        to.int(self.cache_read_tokens);
        to.int(self.cache_write_tokens);
        to.int(self.reasoning_tokens);
        to.int(self.cost_micros);
        to.flag(self.estimated);
        to.flag(self.cache_hit);
        to.int(self.latency_ms);
        to.opt_int(self.ttft_ms);
        to.opt_text(self.client_request_id.as_deref());
    }
}

/// Statement texts per placeholder style and [`STATEMENT_ROWS`] index.
type Texts = [[OnceLock<String>; STATEMENT_ROWS.len()]; 2];

/// The text of `STATEMENT_ROWS[index]` rows of `R` in `B`'s placeholders: `head`,
/// the `VALUES` lists, `tail`. Built on first use and kept for the life of the process
/// in `texts`, which is one static for every `B` (a static in a generic function is
/// not per type), so indexed by placeholder style.
fn statement_text<B: Backend, R: BindRow>(
    texts: &'static Texts,
    index: usize,
    head: &[&'static str],
    tail: &'static str,
) -> &'static str {
    let style = match B::PLACEHOLDER {
        Placeholder::Question => 0,
        Placeholder::Dollar => 1,
    };
    texts[style][index]
        .get_or_init(|| values_sql(B::PLACEHOLDER, head, R::VALUES, STATEMENT_ROWS[index], tail))
}

/// The INSERT of `STATEMENT_ROWS[index]` records.
fn insert_sql<B: Backend>(index: usize) -> &'static str {
    static TEXTS: Texts = [const { [const { OnceLock::new() }; STATEMENT_ROWS.len()] }; 2];
    // SQLite: `OR IGNORE` rather than `ON CONFLICT DO NOTHING`, which skips the same
    // rows here (a known request id; the typed record cannot break the other
    // constraints) but cannot abort half-way. A statement that may abort inside the
    // batch's transaction makes SQLite copy every page it touches to a statement
    // journal first: ~4,000 of the ~25,000 instructions a row cost (callgrind,
    // bench/README.md). PostgreSQL keeps no such journal.
    let (head, tail) = match B::PLACEHOLDER {
        Placeholder::Question => ("INSERT OR IGNORE INTO usage_records (", ""),
        Placeholder::Dollar => (
            "INSERT INTO usage_records (",
            " ON CONFLICT (request_id) DO NOTHING",
        ),
    };
    statement_text::<B, UsageRecord>(&TEXTS, index, &[head, USAGE_COLS, ") VALUES "], tail)
}

/// The upsert of `STATEMENT_ROWS[index]` hourly rows (the same text on both backends).
fn hourly_sql<B: Backend>(index: usize) -> &'static str {
    static TEXTS: Texts = [const { [const { OnceLock::new() }; STATEMENT_ROWS.len()] }; 2];
    statement_text::<B, HourlyRow<'_>>(
        &TEXTS,
        index,
        &["INSERT INTO usage_hourly (", HOURLY_COLS, ") VALUES "],
        HOURLY_CONFLICT,
    )
}

/// The sums of a report row; grouping fields are left `None`.
fn aggregate_row(row: &impl RowRead) -> Result<UsageAggregate, sqlx::Error> {
    Ok(UsageAggregate {
        requests: row.int("requests")?,
        errors: row.int("errors")?,
        input_tokens: row.int("input_tokens")?,
        output_tokens: row.int("output_tokens")?,
        cache_read_tokens: row.int("cache_read_tokens")?,
        cache_write_tokens: row.int("cache_write_tokens")?,
        reasoning_tokens: row.int("reasoning_tokens")?,
        cost_micros: row.int("cost_micros")?,
        ..UsageAggregate::default()
    })
}

/// Adds the sums of `more` to `into` (folding days into a month).
fn add_sums(into: &mut UsageAggregate, more: &UsageAggregate) {
    into.requests += more.requests;
    into.errors += more.errors;
    into.input_tokens += more.input_tokens;
    into.output_tokens += more.output_tokens;
    into.cache_read_tokens += more.cache_read_tokens;
    into.cache_write_tokens += more.cache_write_tokens;
    into.reasoning_tokens += more.reasoning_tokens;
    into.cost_micros += more.cost_micros;
}

/// The group a report row belongs to, in report order.
type GroupKey = (
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn group_key(agg: &UsageAggregate) -> GroupKey {
    (
        agg.bucket_start,
        agg.model.clone(),
        agg.key_id.clone(),
        agg.user_id.clone(),
        agg.workspace_id.clone(),
    )
}

/// The day of the month (1-based) of the UTC day `days` after 1970-01-01.
///
/// Shifts the calendar to start on March 1st, so the leap day is the last day of the
/// shifted year and months have a fixed pattern of lengths within it.
fn day_of_month(days: i64) -> i64 {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097); // 400-year cycles
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    day_of_year - (153 * month_index + 2) / 5 + 1
}

/// Start (unix ms) of the UTC calendar month holding `at_ms`.
fn month_start(at_ms: i64) -> i64 {
    let days = at_ms.div_euclid(DAY_MS);
    (days - (day_of_month(days) - 1)) * DAY_MS
}

/// Rows per INSERT statement: a batch is cut into statements of these sizes, largest
/// first, so only three distinct statement texts ever exist ([`insert_sql`]). The
/// driver keeps every distinct text as a prepared statement per connection; with one
/// text per batch size (1 to 1,000 rows), that cache filled with hundreds of large
/// statements (hundreds of megabytes of resident memory under load) and each new size
/// was parsed afresh.
const STATEMENT_ROWS: [usize; 3] = [64, 8, 1];

/// `rows` cut into statements of [`STATEMENT_ROWS`] rows, largest first.
fn statements<R>(rows: &[R], sql: fn(usize) -> &'static str) -> Vec<Rows<'_, R>> {
    let mut statements = Vec::new();
    let mut rest = rows;
    for (index, size) in STATEMENT_ROWS.into_iter().enumerate() {
        while rest.len() >= size {
            let (chunk, tail) = rest.split_at(size);
            statements.push(Rows {
                sql: sql(index),
                rows: chunk,
            });
            rest = tail;
        }
    }
    statements
}

/// Inserts `records` and adds them to the hourly sums, all in one transaction (one
/// commit per batch, not per statement), if every one of them is new. Returns false,
/// having stored nothing, if any was skipped (a request id already stored, or twice
/// in the batch): the sums must count only the rows actually inserted.
async fn insert_new<B: Backend>(store: &B, records: &[UsageRecord]) -> Result<bool, StoreError> {
    let hourly = hourly_rows(records);
    store
        .execute_rows(
            statements(records, insert_sql::<B>),
            records.len() as u64,
            statements(&hourly, hourly_sql::<B>),
        )
        .await
}

/// Request ids at most per `IN` list when looking up which records are stored.
const LOOKUP_IDS: usize = 500;

/// The request ids of `records` already stored.
async fn stored_ids<B: Backend>(
    store: &B,
    records: &[UsageRecord],
) -> Result<HashSet<String>, StoreError> {
    let mut stored = HashSet::new();
    for chunk in records.chunks(LOOKUP_IDS) {
        let query = Query::new("SELECT request_id FROM usage_records WHERE request_id IN (")
            .binds(chunk.iter().map(|r| r.request_id.as_str().into()))
            .sql(")");
        for row in store.fetch_all(query).await? {
            stored.insert(row.text("request_id")?);
        }
    }
    Ok(stored)
}

#[async_trait]
impl<B: Backend> UsageStore for B {
    async fn insert_usage(&self, records: &[UsageRecord]) -> Result<u64, StoreError> {
        if records.is_empty() {
            return Ok(0);
        }
        // The usual batch: all new, one transaction.
        if insert_new(self, records).await? {
            return Ok(records.len() as u64);
        }
        // A replay (some rows stored before a crash) or an id twice in the batch: the
        // attempt was rolled back; keep the first record of each id not stored yet.
        let stored = stored_ids(self, records).await?;
        let mut seen = HashSet::new();
        let fresh: Vec<UsageRecord> = records
            .iter()
            .filter(|r| !stored.contains(&r.request_id) && seen.insert(r.request_id.as_str()))
            .cloned()
            .collect();
        if fresh.is_empty() || insert_new(self, &fresh).await? {
            return Ok(fresh.len() as u64);
        }
        // Another writer stored some of them in between (request ids are unique per
        // process, so this does not happen); the ledger retries the batch.
        Err(StoreError::Conflict {
            what: "usage record",
        })
    }

    async fn get_usage(&self, request_id: &str) -> Result<Option<UsageRecord>, StoreError> {
        let query = Query::new("SELECT ")
            .sql(USAGE_COLS)
            .sql(" FROM usage_records WHERE request_id = ")
            .bind(request_id);
        map_row(self.fetch_optional(query).await?, usage_row)
    }

    async fn usage_total(&self, filter: &UsageFilter) -> Result<UsageAggregate, StoreError> {
        let mut total = UsageAggregate::default();
        let Some(query) = report_query(filter, None, &[]) else {
            return Ok(total);
        };
        // One row per part (an aggregate without GROUP BY always yields one; zeros
        // when nothing matched, thanks to the COALESCEs).
        for row in &self.fetch_all(query).await? {
            add_sums(&mut total, &aggregate_row(row)?);
        }
        Ok(total)
    }

    async fn usage_report(
        &self,
        filter: &UsageFilter,
        grouping: &UsageGrouping,
    ) -> Result<Vec<UsageAggregate>, StoreError> {
        let mut dims: Vec<UsageDimension> = Vec::new();
        for dimension in &grouping.by {
            if !dims.contains(dimension) {
                dims.push(*dimension);
            }
        }
        let Some(query) = report_query(filter, grouping.bucket, &dims) else {
            return Ok(Vec::new());
        };
        let rows = self.fetch_all(query).await?;

        let mut report: BTreeMap<GroupKey, UsageAggregate> = BTreeMap::new();
        for row in &rows {
            let mut agg = aggregate_row(row)?;
            if agg.requests == 0 {
                // The single row of an ungrouped aggregate over no rows.
                continue;
            }
            agg.bucket_start = match grouping.bucket {
                None => None,
                Some(TimeBucket::Month) => Some(month_start(row.int("bucket_start")?)),
                Some(TimeBucket::Hour | TimeBucket::Day) => Some(row.int("bucket_start")?),
            };
            for dimension in &dims {
                let value = row.opt_text(dimension_column(*dimension))?;
                match dimension {
                    UsageDimension::Model => agg.model = value,
                    UsageDimension::Key => agg.key_id = value,
                    UsageDimension::User => agg.user_id = value,
                    UsageDimension::Workspace => agg.workspace_id = value,
                }
            }
            report
                .entry(group_key(&agg))
                .and_modify(|seen| add_sums(seen, &agg))
                .or_insert(agg);
        }
        Ok(report.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PgStore, SqliteStore};

    const HOUR_MS: i64 = 3_600_000;

    /// Counts what a row binds.
    #[derive(Default)]
    struct Count(usize);

    impl Bind for Count {
        fn text(&mut self, _: &str) {
            self.0 += 1;
        }
        fn opt_text(&mut self, _: Option<&str>) {
            self.0 += 1;
        }
        fn int(&mut self, _: i64) {
            self.0 += 1;
        }
        fn opt_int(&mut self, _: Option<i64>) {
            self.0 += 1;
        }
        fn flag(&mut self, _: bool) {
            self.0 += 1;
        }
    }

    #[test]
    fn a_row_binds_one_value_per_column_and_the_texts_have_as_many_placeholders() {
        let mut count = Count::default();
        UsageRecord::default().bind_row(&mut count);
        assert_eq!(count.0, UsageRecord::VALUES);
        assert_eq!(USAGE_COLS.split(',').count(), UsageRecord::VALUES);

        for (index, rows) in STATEMENT_ROWS.into_iter().enumerate() {
            let values = rows * UsageRecord::VALUES;
            let sqlite = insert_sql::<SqliteStore>(index);
            assert_eq!(sqlite.matches('?').count(), values, "{rows} rows");
            let postgres = insert_sql::<PgStore>(index);
            assert_eq!(postgres.matches('$').count(), values, "{rows} rows");
            let last = format!("${values}) ON CONFLICT (request_id) DO NOTHING");
            assert!(postgres.ends_with(&last), "{postgres}");
            assert!(sqlite.starts_with("INSERT OR IGNORE INTO usage_records ("));
            assert!(sqlite.ends_with("?)"), "{sqlite}");
            // Built once: the same text each time.
            assert!(std::ptr::eq(sqlite, insert_sql::<SqliteStore>(index)));
        }
    }

    /// Unix ms of a UTC date, counted by hand from known month lengths.
    fn date(year: i64, month: i64, day: i64) -> i64 {
        let mut days = 0;
        for y in 1970..year {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            days += if leap { 366 } else { 365 };
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let lengths = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        days += lengths[..(month - 1) as usize].iter().sum::<i64>();
        (days + day - 1) * DAY_MS
    }

    #[test]
    fn month_start_across_month_lengths_and_leap_years() {
        assert_eq!(month_start(0), 0);
        for (y, m, last) in [
            (2024, 1, 31),
            (2024, 2, 29),
            (2023, 2, 28),
            (2000, 2, 29),
            (2100, 2, 28),
            (2024, 4, 30),
            (2024, 12, 31),
        ] {
            let first = date(y, m, 1);
            assert_eq!(month_start(first), first, "{y}-{m}-01");
            let end = date(y, m, last) + DAY_MS - 1;
            assert_eq!(month_start(end), first, "{y}-{m}-{last} 23:59:59.999");
            assert_eq!(month_start(end + 1), end + 1, "next month starts");
        }
        assert_eq!(
            month_start(date(2024, 3, 15) + 5 * HOUR_MS),
            date(2024, 3, 1)
        );
    }
}
