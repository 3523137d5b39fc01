//! The usage ledger's bulk inserts on SQLite, on a connection of their own driven
//! through `rusqlite` rather than sqlx.
//!
//! Storing the ledger was the largest cost Morn adds per request after the sockets: a
//! morn that stored nothing during a run used 2.9 µs less CPU per chat request at
//! c=64 (18.3 against 21.2 µs, bench/README.md). Through sqlx each value was first
//! copied into an argument list, handed to sqlx's worker thread over a channel, bound
//! from there, and every binding was cleared again after each statement. Here the
//! records are bound straight from their fields into statements prepared once and
//! cached on the connection.
//!
//! One connection doing nearly all the writes also keeps its page cache: in WAL mode
//! a connection drops it whenever another has written since its last transaction, so
//! batches spread over the pool started cold and read the b-trees' upper pages back
//! from the file.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{CachedStatement, Connection, OpenFlags};

use crate::StoreError;
use crate::backend::{Bind, BindRow, Rows};

/// Statement texts the connection keeps prepared: the ledger's insert and hourly
/// upsert, each in a few row counts, with room to spare.
const CACHED_STATEMENTS: usize = 32;

/// The bulk connection to `morn.db`, opened at the first batch and kept: closing it
/// would lose the cache.
#[derive(Debug)]
pub(crate) struct Bulk {
    file: PathBuf,
    conn: Mutex<State>,
}

#[derive(Debug)]
enum State {
    NotOpen,
    Open(Connection),
    /// The store was closed: batches fail, as they do on the closed pool.
    Closed,
}

impl Bulk {
    pub(crate) fn new(file: PathBuf) -> Self {
        Self {
            file,
            conn: Mutex::new(State::NotOpen),
        }
    }

    /// `Backend::execute_rows`, blocking: `statements` in one transaction, committed
    /// with `then` only if they changed exactly `expect` rows.
    pub(crate) fn execute_rows<R: BindRow, S: BindRow>(
        &self,
        statements: &[Rows<'_, R>],
        expect: u64,
        then: &[Rows<'_, S>],
    ) -> Result<bool, StoreError> {
        // A panic while the lock was held leaves nothing half-done: the transaction
        // it was in rolled back when it was dropped.
        let mut guard = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if let State::NotOpen = *guard {
            *guard = State::Open(open(&self.file)?);
        }
        let State::Open(conn) = &mut *guard else {
            return Err(sqlx::Error::PoolClosed.into());
        };
        let tx = conn.transaction()?;
        let mut affected = 0;
        for statement in statements {
            affected += run(&tx, statement)? as u64;
        }
        if affected != expect {
            tx.rollback()?;
            return Ok(false);
        }
        for statement in then {
            run(&tx, statement)?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Closes the connection; later batches fail.
    pub(crate) fn close(&self) {
        *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = State::Closed;
    }
}

/// Opens `file` as the pool's connections are opened (the pool created it and set it
/// to WAL, which the file keeps), with a larger cache: 16 MiB (the default is 2 MiB)
/// holds the upper levels of the ledger table and its index at millions of rows.
fn open(file: &PathBuf) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
    // NORMAL sync is durable across process crashes (the WAL is fsynced at
    // checkpoints); temporary files in memory, as on the pool's connections. CHECK
    // constraints are not evaluated on this connection: the only ones its statements
    // meet are the ledger's `IN (0, 1)` flags, bound from `bool`s, and they were 23 of
    // the 82 instructions SQLite's VDBE runs per row (`EXPLAIN`). NOT NULL, unique
    // and foreign keys still hold.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384; \
         PRAGMA ignore_check_constraints = ON;",
    )?;
    Ok(conn)
}

/// Binds and runs one statement; the rows it changed.
fn run<R: BindRow>(conn: &Connection, rows: &Rows<'_, R>) -> rusqlite::Result<usize> {
    let mut statement = conn.prepare_cached(rows.sql)?;
    let mut binder = Binder {
        statement: &mut statement,
        next: 1,
        error: None,
    };
    for row in rows.rows {
        row.bind_row(&mut binder);
    }
    if let Some(error) = binder.error {
        return Err(error);
    }
    statement.raw_execute()
}

/// Binds values in order; the first failure is kept (as `Binds` does for sqlx), so a
/// row's binding reads as a plain list.
struct Binder<'s, 'c> {
    statement: &'s mut CachedStatement<'c>,
    /// The next parameter, from 1.
    next: usize,
    error: Option<rusqlite::Error>,
}

impl Binder<'_, '_> {
    fn bind(&mut self, value: impl rusqlite::ToSql) {
        if let Err(error) = self.statement.raw_bind_parameter(self.next, value) {
            self.error.get_or_insert(error);
        }
        self.next += 1;
    }
}

impl Bind for Binder<'_, '_> {
    fn text(&mut self, value: &str) {
        self.bind(value);
    }

    fn opt_text(&mut self, value: Option<&str>) {
        self.bind(value);
    }

    fn int(&mut self, value: i64) {
        self.bind(value);
    }

    fn opt_int(&mut self, value: Option<i64>) {
        self.bind(value);
    }

    fn flag(&mut self, value: bool) {
        self.bind(value);
    }
}
