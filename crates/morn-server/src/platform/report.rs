//! Output helpers shared by the usage report and invoices: money as text and CSV.
//!
//! Money stays integer micro-units end to end; the USD text is cut from the integer
//! (`1234567` → `"1.234567"`), never computed through a float.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::{PResult, PlatformError};

/// `micros` as a USD amount with six decimals, e.g. `"12.000500"`, `"-0.000001"`.
pub fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

/// `json` or `csv`, from `?format=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Json,
    Csv,
}

impl Format {
    /// `?format=`: absent is JSON.
    pub fn parse(text: Option<&str>) -> PResult<Self> {
        match text {
            None | Some("json") => Ok(Self::Json),
            Some("csv") => Ok(Self::Csv),
            Some(_) => Err(PlatformError::invalid("format", "Use json or csv.")),
        }
    }
}

/// A CSV document built row by row (RFC 4180: comma separated, CRLF line ends,
/// fields quoted when they need it).
#[derive(Debug, Default)]
pub struct Csv {
    text: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Self {
        let mut csv = Self::default();
        csv.row(header.iter().map(|h| Cell::Text(h)));
        csv
    }

    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            match cell {
                Cell::Int(n) => self.text.push_str(&n.to_string()),
                Cell::Text(text) => push_text(&mut self.text, text),
            }
        }
        self.text.push_str("\r\n");
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A `text/csv` download named `filename`.
    pub fn into_download(self, filename: &str) -> Response {
        // The filename is built from ids and dates by the caller; dropping anything
        // else keeps the header value valid whatever the ids contain.
        let safe: String = filename
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\""))
            .unwrap_or(HeaderValue::from_static("attachment"));
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            self.text,
        )
            .into_response()
    }
}

/// One CSV field.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Int(i64),
    Text(&'a str),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(text: &'a str) -> Self {
        Self::Text(text)
    }
}

impl From<i64> for Cell<'_> {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(text: Option<&'a str>) -> Self {
        Self::Text(text.unwrap_or(""))
    }
}

fn push_text(out: &mut String, text: &str) {
    // Model names and ids come from users: one starting with `=`, `+`, `-` or `@`
    // would run as a formula when the export is opened in a spreadsheet, so it gets a
    // leading apostrophe (the usual neutralisation, shown by spreadsheets as text).
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || text.contains([',', '"', '\n', '\r']);
    if !quote {
        out.push_str(text);
        return;
    }
    out.push('"');
    if formula {
        out.push('\'');
    }
    out.push_str(&text.replace('"', "\"\""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_is_cut_from_integers() {
        assert_eq!(usd(0), "0.000000");
        assert_eq!(usd(1), "0.000001");
        assert_eq!(usd(12_000_500), "12.000500");
        assert_eq!(usd(-1), "-0.000001");
        assert_eq!(usd(i64::MIN), "-9223372036854.775808");
        assert_eq!(usd(i64::MAX), "9223372036854.775807");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut csv = Csv::new(&["model", "n"]);
        csv.row([Cell::from("a,b"), Cell::from(3)]);
        csv.row([Cell::from("say \"hi\""), Cell::from(-4)]);
        csv.row([Cell::from("=cmd()"), Cell::from(None)]);
        assert_eq!(
            csv.text,
            "model,n\r\n\"a,b\",3\r\n\"say \"\"hi\"\"\",-4\r\n\"'=cmd()\",\r\n"
        );
    }
}
