//! Calendar arithmetic for windows and budget periods, in UTC, on unix milliseconds.

use morn_store::BudgetPeriod;

use crate::platform::calendar::Month;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Start and end of the rate-limit minute containing `now`.
pub fn minute(now: i64) -> (i64, i64) {
    let start = now - now.rem_euclid(MINUTE_MS);
    (start, start + MINUTE_MS)
}

/// Start and end of the budget period containing `now`; `Total` is `(0, i64::MAX)`.
pub fn budget_window(period: BudgetPeriod, now: i64) -> (i64, i64) {
    match period {
        BudgetPeriod::Total => (0, i64::MAX),
        BudgetPeriod::Day => {
            let start = now - now.rem_euclid(DAY_MS);
            (start, start + DAY_MS)
        }
        BudgetPeriod::Month => {
            let month = Month::of(now);
            (month.start_ms(), month.next().start_ms())
        }
    }
}

/// A duration as OpenAI's rate-limit reset headers write it: `250ms`, `17s`, `1m3s`.
pub fn reset_text(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = (ms + 999) / 1000;
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_read_as_openai_writes_them() {
        for (ms, want) in [
            (-5, "0ms"),
            (0, "0ms"),
            (999, "999ms"),
            (1000, "1s"),
            (1001, "2s"),
            (59_000, "59s"),
            (60_000, "1m0s"),
            (63_000, "1m3s"),
            (3_600_000, "60m0s"),
        ] {
            assert_eq!(reset_text(ms), want, "{ms} ms");
        }
    }

    #[test]
    fn months_have_their_lengths() {
        let at = |s: &str| crate::platform::calendar::parse_time(s).unwrap_or(-1);
        let (start, end) = budget_window(BudgetPeriod::Month, at("2024-02-15T12:00:00Z"));
        assert_eq!(start, at("2024-02-01"));
        assert_eq!((end - start) / DAY_MS, 29, "2024 is a leap year");
        let (_, end) = budget_window(BudgetPeriod::Month, at("2025-12-31T23:00:00Z"));
        assert_eq!(end, at("2026-01-01"));
    }

    #[test]
    fn windows_and_reset_text() {
        assert_eq!(minute(125_000), (120_000, 180_000));
        let (s, e) = budget_window(BudgetPeriod::Day, DAY_MS + 5);
        assert_eq!((s, e), (DAY_MS, 2 * DAY_MS));
        assert_eq!(reset_text(250), "250ms");
        assert_eq!(reset_text(16_200), "17s");
        assert_eq!(reset_text(63_000), "1m3s");
        assert_eq!(reset_text(-5), "0ms");
        assert_eq!(reset_text(999), "999ms");
        assert_eq!(reset_text(1_000), "1s");
        assert_eq!(reset_text(59_999), "1m0s");
        assert_eq!(reset_text(3_600_000), "60m0s");
    }
}
