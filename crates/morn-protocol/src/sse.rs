//! A small incremental Server-Sent Events parser and writer.
//!
//! Upstream bodies arrive in arbitrary byte chunks; `SseParser::push` takes each chunk
//! and returns the events completed so far. It follows the WHATWG rules that matter to
//! LLM APIs: `\n`, `\r\n` and `\r` line endings, multi-line `data`, comment lines,
//! `event` names, and a trailing event without its blank line discarded (a stream cut
//! mid-event is incomplete, not a shorter event).

use bytes::Bytes;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, when present.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental parser state.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The start of a line whose end has not arrived yet.
    buf: Vec<u8>,
    event: Option<String>,
    data: String,
    has_data: bool,
    /// A `\r` ended the last chunk: a following `\n` belongs to the same line ending.
    pending_cr: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns every event completed by them. Invalid UTF-8 in a line is
    /// replaced rather than failing, so one bad byte cannot wedge a stream; the JSON
    /// decoder then reports the event as malformed.
    ///
    /// Lines are read straight from `chunk` (searched with `memchr`); only a partial
    /// last line is copied, to wait for its end. This runs for every upstream read of
    /// every stream, so it avoids per-line buffers.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.push_into(chunk, &mut out);
        out
    }

    /// As [`push`](Self::push), appending the events to `out`: a caller that reads a
    /// whole stream can reuse one vector's room for every read (growing a new one per
    /// read showed in profiles).
    pub fn push_into(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        let mut rest = chunk;
        if self.pending_cr {
            self.pending_cr = false;
            if rest.first() == Some(&b'\n') {
                rest = &rest[1..];
            }
        }
        if self.buf.is_empty() {
            let used = self.lines(rest, out);
            self.buf.extend_from_slice(&rest[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(rest);
            let used = self.lines(&buf, out);
            buf.drain(..used);
            self.buf = buf;
        }
    }

    /// Handles every complete line of `bytes`; returns how many bytes that used.
    fn lines(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> usize {
        let mut start = 0;
        while let Some(offset) = memchr::memchr2(b'\n', b'\r', &bytes[start..]) {
            let end = start + offset;
            let mut next = end + 1;
            if bytes[end] == b'\r' {
                match bytes.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
            self.line(&bytes[start..end], out);
            start = next;
        }
        start
    }

    /// Whether bytes of an unfinished event are buffered (used to tell a clean end of
    /// stream from a cut one).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.has_data || self.event.is_some()
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if self.has_data {
                out.push(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.event = None;
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return;
        }
        // Split on the colon first (a byte search; an ASCII ':' is never inside a
        // multi-byte character), then read only the value of a field that is kept.
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                    self.data.push_str(&text(value));
                } else {
                    // The usual one-line event: one allocation of the right size
                    // rather than an empty string grown to fit.
                    self.data = text(value).into_owned();
                }
                self.has_data = true;
            }
            b"event" => self.event = Some(text(value).into_owned()),
            _ => {}
        }
    }
}

/// A field's value as text. Validating (with SIMD: every byte of every upstream stream
/// passes here) is far faster than `from_utf8_lossy` walking valid text, and every line
/// of a sane stream is valid: lossy only on the error path.
fn text(value: &[u8]) -> std::borrow::Cow<'_, str> {
    match simdutf8::basic::from_utf8(value) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value),
    }
}

/// Appends `data: <json>\n\n` to `out`.
pub fn write_data(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
}

/// Appends `event: <name>\ndata: <json>\n\n` to `out`.
pub fn write_event(out: &mut Vec<u8>, event: &str, data: &[u8]) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(b"\n");
    write_data(out, data);
}

/// Convenience for tests and one-shot bodies: parses a complete SSE body.
pub fn parse_all(body: &[u8]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    parser.push(body)
}

/// Bytes of a finished SSE body, for callers that want `Bytes`.
pub fn into_bytes(out: Vec<u8>) -> Bytes {
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_across_chunks_and_line_endings() {
        let body = b"event: a\r\ndata: {\"x\":1}\r\n\r\n: comment\ndata: one\ndata: two\n\ndata: [DONE]\r\r";
        for split in 0..body.len() {
            let mut p = SseParser::new();
            let mut events = p.push(&body[..split]);
            events.extend(p.push(&body[split..]));
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        event: Some("a".into()),
                        data: "{\"x\":1}".into()
                    },
                    SseEvent {
                        event: None,
                        data: "one\ntwo".into()
                    },
                    SseEvent {
                        event: None,
                        data: "[DONE]".into()
                    },
                ],
                "split at {split}"
            );
            assert!(!p.has_partial());
        }
    }

    #[test]
    fn fields_are_split_at_the_first_colon_and_bad_bytes_replaced() {
        let body = b"data:no space\ndata: a: b\ndata\nid: 7\nretry: 5\n\nevent: e\xff\ndata: \xe9t\xc3\xa9\ndat\xff: hidden\n\n";
        assert_eq!(
            parse_all(body),
            vec![
                SseEvent {
                    event: None,
                    data: "no space\na: b\n".into()
                },
                SseEvent {
                    event: Some("e\u{FFFD}".into()),
                    data: "\u{FFFD}t\u{e9}".into()
                },
            ]
        );
    }

    #[test]
    fn one_byte_at_a_time_gives_the_same_events() {
        let body = b"event: a\r\ndata: x\r\rdata: y\n\ndata: z\r\n\r\n";
        let mut p = SseParser::new();
        let events: Vec<SseEvent> = body.iter().flat_map(|b| p.push(&[*b])).collect();
        assert_eq!(events, parse_all(body));
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: Some("a".into()),
                    data: "x".into()
                },
                SseEvent {
                    event: None,
                    data: "y".into()
                },
                SseEvent {
                    event: None,
                    data: "z".into()
                },
            ]
        );
        assert!(!p.has_partial());
    }

    #[test]
    fn an_unterminated_event_is_not_dispatched() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: {\"partial\":").is_empty());
        assert!(p.has_partial());
        let mut p = SseParser::new();
        assert!(p.push(b"data: complete\n").is_empty());
        assert!(p.has_partial());
    }

    #[test]
    fn writer_round_trips() {
        let mut out = Vec::new();
        write_event(&mut out, "ping", b"{}");
        write_data(&mut out, b"[DONE]");
        assert_eq!(
            parse_all(&out),
            vec![
                SseEvent {
                    event: Some("ping".into()),
                    data: "{}".into()
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
    }
}
