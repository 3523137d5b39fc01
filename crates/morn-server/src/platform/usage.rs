//! Usage reports from the ledger: `GET /workspaces/{ws}/usage` and
//! `GET /orgs/{org}/usage`, as JSON or CSV.
//!
//! A report is the ledger's sums over `[since, until)`, optionally per UTC time bucket
//! and per model, key, user (and workspace, at organization level), with the totals
//! over the same rows. Totals come from the ledger directly, not from adding rows up,
//! so they are the ledger's own figure. Money is integer micro-units, with a USD text
//! cut from the integer for people.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use morn_store::{TimeBucket, UsageAggregate, UsageDimension, UsageFilter, UsageGrouping};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::access::{OrgAccess, WsAccess};
use super::calendar::{MAX_MS, format_rfc3339, parse_time};
use super::error::{PResult, PlatformError};
use super::extract::{Query, now_ms};
use super::policy::valid_text;
use super::report::{Cell, Csv, Format, usd};
use crate::state::Shared;

const DAY_MS: i64 = 86_400_000;
/// The default window: the last 30 days.
const DEFAULT_RANGE_MS: i64 = 30 * DAY_MS;
/// The longest window of one report: a year and a day, so any calendar year fits.
const MAX_RANGE_MS: i64 = 367 * DAY_MS;
/// The longest window with hourly buckets: 31 days is 744 rows per group.
const MAX_HOURLY_RANGE_MS: i64 = 31 * DAY_MS;

/// `?since=&until=&bucket=&group_by=&model=&key_id=&user_id=&workspace_id=&format=`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// RFC 3339 or unix ms; default 30 days before `until`.
    since: Option<String>,
    /// RFC 3339 or unix ms, exclusive; default now.
    until: Option<String>,
    /// `hour`, `day` or `month`; absent: one row per group over the whole window.
    bucket: Option<String>,
    /// Comma-separated: `model`, `key`, `user` (and `workspace` for organizations).
    group_by: Option<String>,
    model: Option<String>,
    key_id: Option<String>,
    user_id: Option<String>,
    /// Organization reports only.
    workspace_id: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// A validated report request.
struct Report {
    filter: UsageFilter,
    grouping: UsageGrouping,
    format: Format,
}

/// `GET /workspaces/{ws}/usage`.
pub async fn workspace(
    State(state): State<Shared>,
    access: WsAccess,
    Query(q): Query<UsageQuery>,
) -> PResult<Response> {
    if q.workspace_id.is_some() {
        return Err(PlatformError::invalid(
            "workspace_id",
            "A workspace report is for its own workspace; use the organization report.",
        ));
    }
    let ws = &access.workspace;
    let report = parse(q, false, ws.org_id.clone(), Some(ws.id.clone()))?;
    render(&state, report, &format!("usage-{}", ws.id)).await
}

/// `GET /orgs/{org}/usage`.
pub async fn org(
    State(state): State<Shared>,
    access: OrgAccess,
    Query(q): Query<UsageQuery>,
) -> PResult<Response> {
    let ws = q
        .workspace_id
        .as_deref()
        .map(|w| valid_text("workspace_id", w, 100))
        .transpose()?;
    let report = parse(q, true, access.org.id.clone(), ws)?;
    render(&state, report, &format!("usage-{}", access.org.id)).await
}

fn parse(
    q: UsageQuery,
    org_level: bool,
    org_id: String,
    workspace_id: Option<String>,
) -> PResult<Report> {
    let time = |param: &'static str, text: Option<&str>| -> PResult<Option<i64>> {
        text.map(|t| {
            parse_time(t).ok_or_else(|| {
                PlatformError::invalid(
                    param,
                    "An RFC 3339 time (2025-01-31T00:00:00Z), a date (2025-01-31) or unix \
                     milliseconds, from 1970 to 9999.",
                )
            })
        })
        .transpose()
    };
    let until = time("until", q.until.as_deref())?
        .unwrap_or_else(now_ms)
        .min(MAX_MS);
    let since =
        time("since", q.since.as_deref())?.unwrap_or_else(|| (until - DEFAULT_RANGE_MS).max(0));
    let bucket = q.bucket.as_deref().map(parse_bucket).transpose()?;
    if since >= until {
        return Err(PlatformError::invalid(
            "since",
            "`since` must be before `until`.",
        ));
    }
    let max = match bucket {
        Some(TimeBucket::Hour) => MAX_HOURLY_RANGE_MS,
        _ => MAX_RANGE_MS,
    };
    if until - since > max {
        return Err(PlatformError::invalid(
            "since",
            format!(
                "A report covers at most {} days ({} with hourly buckets).",
                MAX_RANGE_MS / DAY_MS,
                MAX_HOURLY_RANGE_MS / DAY_MS
            ),
        ));
    }
    let by = match q.group_by.as_deref() {
        Some(text) => parse_group_by(text, org_level)?,
        None => Vec::new(),
    };
    let id = |param, v: Option<String>| v.map(|v| valid_text(param, &v, 200)).transpose();
    let filter = UsageFilter {
        org_id: Some(org_id),
        workspace_id,
        user_id: id("user_id", q.user_id)?,
        key_id: id("key_id", q.key_id)?,
        model: id("model", q.model)?,
        since,
        until,
    };
    Ok(Report {
        filter,
        grouping: UsageGrouping { bucket, by },
        format: Format::parse(q.format.as_deref())?,
    })
}

fn parse_bucket(text: &str) -> PResult<TimeBucket> {
    match text {
        "hour" => Ok(TimeBucket::Hour),
        "day" => Ok(TimeBucket::Day),
        "month" => Ok(TimeBucket::Month),
        _ => Err(PlatformError::invalid("bucket", "Use hour, day or month.")),
    }
}

fn parse_group_by(text: &str, org_level: bool) -> PResult<Vec<UsageDimension>> {
    let mut by = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let dim = match name {
            "model" => UsageDimension::Model,
            "key" => UsageDimension::Key,
            "user" => UsageDimension::User,
            "workspace" if org_level => UsageDimension::Workspace,
            _ => {
                let allowed = if org_level {
                    "model, key, user and workspace"
                } else {
                    "model, key and user"
                };
                return Err(PlatformError::invalid(
                    "group_by",
                    format!("Unknown dimension {name:?}; group by {allowed}."),
                ));
            }
        };
        if !by.contains(&dim) {
            by.push(dim);
        }
    }
    Ok(by)
}

async fn render(state: &Shared, report: Report, name: &str) -> PResult<Response> {
    let store = &state.identity.store;
    let rows = store.usage_report(&report.filter, &report.grouping).await?;
    let totals = store.usage_total(&report.filter).await?;
    let (since, until) = (report.filter.since, report.filter.until);
    if report.format == Format::Csv {
        let filename = format!(
            "{name}-{}-{}.csv",
            &format_rfc3339(since)[..10],
            &format_rfc3339(until)[..10]
        );
        return Ok(csv(&report.grouping, &rows).into_download(&filename));
    }
    let data: Vec<Value> = rows
        .iter()
        .map(|row| row_json(&report.grouping, row))
        .collect();
    let body = json!({
        "object": "usage_report",
        "since": since,
        "until": until,
        "bucket": report.grouping.bucket,
        "group_by": report.grouping.by,
        "currency": "USD",
        "data": data,
        "totals": metrics(&totals),
    });
    Ok(Json(body).into_response())
}

/// The sums of one row, without its grouping fields.
fn metrics(a: &UsageAggregate) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in metric_cells(a) {
        out.insert(name.to_owned(), json!(value));
    }
    out.insert("cost_usd".into(), json!(usd(a.cost_micros)));
    out
}

fn metric_cells(a: &UsageAggregate) -> [(&'static str, i64); 8] {
    [
        ("requests", a.requests),
        ("errors", a.errors),
        ("input_tokens", a.input_tokens),
        ("output_tokens", a.output_tokens),
        ("cache_read_tokens", a.cache_read_tokens),
        ("cache_write_tokens", a.cache_write_tokens),
        ("reasoning_tokens", a.reasoning_tokens),
        ("cost_micros", a.cost_micros),
    ]
}

fn dimension(a: &UsageAggregate, dim: UsageDimension) -> (&'static str, Option<&str>) {
    match dim {
        UsageDimension::Model => ("model", a.model.as_deref()),
        UsageDimension::Key => ("key_id", a.key_id.as_deref()),
        UsageDimension::User => ("user_id", a.user_id.as_deref()),
        UsageDimension::Workspace => ("workspace_id", a.workspace_id.as_deref()),
    }
}

/// One report row: the bucket start (when bucketed), the grouping fields asked for
/// (`null` when the ledger has none, as for master-key requests), then the sums.
fn row_json(grouping: &UsageGrouping, a: &UsageAggregate) -> Value {
    let mut out = Map::new();
    if grouping.bucket.is_some() {
        out.insert("bucket_start".into(), json!(a.bucket_start));
    }
    for dim in &grouping.by {
        let (name, value) = dimension(a, *dim);
        out.insert(name.into(), json!(value));
    }
    out.extend(metrics(a));
    Value::Object(out)
}

fn csv(grouping: &UsageGrouping, rows: &[UsageAggregate]) -> Csv {
    let mut header: Vec<&str> = Vec::new();
    if grouping.bucket.is_some() {
        header.push("bucket_start");
    }
    let empty = UsageAggregate::default();
    header.extend(grouping.by.iter().map(|d| dimension(&empty, *d).0));
    header.extend(metric_cells(&empty).map(|(name, _)| name));
    header.push("cost_usd");
    let mut out = Csv::new(&header);
    for row in rows {
        let bucket = row.bucket_start.map(format_rfc3339);
        let mut cells: Vec<Cell<'_>> = Vec::new();
        if grouping.bucket.is_some() {
            cells.push(bucket.as_deref().into());
        }
        cells.extend(grouping.by.iter().map(|d| Cell::from(dimension(row, *d).1)));
        cells.extend(metric_cells(row).map(|(_, v)| Cell::Int(v)));
        let cost = usd(row.cost_micros);
        cells.push(cost.as_str().into());
        out.row(cells);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> UsageQuery {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        serde_json::from_value(json!(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect::<Map<String, Value>>()
        ))
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn parsed(pairs: &[(&str, &str)]) -> PResult<Report> {
        parse(query(pairs), false, "o".into(), Some("w".into()))
    }

    #[test]
    fn defaults_to_the_last_30_days() {
        let Ok(report) = parsed(&[("until", "2025-02-01")]) else {
            panic!("refused")
        };
        assert_eq!(report.filter.until, 1_738_368_000_000);
        assert_eq!(report.filter.since, 1_738_368_000_000 - DEFAULT_RANGE_MS);
        assert_eq!(report.format, Format::Json);
    }

    #[test]
    fn refuses_bad_windows_and_dimensions() {
        let param = |pairs: &[(&str, &str)]| match parsed(pairs) {
            Err(PlatformError::InvalidValue { param, .. }) => param,
            other => panic!("{pairs:?}: {:?}", other.err()),
        };
        assert_eq!(
            param(&[("since", "2025-02-01"), ("until", "2025-01-01")]),
            "since"
        );
        assert_eq!(
            param(&[("since", "2020-01-01"), ("until", "2025-01-01")]),
            "since"
        );
        assert_eq!(
            param(&[
                ("since", "2025-01-01"),
                ("until", "2025-03-01"),
                ("bucket", "hour")
            ]),
            "since"
        );
        assert_eq!(param(&[("until", "yesterday")]), "until");
        assert_eq!(param(&[("bucket", "week")]), "bucket");
        assert_eq!(param(&[("group_by", "model,workspace")]), "group_by");
        assert!(
            parse(
                query(&[("group_by", "workspace,model,model")]),
                true,
                "o".into(),
                None
            )
            .is_ok_and(|r| r.grouping.by == [UsageDimension::Workspace, UsageDimension::Model])
        );
    }

    #[test]
    fn csv_has_the_asked_columns() {
        let grouping = UsageGrouping {
            bucket: Some(TimeBucket::Day),
            by: vec![UsageDimension::Model],
        };
        let row = UsageAggregate {
            bucket_start: Some(1_735_689_600_000),
            model: Some("gpt-4o".into()),
            requests: 2,
            cost_micros: 1_500_000,
            ..UsageAggregate::default()
        };
        assert_eq!(
            csv(&grouping, &[row]).text(),
            "bucket_start,model,requests,errors,input_tokens,output_tokens,cache_read_tokens,\
             cache_write_tokens,reasoning_tokens,cost_micros,cost_usd\r\n\
             2025-01-01T00:00:00Z,gpt-4o,2,0,0,0,0,0,0,1500000,1.500000\r\n"
        );
    }
}
