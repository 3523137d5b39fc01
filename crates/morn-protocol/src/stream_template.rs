//! Reading a text chunk of a stream by comparing it with the one before.
//!
//! The text chunks of one streamed answer are the same bytes but for the text: the
//! same id, model, time stamp and choice in OpenAI's chunks, the same event type and
//! block index in Anthropic's, in the same order. Reading each one whole was ~3,700
//! instructions an OpenAI chunk with the validating cursor, about 40% of a stream's
//! cost in the gateway (callgrind, bench/README.md), and more with `serde_json`. A
//! [`Template`] keeps the bytes around the text of the last plain text chunk read
//! whole, and the next chunk that is the same bytes around a different string is that
//! string's text delta and nothing else: everything outside the string was validated
//! and read when the template was made, and a string in place of a string leaves a
//! JSON document valid with the same structure. Checking that is two byte comparisons
//! and one string scan. The decoders (`openai/stream_decode.rs`,
//! `anthropic/stream_decode.rs`) make a template only of a chunk whose whole effect
//! is its text, so a chunk read by one has the effect reading it whole would have.
//!
//! The last member of the chunk may also differ, when it is a string Morn does not
//! read: OpenAI ends every chunk with an `obfuscation` string of random length.
//! Anything else (a finish reason, usage, tool calls, another field changing) is not
//! the same bytes, and the chunk is read whole as before.

use std::borrow::Cow;
use std::ops::Range;

use crate::json_scan::Cursor;

/// The bytes around the text of a plain text chunk: `prefix`, the text's string,
/// `middle`, and, when the chunk ends with a string Morn ignores (`free_tail`), that
/// string and `end`.
#[derive(Debug, Default)]
pub(crate) struct Template {
    prefix: Vec<u8>,
    middle: Vec<u8>,
    free_tail: bool,
    end: Vec<u8>,
    /// The choice the text belongs to.
    pub choice: u32,
}

impl Template {
    /// Makes this the template of `data`, a chunk read whole whose only event is text
    /// of `choice` (or none, for empty text), with its text's string at `text` and, if
    /// its last member is a string Morn ignores, that string at `free_tail` (both
    /// quotes included). The buffers are reused: a stream whose chunks differ
    /// elsewhere remakes its template on every chunk.
    pub fn set(
        &mut self,
        data: &str,
        text: Range<usize>,
        free_tail: Option<Range<usize>>,
        choice: u32,
    ) {
        let bytes = data.as_bytes();
        self.prefix.clear();
        self.prefix.extend_from_slice(&bytes[..text.start]);
        self.middle.clear();
        self.end.clear();
        match free_tail {
            Some(tail) if tail.start >= text.end => {
                self.middle.extend_from_slice(&bytes[text.end..tail.start]);
                self.end.extend_from_slice(&bytes[tail.end..]);
                self.free_tail = true;
            }
            _ => {
                self.middle.extend_from_slice(&bytes[text.end..]);
                self.free_tail = false;
            }
        }
        self.choice = choice;
    }

    /// The text of `data` when it is this template's chunk with other text (escapes
    /// decoded); `None` when it is not, or its text cannot be decoded.
    pub fn text<'a>(&self, data: &'a str) -> Option<Cow<'a, str>> {
        let rest = data.as_bytes().strip_prefix(self.prefix.as_slice())?;
        // The string right after the prefix, as in the template (the cursor would
        // skip whitespace before it).
        (rest.first() == Some(&b'"')).then_some(())?;
        let mut cursor = Cursor::new(rest);
        let text = cursor.string()?;
        let after = cursor.position();
        let rest = rest[after..].strip_prefix(self.middle.as_slice())?;
        if self.free_tail {
            let mut tail = Cursor::new(rest);
            tail.string()?;
            (rest[tail.position()..] == *self.end).then_some(())?;
        } else if !rest.is_empty() {
            return None;
        }
        // The string's quotes are ASCII, so both ends are character boundaries.
        let start = self.prefix.len();
        if text.escaped {
            serde_json::from_str::<String>(data.get(start..start + after)?)
                .ok()
                .map(Cow::Owned)
        } else {
            data.get(start + 1..start + 1 + text.raw.len())
                .map(Cow::Borrowed)
        }
    }
}

/// For each `(first, next)` pair and every [`one_byte_variants`] of `next`, asserts
/// that `both(first, variant)` gives equal answers (a decoder's answer with its
/// template and without it); returns how many variants were checked.
#[cfg(test)]
pub(crate) fn assert_variants_agree(
    pairs: &[(&str, &str)],
    both: impl Fn(&str, &str) -> (String, String),
) -> usize {
    let mut checked = 0;
    for (first, next) in pairs {
        for text in one_byte_variants(next) {
            let (with, without) = both(first, &text);
            assert_eq!(with, without, "{text}");
            checked += 1;
        }
    }
    checked
}

/// Every change of one byte of `text` (replaced by each of a set of JSON-significant
/// bytes, or deleted) and a few bytes inserted anywhere, as far as they stay UTF-8.
#[cfg(test)]
fn one_byte_variants(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut variants = Vec::new();
    for at in 0..bytes.len() {
        for &byte in b"\"\\{}[],:n0-. ax\x01" {
            let mut changed = bytes.to_vec();
            changed[at] = byte;
            variants.push(changed);
        }
        let mut shorter = bytes.to_vec();
        shorter.remove(at);
        variants.push(shorter);
        for &byte in b" \"x" {
            let mut longer = bytes.to_vec();
            longer.insert(at, byte);
            variants.push(longer);
        }
    }
    variants
        .into_iter()
        .filter_map(|v| String::from_utf8(v).ok())
        .collect()
}
