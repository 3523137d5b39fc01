//! Calendar arithmetic for windows and budget periods, in UTC, on unix milliseconds.

use morn_store::BudgetPeriod;

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
            let (y, m, _) = civil_from_days(now.div_euclid(DAY_MS));
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (
                days_from_civil(y, m, 1) * DAY_MS,
                days_from_civil(ny, nm, 1) * DAY_MS,
            )
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
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
    fn months_have_their_lengths() {
        // 2024-02-15 12:00 UTC.
        let now = days_from_civil(2024, 2, 15) * DAY_MS + 12 * 3_600_000;
        let (start, end) = budget_window(BudgetPeriod::Month, now);
        assert_eq!(start, days_from_civil(2024, 2, 1) * DAY_MS);
        assert_eq!((end - start) / DAY_MS, 29, "2024 is a leap year");
        let dec = days_from_civil(2025, 12, 31) * DAY_MS;
        let (_, end) = budget_window(BudgetPeriod::Month, dec);
        assert_eq!(end, days_from_civil(2026, 1, 1) * DAY_MS);
        assert_eq!(
            civil_from_days(days_from_civil(2026, 11, 22)),
            (2026, 11, 22)
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn windows_and_reset_text() {
        assert_eq!(minute(125_000), (120_000, 180_000));
        let (s, e) = budget_window(BudgetPeriod::Day, DAY_MS + 5);
        assert_eq!((s, e), (DAY_MS, 2 * DAY_MS));
        assert_eq!(reset_text(250), "250ms");
        assert_eq!(reset_text(16_200), "17s");
        assert_eq!(reset_text(63_000), "1m3s");
    }
}
