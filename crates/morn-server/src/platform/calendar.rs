//! UTC calendar arithmetic for budgets, usage reports and invoices: period starts,
//! `YYYY-MM` months, RFC 3339 timestamps in and out. All times are unix milliseconds.
//!
//! The server has no date crate, and what billing needs is small: proleptic Gregorian
//! days from a count of days and back (the well-known "days from civil" arithmetic),
//! without leap seconds, which unix time does not count either.

const DAY_MS: i64 = 86_400_000;

/// Earliest time accepted from clients: 1970-01-01.
pub const MIN_MS: i64 = 0;
/// Latest time accepted from clients: 9999-12-31T23:59:59.999Z, so every accepted
/// instant formats as a four-digit year and month arithmetic cannot overflow.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i64,
    /// 1 to 12.
    pub month: i64,
}

impl Month {
    /// The month containing `ms`.
    pub fn of(ms: i64) -> Self {
        let (year, month, _) = civil(ms.div_euclid(DAY_MS));
        Self { year, month }
    }

    /// `YYYY-MM`, years 1970 to 9999.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let year = digits(year)?;
        let month = digits(month)?;
        ((1970..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    pub fn start_ms(self) -> i64 {
        days(self.year, self.month, 1) * DAY_MS
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Parses a client timestamp: unix milliseconds (`1735689600000`), an RFC 3339
/// date-time (`2025-01-01T00:00:00Z`, `...+02:00`, fractional seconds allowed) or a
/// date (`2025-01-01`, midnight UTC). `None` for anything else or outside
/// [`MIN_MS`]..=[`MAX_MS`].
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let ms = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().ok()?
    } else {
        parse_rfc3339(text)?
    };
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let date = text.get(..10)?;
    let (y, rest) = date.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (year, month, day) = (digits(y)?, digits(m)?, digits(d)?);
    if !(1..=12).contains(&month) || day < 1 || day > month_days(year, month) {
        return None;
    }
    let midnight = days(year, month, day) * DAY_MS;
    if bytes.len() == 10 {
        return Some(midnight);
    }
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let time = text.get(11..)?;
    let (clock, offset_ms) = split_offset(time)?;
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut parts = hms.split(':');
    let (h, mi, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() != 2 || mi.len() != 2 || s.len() != 2 {
        return None;
    }
    let (h, mi, s) = (digits(h)?, digits(mi)?, digits(s)?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let millis = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            // Milliseconds are the ledger's resolution: finer digits are cut.
            let first: String = f.chars().chain("000".chars()).take(3).collect();
            first.parse::<i64>().ok()?
        }
        Some(_) => return None,
    };
    // A leap second (`:60`) counts as the next second, as unix time has none.
    Some(midnight + ((h * 60 + mi) * 60 + s) * 1000 + millis - offset_ms)
}

/// Splits `HH:MM:SS[.f]` from `Z` or `±HH:MM`; returns the offset east of UTC in ms.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let at = time.rfind(['+', '-'])?;
    let (clock, offset) = time.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let (oh, om) = offset.get(1..)?.split_once(':')?;
    if oh.len() != 2 || om.len() != 2 {
        return None;
    }
    let (oh, om) = (digits(oh)?, digits(om)?);
    if oh > 23 || om > 59 {
        return None;
    }
    Some((clock, sign * (oh * 60 + om) * 60_000))
}

/// Formats `ms` as `2025-01-01T00:00:00Z` (milliseconds shown only when set).
pub fn format_rfc3339(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(DAY_MS));
    let in_day = ms.rem_euclid(DAY_MS);
    let (secs, millis) = (in_day / 1000, in_day % 1000);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if millis == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{millis:03}Z")
    }
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn month_days(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Counts in 400-year eras
/// starting in March, so the leap day is the last day of its year.
fn days(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01; the inverse of [`days`].
fn civil(days_since_epoch: i64) -> (i64, i64, i64) {
    let z = days_since_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_round_trip() {
        assert_eq!(days(1970, 1, 1), 0);
        assert_eq!(days(2000, 3, 1), 11_017);
        for n in (-1000..200_000).step_by(7) {
            let (y, m, d) = civil(n);
            assert_eq!(days(y, m, d), n);
        }
    }

    #[test]
    fn parses_unix_ms_rfc3339_and_dates() {
        assert_eq!(parse_time("1735689600000"), Some(1_735_689_600_000));
        assert_eq!(parse_time("2025-01-01T00:00:00Z"), Some(1_735_689_600_000));
        assert_eq!(parse_time("2025-01-01"), Some(1_735_689_600_000));
        assert_eq!(
            parse_time("2025-01-01T02:00:00.5+02:00"),
            Some(1_735_689_600_500)
        );
        assert_eq!(
            parse_time("2024-12-31T19:00:00-05:00"),
            Some(1_735_689_600_000)
        );
        assert_eq!(
            parse_time("2024-02-29T12:00:00.123456Z").map(|t| t % 1000),
            Some(123)
        );
        for bad in [
            "",
            "-5",
            "2025-13-01",
            "2023-02-29",
            "2025-01-01T25:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00Z",
            "1e9",
            "99999999999999999999",
            "253402300800000",
            "2025-01-01T00:00:00.Z",
            "٢٠٢٥-01-01",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_and_days() {
        let t = parse_time("2024-02-29T23:59:59.999Z").unwrap_or_default();
        let feb = Month::of(t);
        assert_eq!(feb.to_string(), "2024-02");
        assert_eq!(feb.start_ms(), parse_time("2024-02-01").unwrap_or_default());
        assert_eq!(feb.next().to_string(), "2024-03");
        assert_eq!(
            Month::parse("2024-12").map(|m| m.next().to_string()),
            Some("2025-01".into())
        );
        assert_eq!(Month::parse("2024-1"), None);
        assert_eq!(Month::parse("1969-12"), None);
        assert_eq!(format_rfc3339(t), "2024-02-29T23:59:59.999Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(MAX_MS), "9999-12-31T23:59:59.999Z");
    }
}
