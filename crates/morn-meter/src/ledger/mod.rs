//! The usage ledger writer. See `wal.rs` and `writer.rs` for the design: the request
//! path appends a record to a write-ahead file (one `write` call, microseconds) and is
//! then acknowledged; a background task moves the file's records into the store in
//! batches and deletes what is stored. A SIGKILL loses nothing acknowledged: at the
//! next start the leftover files are replayed (inserts skip request ids already
//! stored).
//!
//! The file is the source of truth. Beside it, the records of the segment being
//! written are kept in memory, pushed under the same lock as the write, so the writer
//! stores a closed segment without reading and parsing it back. That copy is bounded
//! (32 batches of `batch_size` records a segment, 65,536 records at most; see
//! `wal.rs`) and used only while it holds exactly the file's records: past the bound,
//! after a failed write or a failed insert, and for every segment of an earlier
//! process, the writer reads the file. So memory holds at most two segments' copies
//! (the one being written and the one being stored) and one batch read back; a larger
//! backlog costs disk, bounded by `max_backlog`, never memory; past it records are
//! refused (and counted) instead of slowing requests down.

mod line;
mod wal;
mod writer;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use morn_store::{Store, UsageRecord};

use self::wal::Wal;
use self::writer::Cursor;

/// Ledger settings.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Where the write-ahead files live (`<data dir>/ledger`).
    pub dir: PathBuf,
    /// How often the writer moves records into the store.
    pub flush_interval: Duration,
    /// Records per store batch (one `insert_usage` call). Also the unit of the copy
    /// kept in memory: at most 32 batches of the open segment (65,536 records).
    pub batch_size: usize,
    /// Unstored records kept on disk at most; beyond, new records are dropped (and
    /// counted) rather than slowing requests down.
    pub max_backlog: u64,
    /// `fsync` each append: survives power loss, not only process death. Off by default.
    pub fsync: bool,
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerStats {
    /// Records acknowledged (appended to the write-ahead file).
    pub appended: u64,
    /// Records stored (including replayed ones the store already had).
    pub written: u64,
    /// Records refused because the backlog was full, or because the append failed.
    pub dropped: u64,
    /// Appended (or found on disk from an earlier process) but not yet stored.
    pub backlog: u64,
    /// Store batches that failed (and will be retried).
    pub failed_batches: u64,
    /// Records an earlier process left on disk, found when replaying its files.
    pub recovered: u64,
    /// Unreadable lines skipped in the write-ahead files (a write torn by a crash).
    pub skipped: u64,
    /// Records read back from the write-ahead files rather than stored from memory:
    /// replays, segments over the memory bound, retries after a failed insert. A
    /// steady rise without those means the bound is too small for the traffic.
    pub reread: u64,
}

/// The counters behind [`LedgerStats`].
#[derive(Debug, Default)]
struct Counters {
    appended: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed_batches: AtomicU64,
    recovered: AtomicU64,
    skipped: AtomicU64,
    reread: AtomicU64,
}

/// The least time between two log lines about refused records.
const DROP_LOG_EVERY_MS: u64 = 10_000;

/// The ledger.
pub struct Ledger {
    config: LedgerConfig,
    wal: Wal,
    counters: Counters,
    /// One flush at a time (the writer task and `drain`), and where it got to.
    cursor: tokio::sync::Mutex<Cursor>,
    /// Tells the writer task to end after its current flush (see [`Ledger::stop_writer`]).
    stop: tokio::sync::Notify,
    /// Segments below this number were left by an earlier process.
    first_seq: u64,
    /// When a refused record was last logged (unix ms).
    drop_logged_at: AtomicU64,
    /// Held open for its lock: two processes on one directory would replay and delete
    /// each other's segments.
    _lock: File,
}

impl Ledger {
    /// Opens (creating) the write-ahead directory. Fails when another process holds
    /// it.
    pub fn open(config: LedgerConfig) -> std::io::Result<Arc<Self>> {
        std::fs::create_dir_all(&config.dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(config.dir.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "usage ledger directory {} is in use by another process",
                        config.dir.display()
                    ),
                ));
            }
            Err(TryLockError::Error(error)) => return Err(error),
        }
        let wal = Wal::open(&config.dir, config.fsync, config.batch_size)?;
        let first_seq = wal.open_seq();
        Ok(Arc::new(Self {
            config,
            wal,
            counters: Counters::default(),
            cursor: tokio::sync::Mutex::new(Cursor::default()),
            stop: tokio::sync::Notify::new(),
            first_seq,
            drop_logged_at: AtomicU64::new(0),
            _lock: lock,
        }))
    }

    /// Appends `record`. `true`: acknowledged, it will reach the store even if the
    /// process dies now. `false`: dropped because the backlog is full (counted).
    ///
    /// By value: the ledger keeps the record for the writer, so a caller that is done
    /// with it saves a copy.
    pub fn record(&self, record: UsageRecord) -> bool {
        // A full backlog refuses before paying for serialisation; the exact check is
        // repeated under the append lock below.
        if self.stats().backlog >= self.config.max_backlog {
            return self.refuse("backlog full");
        }
        // A record line is ~500 bytes with every id set: one allocation, no regrowth.
        let mut line = Vec::with_capacity(768);
        line::encode(&record, &mut line);
        line.push(b'\n');
        // The limit is checked under the append lock, so threads cannot overshoot it
        // together.
        match self.wal.append(&line, record, || {
            self.stats().backlog < self.config.max_backlog
        }) {
            Ok(true) => {
                self.counters.appended.fetch_add(1, Ordering::Relaxed);
                true
            }
            Ok(false) => self.refuse("backlog full"),
            Err(error) => self.refuse(&error.to_string()),
        }
    }

    /// Counts a refused record and logs it, at most once per [`DROP_LOG_EVERY_MS`]
    /// so a full disk does not also flood the log. Returns `false`.
    fn refuse(&self, reason: &str) -> bool {
        let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let last = self.drop_logged_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= DROP_LOG_EVERY_MS
            && self
                .drop_logged_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::error!(
                reason,
                dropped,
                max_backlog = self.config.max_backlog,
                dir = %self.config.dir.display(),
                "usage ledger refused a record"
            );
        }
        false
    }

    /// Starts the background writer: first replays files left by an earlier process,
    /// then stores new records every `flush_interval`.
    pub fn spawn_writer(self: &Arc<Self>, store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(writer::run(self.clone(), store))
    }

    /// Ends the writer task once its current flush is done (at once if it is waiting
    /// for the next), for a graceful shutdown: await its handle, then [`Ledger::drain`].
    /// Aborting it instead could drop a flush half-way, and the drain would then read
    /// that segment back from its file and insert its stored records a second time.
    pub fn stop_writer(&self) {
        // `notify_one` keeps the signal for a writer that is not waiting yet.
        self.stop.notify_one();
    }

    /// Stores everything acknowledged so far (graceful shutdown). Errors when the store
    /// refuses; the records stay on disk for the next start.
    pub async fn drain(&self, store: &dyn Store) -> Result<(), morn_store::StoreError> {
        writer::flush(self, store)
            .await
            .map_err(|error| match error {
                writer::FlushError::Store(error) => error,
                // The store's error type is the one callers handle; a file error here is
                // about the ledger directory.
                writer::FlushError::Io(source) => morn_store::StoreError::DataDir {
                    path: self.config.dir.display().to_string(),
                    source,
                },
            })
    }

    pub fn stats(&self) -> LedgerStats {
        let c = &self.counters;
        let appended = c.appended.load(Ordering::Relaxed);
        let recovered = c.recovered.load(Ordering::Relaxed);
        let written = c.written.load(Ordering::Relaxed);
        LedgerStats {
            appended,
            written,
            dropped: c.dropped.load(Ordering::Relaxed),
            backlog: (appended + recovered).saturating_sub(written),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            recovered,
            skipped: c.skipped.load(Ordering::Relaxed),
            reread: c.reread.load(Ordering::Relaxed),
        }
    }
}
