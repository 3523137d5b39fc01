//! The background writer: moves closed write-ahead segments into the store.
//!
//! Each flush rotates the current segment, then stores the closed segments oldest
//! first, `batch_size` records at a time, with `UsageStore::insert_usage`. The segment
//! just closed comes with its records kept in memory ([`Kept`]) and is stored from
//! them; any other segment (one of an earlier process, one whose copy was not kept
//! whole, one whose insert failed before) is read back from its file. A segment is
//! deleted only once all of its records are stored. Inserts skip request ids already
//! stored, so storing a batch twice (a crash between the insert and the delete, or a
//! retry) is harmless; that is what makes the whole scheme at-least-once on disk and
//! exactly-once in the store.
//!
//! A failed insert keeps the position in the segment (and a batch read from the file,
//! one batch at most) but drops a kept copy: the retry reads the file from there, so
//! copies do not pile up in memory while the store is down; the backlog waits on
//! disk. The writer retries with a growing delay; the outage is logged once when it
//! starts and once when it ends.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use morn_store::{Store, StoreError};

use super::Ledger;
use super::wal::{self, Batch, Kept, KeptBatch};

/// The longest wait between two retries while the store is failing.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where the writer got to in the oldest segment not yet deleted.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    seq: u64,
    /// Bytes of segment `seq` already stored.
    offset: u64,
    /// A batch read but not stored (its insert failed), retried before reading on.
    held: Option<(u64, Batch)>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FlushError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("usage ledger file error: {0}")]
    Io(#[from] io::Error),
}

/// Rotates, then stores every closed segment and deletes it.
pub(crate) async fn flush(ledger: &Ledger, store: &dyn Store) -> Result<(), FlushError> {
    let mut cursor = ledger.cursor.lock().await;
    let (open, mut kept) = ledger.wal.rotate()?;
    let stored = store_closed(ledger, store, &mut cursor, open, &mut kept).await;
    // A copy not used (not whole, or an earlier segment failed to store) is gone when
    // this returns, so memory never holds more than one closed segment's copy.
    if let Some(kept) = kept {
        free(kept.batches);
    }
    stored
}

/// Frees kept records off the async threads: tens of thousands of them take
/// milliseconds.
fn free(batches: impl IntoIterator<Item = KeptBatch> + Send + 'static) {
    tokio::task::spawn_blocking(move || batches.into_iter().for_each(drop));
}

/// Stores every segment below `open`, oldest first: the one `kept` holds from memory
/// (taking it), the others from their files.
async fn store_closed(
    ledger: &Ledger,
    store: &dyn Store,
    cursor: &mut Cursor,
    open: u64,
    kept: &mut Option<Kept>,
) -> Result<(), FlushError> {
    let dir = ledger.config.dir.clone();
    for seq in off_async(move || wal::list_segments(&dir)).await? {
        if seq >= open {
            break;
        }
        match kept.take_if(|kept| kept.seq == seq && kept.whole) {
            Some(kept) => store_kept(ledger, store, cursor, kept).await?,
            None => store_segment(ledger, store, cursor, seq).await?,
        }
    }
    Ok(())
}

/// Stores closed segment `kept.seq` from its records kept in memory, then deletes it.
/// A failed insert leaves the cursor just after the last batch stored, so the retry
/// reads only the rest from the file and counts nothing twice.
async fn store_kept(
    ledger: &Ledger,
    store: &dyn Store,
    cursor: &mut Cursor,
    kept: Kept,
) -> Result<(), FlushError> {
    *cursor = Cursor {
        seq: kept.seq,
        offset: 0,
        held: None,
    };
    let mut batches = kept.batches.into_iter();
    while let Some(batch) = batches.next() {
        if let Err(error) = store.insert_usage(&batch.records).await {
            ledger
                .counters
                .failed_batches
                .fetch_add(1, Ordering::Relaxed);
            free(batches);
            return Err(error.into());
        }
        let stored = batch.records.len() as u64;
        ledger.counters.written.fetch_add(stored, Ordering::Relaxed);
        cursor.offset = batch.end;
    }
    delete(ledger, kept.seq).await
}

/// Stores the rest of closed segment `seq` from its file, then deletes it.
async fn store_segment(
    ledger: &Ledger,
    store: &dyn Store,
    cursor: &mut Cursor,
    seq: u64,
) -> Result<(), FlushError> {
    if cursor.seq != seq {
        *cursor = Cursor {
            seq,
            offset: 0,
            held: None,
        };
    }
    loop {
        let batch = match cursor.held.take() {
            Some((held_seq, batch)) if held_seq == seq => batch,
            _ => match read(ledger, seq, cursor.offset).await {
                Ok(batch) => batch,
                // Gone already (removed by hand): nothing left to store.
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(error.into()),
            },
        };
        if !batch.records.is_empty() {
            if let Err(error) = store.insert_usage(&batch.records).await {
                ledger
                    .counters
                    .failed_batches
                    .fetch_add(1, Ordering::Relaxed);
                cursor.held = Some((seq, batch));
                return Err(error.into());
            }
            let stored = batch.records.len() as u64;
            ledger.counters.written.fetch_add(stored, Ordering::Relaxed);
        }
        cursor.offset = batch.end;
        if batch.eof {
            break;
        }
    }
    delete(ledger, seq).await
}

/// Deletes stored segment `seq`; one already gone is fine.
async fn delete(ledger: &Ledger, seq: u64) -> Result<(), FlushError> {
    let path = wal::segment_path(&ledger.config.dir, seq);
    match off_async(move || std::fs::remove_file(path)).await {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    }
}

/// Runs a file system call on the blocking pool. The writer runs on the workers that
/// serve requests, and unlinking a segment a busy flush filled (megabytes) takes the
/// kernel 0.1–0.3 ms, long enough to hold up the requests queued on that worker.
async fn off_async<T: Send + 'static>(
    call: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(io::Error::other)?
}

/// Reads the next batch of segment `seq` off the async threads, and counts what was
/// read back, what an earlier process left and what could not be read.
async fn read(ledger: &Ledger, seq: u64, offset: u64) -> io::Result<Batch> {
    let dir = ledger.config.dir.clone();
    let max = ledger.config.batch_size;
    let batch = off_async(move || wal::read_batch(&dir, seq, offset, max)).await?;
    let c = &ledger.counters;
    let found = batch.records.len() as u64;
    c.reread.fetch_add(found, Ordering::Relaxed);
    if seq < ledger.first_seq {
        c.recovered.fetch_add(found, Ordering::Relaxed);
    }
    c.skipped.fetch_add(batch.skipped, Ordering::Relaxed);
    Ok(batch)
}

/// The writer task: replays at once, then flushes every `flush_interval`, backing off
/// while the store fails, until [`Ledger::stop_writer`].
pub(crate) async fn run(ledger: Arc<Ledger>, store: Arc<dyn Store>) {
    let interval = ledger.config.flush_interval;
    let mut delay = Duration::ZERO;
    let mut outage: Option<Instant> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = ledger.stop.notified() => return,
        }
        match flush(&ledger, store.as_ref()).await {
            Ok(()) => {
                if let Some(since) = outage.take() {
                    tracing::info!(
                        after_secs = since.elapsed().as_secs(),
                        backlog = ledger.stats().backlog,
                        "usage ledger is storing again"
                    );
                }
                delay = interval;
            }
            Err(error) => {
                if outage.is_none() {
                    tracing::warn!(
                        %error,
                        backlog = ledger.stats().backlog,
                        "usage ledger cannot store records; they stay on disk and are retried"
                    );
                    outage = Some(Instant::now());
                }
                delay = (delay * 2).clamp(interval, MAX_BACKOFF.max(interval));
            }
        }
    }
}
