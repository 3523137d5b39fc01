//! The write-ahead segments: numbered files of JSON lines, one usage record a line.
//!
//! The request path appends to the *current* segment with one `write_all` on an
//! unbuffered file: once it returns, the bytes are in the OS page cache and survive
//! the process being killed (with `fsync`, also a power loss). The writer *rotates*:
//! it opens the next numbered segment, after which the previous ones are closed and
//! never written again, so it can read them to their end and delete them once stored.
//!
//! A crash during a write can leave a partial last line in the segment being written;
//! after a restart that segment is closed (a new process starts a new one), so a torn
//! line can only be the last line of a segment, and readers skip it.
//!
//! Beside the file, the records of the current segment are kept in memory ([`Kept`]),
//! pushed under the same lock as the write so the two hold the same records, and
//! handed to the writer by `rotate`: storing a segment of this process then needs no
//! read and no JSON parse. The file stays the source of truth; the copy is bounded
//! and only used while it is known to match the file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use morn_store::UsageRecord;

const PREFIX: &str = "segment-";
const SUFFIX: &str = ".jsonl";

/// Path of segment `seq`; zero-padded so a directory listing sorts in order.
pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{seq:020}{SUFFIX}"))
}

/// The sequence number of a segment file name; `None` for any other file.
fn parse_segment(name: &str) -> Option<u64> {
    name.strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?
        .parse()
        .ok()
}

/// The segments in `dir`, oldest first.
pub(crate) fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut seqs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        if let Some(seq) = entry?.file_name().to_str().and_then(parse_segment) {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// How many batches of a segment are kept in memory at most: 32,000 records with the
/// server's batches of 1,000, some 20 MB (~0.6 KB a record with its strings, an
/// estimate from the field sizes, not a measurement). That is five times what a
/// 200 ms flush gathers at the ~30,000 requests/s the server reaches on the bench
/// machine, so segments normally go through memory; a busier or slower flushing
/// ledger stores the rest from the file, the cost it had before, with no more memory.
/// Derived from the batch size so that tests can reach the bound cheaply.
const KEPT_BATCHES: usize = 32;

/// Records of a segment kept in memory at most, whatever the batch size (~40 MB).
const KEPT_RECORDS_MAX: usize = 65_536;

/// `batch` records of a segment kept in memory, in append order.
#[derive(Debug)]
pub(crate) struct KeptBatch {
    pub records: Vec<UsageRecord>,
    /// Byte offset in the segment just after the line of the last record.
    pub end: u64,
}

/// The records of one segment, kept in memory as they are appended.
#[derive(Debug)]
pub(crate) struct Kept {
    pub seq: u64,
    pub batches: Vec<KeptBatch>,
    /// Records in `batches`.
    len: usize,
    /// `batches` holds every line of the segment, no more. False once that stopped
    /// being so (the bound was reached, or a write failed and may have left part of a
    /// line): the copy then stops growing and is freed when its segment is closed,
    /// not by the request that hit the bound.
    pub whole: bool,
}

impl Kept {
    fn new(seq: u64) -> Self {
        Self {
            seq,
            batches: Vec::new(),
            len: 0,
            whole: true,
        }
    }
}

/// The segment being appended to.
struct Current {
    seq: u64,
    file: File,
    /// Lines appended to this segment, to skip rotating an empty one.
    lines: u64,
    /// Bytes appended to this segment: where the next line starts.
    bytes: u64,
    /// A write failed part way: the segment may end in a partial line, and a record
    /// appended after it would be glued to it. The next append rotates first.
    broken: bool,
    /// The segment's records, for the writer.
    kept: Kept,
}

/// The append side of the segments.
pub(crate) struct Wal {
    dir: PathBuf,
    fsync: bool,
    /// Records per kept batch: the writer's `batch_size`, so each is one insert.
    batch: usize,
    /// Records of a segment kept at most.
    kept_max: usize,
    current: Mutex<Current>,
}

impl Wal {
    /// Starts a new segment after the ones already in `dir`, which are left to replay.
    /// Records are kept in memory in batches of `batch`.
    pub(crate) fn open(dir: &Path, fsync: bool, batch: usize) -> io::Result<Self> {
        let next = list_segments(dir)?.last().map_or(0, |last| last + 1);
        let file = create_segment(dir, next, fsync)?;
        let batch = batch.max(1);
        Ok(Self {
            dir: dir.to_owned(),
            fsync,
            batch,
            kept_max: batch.saturating_mul(KEPT_BATCHES).min(KEPT_RECORDS_MAX),
            current: Mutex::new(Current {
                seq: next,
                file,
                lines: 0,
                bytes: 0,
                broken: false,
                kept: Kept::new(next),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        // A panic while holding the lock cannot leave `Current` inconsistent in a way
        // that matters more than losing the ledger, so keep going.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one line (ending in `\n`), the serialised `record`, if `admit` agrees,
    /// checked under the lock so a limit holds across threads. `Ok(false)`: not
    /// admitted.
    pub(crate) fn append(
        &self,
        line: &[u8],
        record: UsageRecord,
        admit: impl FnOnce() -> bool,
    ) -> io::Result<bool> {
        let mut current = self.lock();
        if !admit() {
            return Ok(false);
        }
        // A segment closed here (a write failed before) is freed once unlocked.
        let mut closed = None;
        if current.broken {
            closed = Some(self.rotate_locked(&mut current)?);
        }
        let written = current.file.write_all(line).and_then(|()| {
            if self.fsync {
                current.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(error) = written {
            current.broken = true;
            current.kept.whole = false;
            drop(current);
            drop(closed);
            return Err(error);
        }
        current.lines += 1;
        current.bytes += line.len() as u64;
        let end = current.bytes;
        self.keep(&mut current.kept, record, end);
        drop(current);
        drop(closed);
        Ok(true)
    }

    /// Adds `record`, whose line ends at byte `end`, to the kept copy, unless that
    /// reached its bound (then it stops being whole and keeps nothing more).
    fn keep(&self, kept: &mut Kept, record: UsageRecord, end: u64) {
        if !kept.whole {
            return;
        }
        if kept.len >= self.kept_max {
            kept.whole = false;
            return;
        }
        let room = kept
            .batches
            .last()
            .is_some_and(|last| last.records.len() < self.batch);
        if !room {
            kept.batches.push(KeptBatch {
                records: Vec::with_capacity(self.batch.min(self.kept_max)),
                end,
            });
        }
        if let Some(last) = kept.batches.last_mut() {
            last.records.push(record);
            last.end = end;
        }
        kept.len += 1;
    }

    /// The segment being appended to; every lower one is closed.
    pub(crate) fn open_seq(&self) -> u64 {
        self.lock().seq
    }

    /// Closes the current segment if anything was written to it and starts the next.
    /// Returns the first sequence number still open (every segment below it is
    /// closed) and the records kept of the segment just closed, if it was.
    pub(crate) fn rotate(&self) -> io::Result<(u64, Option<Kept>)> {
        let mut current = self.lock();
        if current.lines == 0 && !current.broken {
            return Ok((current.seq, None));
        }
        let closed = self.rotate_locked(&mut current)?;
        Ok((current.seq, Some(closed)))
    }

    /// Starts the next segment; returns the records kept of the one it closes.
    fn rotate_locked(&self, current: &mut Current) -> io::Result<Kept> {
        let seq = current.seq + 1;
        current.file = create_segment(&self.dir, seq, self.fsync)?;
        current.seq = seq;
        current.lines = 0;
        current.bytes = 0;
        current.broken = false;
        Ok(std::mem::replace(&mut current.kept, Kept::new(seq)))
    }
}

/// Creates segment `seq`; with `fsync`, also makes its directory entry durable.
fn create_segment(dir: &Path, seq: u64, fsync: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(segment_path(dir, seq))?;
    if fsync {
        File::open(dir)?.sync_all()?;
    }
    Ok(file)
}

/// What one read of a closed segment found.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub records: Vec<UsageRecord>,
    /// Byte offset just after the last line read.
    pub end: u64,
    /// The segment has no more lines after `end`.
    pub eof: bool,
    /// Lines that could not be read: a torn last line, or a corrupt one.
    pub skipped: u64,
}

/// Reads up to `max` records of closed segment `seq`, from byte `offset`. Blocking.
pub(crate) fn read_batch(dir: &Path, seq: u64, offset: u64, max: usize) -> io::Result<Batch> {
    let path = segment_path(dir, seq);
    let mut file = File::open(&path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut batch = Batch {
        end: offset,
        ..Batch::default()
    };
    let mut line = Vec::with_capacity(1024);
    while batch.records.len() < max.max(1) {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            batch.eof = true;
            break;
        }
        let at = batch.end;
        batch.end += read as u64;
        if line.last() != Some(&b'\n') {
            // Only the last line of a closed segment can lack its newline: the write
            // that a crash interrupted. It was never acknowledged.
            tracing::warn!(segment = %path.display(), offset = at, bytes = read, "skipping a torn last line in the usage ledger");
            batch.skipped += 1;
            batch.eof = true;
            break;
        }
        match serde_json::from_slice::<UsageRecord>(&line) {
            Ok(record) => batch.records.push(record),
            Err(error) => {
                tracing::error!(segment = %path.display(), offset = at, %error, "skipping a corrupt line in the usage ledger");
                batch.skipped += 1;
            }
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_sort() {
        let dir = Path::new("/x");
        let path = segment_path(dir, 42);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(name, "segment-00000000000000000042.jsonl");
        assert_eq!(parse_segment(name), Some(42));
        assert_eq!(parse_segment("lock"), None);
        assert_eq!(parse_segment("segment-12.jsonl.tmp"), None);
        assert!(segment_path(dir, 9) < segment_path(dir, 10));
    }
}
