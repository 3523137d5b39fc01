//! A response body decoded piece by piece as its bytes arrive: `Content-Length`,
//! `Transfer-Encoding: chunked` (extensions and trailers skipped) or until the server
//! closes. The same decoder reads whole answers and streams.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::response::{MAX_BODY, ReadError};

/// A chunk-size or trailer line longer than this is refused.
const MAX_LINE: usize = 4 * 1024;

/// How the body's end is known (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Body bytes left.
    Length(usize),
    ChunkSize,
    /// Bytes left in the current chunk.
    ChunkData(usize),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    Trailer,
    UntilClose,
    Done,
}

/// What the bytes at hand gave.
pub(crate) enum Step {
    Data(Bytes),
    End,
    /// More bytes are needed.
    More,
}

/// The decoder's place in the body.
#[derive(Debug)]
pub(crate) struct BodyReader {
    state: State,
    /// Body bytes so far, held to [`MAX_BODY`].
    seen: usize,
}

impl BodyReader {
    pub(crate) fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Empty => State::Done,
            Framing::Length(len) => State::Length(len),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Self { state, seen: 0 }
    }

    /// A reader at the end of its body.
    pub(crate) fn done() -> Self {
        Self {
            state: State::Done,
            seen: 0,
        }
    }

    /// The next piece of the body, from `buf` and then from `io`; `None` at its end,
    /// with `buf` holding whatever followed it.
    pub(crate) async fn next<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        buf: &mut BytesMut,
    ) -> Result<Option<Bytes>, ReadError> {
        loop {
            match self.step(buf)? {
                Step::Data(data) => return Ok(Some(data)),
                Step::End => return Ok(None),
                Step::More => {
                    if buf.capacity() - buf.len() < 1024 {
                        buf.reserve(8 * 1024);
                    }
                    if io.read_buf(buf).await? == 0 {
                        if matches!(self.state, State::UntilClose) {
                            self.state = State::Done;
                            return Ok(None);
                        }
                        return Err(ReadError::Malformed("connection closed inside the body"));
                    }
                }
            }
        }
    }

    /// Decodes what `buf` holds, without reading.
    pub(crate) fn step(&mut self, buf: &mut BytesMut) -> Result<Step, ReadError> {
        loop {
            match self.state {
                State::Done | State::Length(0) => {
                    self.state = State::Done;
                    return Ok(Step::End);
                }
                State::Length(left) => {
                    let data = self.take(buf, left)?;
                    if !data.is_empty() {
                        self.state = State::Length(left - data.len());
                        return Ok(Step::Data(data));
                    }
                    return Ok(Step::More);
                }
                State::UntilClose => {
                    let data = self.take(buf, usize::MAX)?;
                    return Ok(if data.is_empty() {
                        Step::More
                    } else {
                        Step::Data(data)
                    });
                }
                State::ChunkData(left) => {
                    let data = self.take(buf, left)?;
                    if data.is_empty() {
                        return Ok(Step::More);
                    }
                    self.state = match left - data.len() {
                        0 => State::ChunkEnd,
                        rest => State::ChunkData(rest),
                    };
                    return Ok(Step::Data(data));
                }
                State::ChunkEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::More);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ReadError::Malformed("chunk not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = State::ChunkSize;
                }
                State::ChunkSize => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(Step::More);
                    };
                    self.state = match parse_chunk_size(&line)? {
                        0 => State::Trailer,
                        size => State::ChunkData(size),
                    };
                }
                State::Trailer => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(Step::More);
                    };
                    // Trailer fields are skipped; an empty line ends the body.
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                }
            }
        }
    }

    /// Up to `max` bytes off the front of `buf`, without copying.
    fn take(&mut self, buf: &mut BytesMut, max: usize) -> Result<Bytes, ReadError> {
        let n = max.min(buf.len());
        self.seen += n;
        if self.seen > MAX_BODY {
            return Err(ReadError::TooLarge);
        }
        Ok(buf.split_to(n).freeze())
    }
}

/// A whole CRLF-ended line off the front of `buf` (CRLF dropped), once it is there.
fn take_line(buf: &mut BytesMut) -> Result<Option<BytesMut>, ReadError> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(at) => {
            let line = buf.split_to(at);
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > MAX_LINE => Err(ReadError::Malformed("chunk line too long")),
        None => Ok(None),
    }
}

/// The hex size at the start of a chunk line; extensions (`;name=value`) are ignored.
fn parse_chunk_size(line: &[u8]) -> Result<usize, ReadError> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() || digits.len() > 12 {
        return Err(ReadError::Malformed("invalid chunk size"));
    }
    digits.iter().try_fold(0usize, |n, &d| {
        let v = (d as char)
            .to_digit(16)
            .ok_or(ReadError::Malformed("invalid chunk size"))?;
        Ok(n * 16 + v as usize)
    })
}
