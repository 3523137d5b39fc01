//! A validating JSON cursor that reads nothing it is not asked for.
//!
//! The OpenAI relay (`openai/relay.rs`) must know that an upstream answer is valid
//! JSON and read a handful of fields from it, while the bulk of the body (the answer's
//! text) only needs skipping. `serde_json` with borrowed fields did that at ~15,000
//! instructions per answer, an eighth of the gateway's own work per request
//! (callgrind, bench/README.md); most of it went to field dispatch and `Vec`s of
//! choices. This cursor checks the same grammar (RFC 8259: strings with their escapes
//! and no raw control characters, numbers, literals, nesting under 128 levels, nothing
//! after the value but whitespace) and hands each object key to the caller, who reads
//! or skips its value. Every method returns `None` on invalid input, which callers turn
//! into "not relayable". Input must already be known to be UTF-8.

use std::ops::Range;

/// `serde_json`'s nesting limit: 128 levels or more are refused, as it refuses them
/// (the cursor recurses, so a limit also bounds its stack).
const MAX_DEPTH: u32 = 128;

/// A JSON string as it appears in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Str<'a> {
    /// The characters between the quotes, escapes not decoded.
    pub raw: &'a [u8],
    /// Holds at least one backslash escape, so `raw` is not the string's value.
    pub escaped: bool,
}

impl<'a> Str<'a> {
    /// The string's value when it needs no decoding.
    pub fn plain(self) -> Option<&'a [u8]> {
        (!self.escaped).then_some(self.raw)
    }
}

/// A byte that ends the plain run of a string: its closing quote, an escape, or a
/// control character (invalid there). The definition [`string_stop`] computes with
/// word arithmetic; the tests hold the two together.
#[cfg(test)]
fn is_stop(b: &u8) -> bool {
    *b == b'"' || *b == b'\\' || *b < 0x20
}

/// Where the first [`is_stop`] byte of `bytes` is. Strings are most of what the relay
/// skips, so eight bytes are tested at a time: a byte of `x` is zero in `x - 0x01..`
/// and not in `x` exactly when the byte is below the subtrahend (the classic "has a
/// zero byte" test), applied to `x ^ '"'`, `x ^ '\\'` and `x` against `0x20`. The
/// borrow can also flag bytes above a real hit, never below one, so the lowest flag
/// is the answer.
#[inline]
fn string_stop(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if let Some(i) = first_stop(word) {
            return Some(at + i);
        }
        at += 8;
    }
    // The tail, padded with a byte that is no stop.
    let tail = chunks.remainder();
    let mut word = [b'a'; 8];
    word[..tail.len()].copy_from_slice(tail);
    first_stop(word).map(|i| at + i)
}

/// Appends `text` as a JSON string: copied between quotes when it holds no character
/// JSON must escape (a quote, a backslash or a control character, looked for eight
/// bytes at a time), else escaped by `serde_json`. Ids, model names and most generated
/// text need no escape; writers that build JSON by hand (the ledger line, stream
/// chunks) use this for their strings.
pub fn write_json_string(out: &mut Vec<u8>, text: &str) {
    if string_stop(text.as_bytes()).is_some() {
        // Writing into a Vec cannot fail, and a `str` always serializes.
        let _ = serde_json::to_writer(&mut *out, text);
        return;
    }
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// The index of the first [`is_stop`] byte of `word`, if any.
fn first_stop(word: [u8; 8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const SLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * 0x20;
    let x = u64::from_le_bytes(word);
    let quote = x ^ QUOTES;
    let slash = x ^ SLASHES;
    let found = ((quote.wrapping_sub(ONES) & !quote)
        | (slash.wrapping_sub(ONES) & !slash)
        | (x.wrapping_sub(SPACES) & !x))
        & HIGH;
    (found != 0).then(|| found.trailing_zeros() as usize / 8)
}

/// The value of an ASCII digit; `None` for anything else (a sign, a fraction or an
/// exponent in a number read as an integer).
#[inline]
fn digit(b: u8) -> Option<u8> {
    b.is_ascii_digit().then(|| b - b'0')
}

/// The members of an object already read, one bit each, to refuse one given twice
/// (as `serde`'s derived readers do).
#[derive(Debug, Default)]
pub(crate) struct Seen(u8);

impl Seen {
    /// `Some` the first time `bit` is marked, `None` after.
    pub fn first(&mut self, bit: u8) -> Option<()> {
        let fresh = self.0 & bit == 0;
        self.0 |= bit;
        fresh.then_some(())
    }
}

/// A position in a JSON text.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: u32,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    /// Skips whitespace and returns the next byte without taking it.
    pub fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// The byte offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    fn take(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// `null` is next (and taken); anything else is left in place.
    pub fn null(&mut self) -> bool {
        let is_null = self.peek() == Some(b'n') && self.bytes[self.at..].starts_with(b"null");
        if is_null {
            self.at += 4;
        }
        is_null
    }

    /// A string. Always inlined: it is most of the scanner's calls (every key and most
    /// values), and as a call its prologue and epilogue cost a third of it (callgrind).
    #[inline(always)]
    pub fn string(&mut self) -> Option<Str<'a>> {
        self.take(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            let rest = &self.bytes[self.at..];
            let stop = string_stop(rest)?;
            self.at += stop + 1;
            match rest[stop] {
                b'"' => {
                    return Some(Str {
                        raw: &self.bytes[start..self.at - 1],
                        escaped,
                    });
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                _ => return None,
            }
        }
    }

    /// The rest of an escape, after its backslash.
    fn escape(&mut self) -> Option<()> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        match b {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(()),
            b'u' => {
                let hex = self.bytes.get(self.at..self.at + 4)?;
                self.at += 4;
                hex.iter().all(u8::is_ascii_hexdigit).then_some(())
            }
            _ => None,
        }
    }

    /// A number; its text.
    pub fn number(&mut self) -> Option<&'a [u8]> {
        self.peek()?;
        let start = self.at;
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(&self.bytes[start..self.at])
    }

    fn digits(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }

    /// An integer that fits an `i64` (no fraction, no exponent).
    pub fn int(&mut self) -> Option<i64> {
        let text = self.number()?;
        match text.split_first() {
            // Accumulated downwards, so `i64::MIN` fits.
            Some((b'-', digits)) => digits.iter().try_fold(0i64, |value, &b| {
                value.checked_mul(10)?.checked_sub(i64::from(digit(b)?))
            }),
            _ => text.iter().try_fold(0i64, |value, &b| {
                value.checked_mul(10)?.checked_add(i64::from(digit(b)?))
            }),
        }
    }

    /// `null` (`Some(None)`) or an integer that fits a `u64`, as `Option<u64>` reads
    /// (a minus sign, even on zero, is refused, as `u64::from_str` refuses it).
    pub fn opt_u64(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        let text = self.number()?;
        text.iter()
            .try_fold(0u64, |value, &b| {
                value.checked_mul(10)?.checked_add(u64::from(digit(b)?))
            })
            .map(Some)
    }

    /// Any value, skipped; where it lies.
    pub fn value(&mut self) -> Option<Range<usize>> {
        let start = {
            self.peek()?;
            self.at
        };
        match self.bytes[start] {
            b'"' => {
                self.string()?;
            }
            b'{' => self.object(|cursor, _| cursor.value().map(drop))?,
            b'[' => self.array(|cursor| cursor.value().map(drop))?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            _ => {
                self.number()?;
            }
        }
        Some(start..self.at)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes[self.at..].starts_with(word).then(|| {
            self.at += word.len();
        })
    }

    fn enter(&mut self, open: u8) -> Option<()> {
        self.take(open)?;
        self.depth += 1;
        (self.depth < MAX_DEPTH).then_some(())
    }

    /// An object: `member` is called with each key (which must need no decoding) and
    /// must take its value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.enter(b'{')?;
        if self.take(b'}').is_none() {
            loop {
                let key = self.string()?.plain()?;
                self.take(b':')?;
                member(self, key)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// An array: `item` is called for each element and must take it.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.enter(b'[')?;
        if self.take(b']').is_none() {
            loop {
                item(self)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(text: &str) -> bool {
        let mut cursor = Cursor::new(text.as_bytes());
        cursor.value().is_some() && cursor.at_end()
    }

    #[test]
    fn accepts_exactly_what_serde_json_accepts() {
        let deep_ok = "[".repeat(127) + &"]".repeat(127);
        let too_deep = "[".repeat(128) + &"]".repeat(128);
        let cases = [
            r#"{"a":[1,-2,3.5,-0.0e+7,1E2,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]}"#,
            " { } ",
            "[]",
            r#"{"a":{"b":[{}]}}"#,
            "\"ünïcödé\"",
            "0",
            "{",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"raw\ttab\"",
            "\"open",
            "[1] 2",
            "",
            &deep_ok,
            &too_deep,
        ];
        for text in cases {
            let serde = serde_json::from_str::<serde_json::Value>(text).is_ok();
            assert_eq!(valid(text), serde, "{text:?}");
        }
    }

    #[test]
    fn finds_the_first_stop_byte_at_every_offset() {
        for len in 0..40 {
            for stop in [b'"', b'\\', 0x00, 0x1f, 0x0a] {
                for at in 0..=len {
                    let mut bytes = vec![b'a'; len];
                    // Bytes that look like stops to a careless test: high bytes and
                    // those just above the control range.
                    for (i, b) in bytes.iter_mut().enumerate() {
                        *b = [b'a', 0x20, 0x7f, 0x80, 0xff, b'!', b'#', b']'][i % 8];
                    }
                    if at < len {
                        bytes[at] = stop;
                    }
                    let want = (at < len).then_some(at);
                    assert_eq!(string_stop(&bytes), want, "len {len} at {at} stop {stop}");
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_bytewise_definition_on_every_byte_pair() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let bytes = [b'x', a, b'y', b, b'z', b'w', b'v', b'u', b't', a];
                assert_eq!(
                    string_stop(&bytes),
                    bytes.iter().position(is_stop),
                    "{a:#x} {b:#x}"
                );
            }
        }
    }

    #[test]
    fn reads_keys_strings_and_integers() {
        let mut cursor = Cursor::new(br#"{"n":-42,"s":"a\nb","big":1e3,"x":[1]}"#);
        let mut seen = Vec::new();
        let read = cursor.object(|cursor, key| {
            match key {
                b"n" => seen.push(format!("n={}", cursor.int()?)),
                b"s" => {
                    let s = cursor.string()?;
                    seen.push(format!("s escaped={} plain={:?}", s.escaped, s.plain()));
                }
                b"big" => seen.push(format!("big int={:?}", cursor.int())),
                _ => {
                    let span = cursor.value()?;
                    seen.push(format!("skipped {span:?}"));
                }
            }
            Some(())
        });
        assert_eq!(read, Some(()));
        assert_eq!(
            seen,
            [
                "n=-42",
                "s escaped=true plain=None",
                "big int=None",
                "skipped 34..37"
            ]
        );
    }

    /// The integer readers agree with `str::parse` of the number the cursor reads, on
    /// every number form, at and past the types' limits.
    #[test]
    fn integers_read_as_str_parse_reads_them() {
        for text in [
            "0",
            "-0",
            "7",
            "-42",
            "1.5",
            "1e3",
            "-1E-2",
            "10.0",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "00",
            "-",
            "+1",
            "",
            "12345678901234567890123",
            "x",
        ] {
            let number = Cursor::new(text.as_bytes()).number();
            let as_text = number.map(|n| std::str::from_utf8(n).unwrap_or_default());
            let expected_int = as_text.and_then(|t| t.parse::<i64>().ok());
            let expected_u64 = as_text.and_then(|t| t.parse::<u64>().ok());
            assert_eq!(
                Cursor::new(text.as_bytes()).int(),
                expected_int,
                "int {text:?}"
            );
            assert_eq!(
                Cursor::new(text.as_bytes()).opt_u64(),
                expected_u64.map(Some),
                "u64 {text:?}"
            );
        }
        assert_eq!(Cursor::new(b"null").opt_u64(), Some(None));
    }
}
