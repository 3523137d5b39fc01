//! A response body read as it arrives (a server-sent event stream), on the calling
//! task, straight off its connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;

use super::body::{BodyReader, Step};
use super::pool::Pool;
use super::response::ReadError;

/// How long a finished stream's connection may take to deliver the end of its body
/// (the last chunk's terminator, sent after the end marker) before it is closed
/// instead of pooled.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The body of an answer being streamed.
#[derive(Debug)]
pub(crate) struct LeanBody {
    /// `None` once the body has ended or failed.
    conn: Option<TcpStream>,
    buf: BytesMut,
    reader: BodyReader,
    /// The head allows another request on this connection after the body.
    keep: bool,
    pool: Arc<Pool>,
}

impl LeanBody {
    pub(crate) fn new(
        conn: TcpStream,
        buf: BytesMut,
        reader: BodyReader,
        keep: bool,
        pool: Arc<Pool>,
    ) -> Self {
        Self {
            conn: Some(conn),
            buf,
            reader,
            keep,
            pool,
        }
    }

    /// The next piece of the body as it arrives; `None` after the last one (the
    /// connection has then gone back to the pool, when it can carry another request).
    pub(crate) async fn chunk(&mut self) -> Option<Result<Bytes, ReadError>> {
        let conn = self.conn.as_mut()?;
        match self.reader.next(conn, &mut self.buf).await {
            Ok(Some(data)) => Some(Ok(data)),
            Ok(None) => {
                self.release();
                None
            }
            Err(e) => {
                self.conn = None;
                Some(Err(e))
            }
        }
    }

    /// The whole rest of the body (an error answer's).
    pub(crate) async fn read_to_end(mut self) -> Result<Bytes, ReadError> {
        let mut whole = BytesMut::new();
        while let Some(piece) = self.chunk().await {
            whole.extend_from_slice(&piece?);
        }
        Ok(whole.freeze())
    }

    /// Called when the stream's content is complete (its end marker was seen) and no
    /// more of it will be read: the connection goes back to the pool once the body's
    /// framing has ended too. What already arrived is checked at once; otherwise a
    /// short task waits for the rest, so the caller is not held up and the next
    /// request does not have to connect afresh.
    pub(crate) fn finish(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.keep {
            return;
        }
        let mut reader = std::mem::replace(&mut self.reader, BodyReader::done());
        let mut buf = std::mem::take(&mut self.buf);
        // Anything still in the body after the end marker is skipped.
        loop {
            match reader.step(&mut buf) {
                Ok(Step::Data(_)) => continue,
                Ok(Step::End) if buf.is_empty() => {
                    self.pool.checkin(conn);
                    return;
                }
                Ok(Step::More) => break,
                Ok(Step::End) | Err(_) => return,
            }
        }
        let pool = Arc::clone(&self.pool);
        tokio::spawn(async move {
            let mut conn = conn;
            let drained = tokio::time::timeout(DRAIN_GRACE, async {
                while reader.next(&mut conn, &mut buf).await?.is_some() {}
                Ok::<_, ReadError>(buf.is_empty())
            })
            .await;
            if let Ok(Ok(true)) = drained {
                pool.checkin(conn);
            }
        });
    }

    fn release(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.keep
            && self.buf.is_empty()
        {
            self.pool.checkin(conn);
        }
    }
}
