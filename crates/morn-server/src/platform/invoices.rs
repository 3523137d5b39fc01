//! Monthly invoices: `GET /workspaces/{ws}/invoices/{month}` (`YYYY-MM`, UTC), as JSON
//! or CSV.
//!
//! An invoice is the ledger's month for one workspace, one line per model. Its
//! subtotal is the exact sum of its lines, and it must equal the ledger's own total
//! for the workspace and month: both are read and compared, so an invoice never shows
//! a figure the ledger does not. Costs were fixed when each request ended (see
//! `morn-meter`), so re-reading a month gives the same invoice whatever prices are
//! configured today.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use morn_store::{UsageAggregate, UsageDimension, UsageFilter, UsageGrouping};
use serde::{Deserialize, Serialize};

use super::access::WsAccess;
use super::calendar::Month;
use super::error::{PResult, PlatformError};
use super::extract::{Query, now_ms};
use super::report::{Cell, Csv, Format, usd};
use crate::state::Shared;

/// How often the lines and the total are re-read when they disagree: a request of the
/// month being written between the two reads is the only honest cause.
const READ_ATTEMPTS: usize = 3;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// One invoice line: a model's usage and amount.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Line {
    model: String,
    requests: i64,
    input_tokens: i64,
    output_tokens: i64,
    cache_read_tokens: i64,
    cache_write_tokens: i64,
    reasoning_tokens: i64,
    amount_micros: i64,
    amount_usd: String,
}

#[derive(Debug, Serialize)]
pub struct Invoice {
    object: &'static str,
    org_id: String,
    workspace_id: String,
    /// `YYYY-MM`.
    month: String,
    /// First millisecond of the month (UTC), unix ms.
    period_start: i64,
    /// First millisecond of the next month, exclusive.
    period_end: i64,
    /// `open` while the month runs (the figures still grow), `closed` after.
    status: &'static str,
    currency: &'static str,
    /// The date of the shipped price catalog (overrides aside) this server bills with.
    price_catalog_date: String,
    lines: Vec<Line>,
    subtotal_micros: i64,
    subtotal_usd: String,
    total_micros: i64,
    total_usd: String,
}

/// `GET /workspaces/{ws}/invoices/{month}`.
pub async fn get(
    State(state): State<Shared>,
    access: WsAccess,
    Path((_, month)): Path<(String, String)>,
    Query(q): Query<InvoiceQuery>,
) -> PResult<Response> {
    let format = Format::parse(q.format.as_deref())?;
    let month = Month::parse(&month).ok_or_else(|| {
        PlatformError::invalid("month", "A month as YYYY-MM (UTC), e.g. 2025-01.")
    })?;
    let ws = &access.workspace;
    let (start, end) = (month.start_ms(), month.next().start_ms());
    let filter = UsageFilter {
        org_id: Some(ws.org_id.clone()),
        workspace_id: Some(ws.id.clone()),
        since: start,
        until: end,
        ..UsageFilter::default()
    };
    let closed = end <= now_ms();
    let (lines, subtotal) = read_lines(&state, &filter, closed).await?;
    let invoice = Invoice {
        object: "invoice",
        org_id: ws.org_id.clone(),
        workspace_id: ws.id.clone(),
        month: month.to_string(),
        period_start: start,
        period_end: end,
        status: if closed { "closed" } else { "open" },
        currency: "USD",
        price_catalog_date: state.meter.catalog.date.clone(),
        lines,
        subtotal_micros: subtotal,
        subtotal_usd: usd(subtotal),
        total_micros: subtotal,
        total_usd: usd(subtotal),
    };
    Ok(match format {
        Format::Json => Json(invoice).into_response(),
        Format::Csv => {
            let name = format!("invoice-{}-{}.csv", invoice.workspace_id, invoice.month);
            csv(&invoice).into_download(&name)
        }
    })
}

/// The lines of the month and their sum, checked against the ledger's total.
async fn read_lines(
    state: &Shared,
    filter: &UsageFilter,
    closed: bool,
) -> PResult<(Vec<Line>, i64)> {
    let store = &state.identity.store;
    let grouping = UsageGrouping {
        bucket: None,
        by: vec![UsageDimension::Model],
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let rows = store.usage_report(filter, &grouping).await?;
        let total = store.usage_total(filter).await?;
        let (lines, subtotal) = lines(&rows)?;
        if subtotal == total.cost_micros && sums_match(&rows, &total) {
            return Ok((lines, subtotal));
        }
        if attempt < READ_ATTEMPTS {
            continue;
        }
        if closed {
            // A closed month that does not add up is a ledger fault: no invoice rather
            // than a wrong one. Logged with the figures; the client sees a generic 500.
            return Err(PlatformError::internal(format!(
                "invoice lines sum to {subtotal} but the ledger total is {} ({filter:?})",
                total.cost_micros
            )));
        }
        // The month is still running and requests keep landing: the lines are one
        // consistent reading, and their sum is what this invoice says.
        tracing::warn!(
            subtotal,
            total = total.cost_micros,
            "open invoice read while the ledger moved"
        );
        return Ok((lines, subtotal));
    }
}

/// Whether the per-model rows add up to the total in requests too (a cheap second
/// check that no row was lost from the grouping).
fn sums_match(rows: &[UsageAggregate], total: &UsageAggregate) -> bool {
    rows.iter().map(|r| i128::from(r.requests)).sum::<i128>() == i128::from(total.requests)
}

fn lines(rows: &[UsageAggregate]) -> PResult<(Vec<Line>, i64)> {
    let mut subtotal: i64 = 0;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        subtotal = subtotal
            .checked_add(row.cost_micros)
            .ok_or_else(|| PlatformError::internal("invoice subtotal overflows i64"))?;
        lines.push(Line {
            model: row.model.clone().unwrap_or_default(),
            requests: row.requests,
            input_tokens: row.input_tokens,
            output_tokens: row.output_tokens,
            cache_read_tokens: row.cache_read_tokens,
            cache_write_tokens: row.cache_write_tokens,
            reasoning_tokens: row.reasoning_tokens,
            amount_micros: row.cost_micros,
            amount_usd: usd(row.cost_micros),
        });
    }
    Ok((lines, subtotal))
}

/// One row per line, then a `subtotal` row; the `item` column tells them apart so a
/// model can be called anything.
fn csv(invoice: &Invoice) -> Csv {
    let mut out = Csv::new(&[
        "item",
        "model",
        "requests",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "amount_micros",
        "amount_usd",
        "currency",
    ]);
    for line in &invoice.lines {
        out.row([
            Cell::from("usage"),
            Cell::from(line.model.as_str()),
            Cell::from(line.requests),
            Cell::from(line.input_tokens),
            Cell::from(line.output_tokens),
            Cell::from(line.cache_read_tokens),
            Cell::from(line.cache_write_tokens),
            Cell::from(line.reasoning_tokens),
            Cell::from(line.amount_micros),
            Cell::from(line.amount_usd.as_str()),
            Cell::from(invoice.currency),
        ]);
    }
    let sum = |f: fn(&Line) -> i64| invoice.lines.iter().map(f).fold(0i64, i64::saturating_add);
    out.row([
        Cell::from("subtotal"),
        Cell::from(""),
        Cell::from(sum(|l| l.requests)),
        Cell::from(sum(|l| l.input_tokens)),
        Cell::from(sum(|l| l.output_tokens)),
        Cell::from(sum(|l| l.cache_read_tokens)),
        Cell::from(sum(|l| l.cache_write_tokens)),
        Cell::from(sum(|l| l.reasoning_tokens)),
        Cell::from(invoice.subtotal_micros),
        Cell::from(invoice.subtotal_usd.as_str()),
        Cell::from(invoice.currency),
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_sum_exactly() {
        let row = |model: &str, cost| UsageAggregate {
            model: Some(model.into()),
            requests: 1,
            cost_micros: cost,
            ..UsageAggregate::default()
        };
        let rows = [row("a", 333_333), row("b", 666_667), row("c", 1)];
        let Ok((got, subtotal)) = lines(&rows) else {
            panic!("overflow")
        };
        assert_eq!(subtotal, 1_000_001);
        assert_eq!(got[1].amount_usd, "0.666667");
        assert!(lines(&[row("a", i64::MAX), row("b", 1)]).is_err());
    }
}
