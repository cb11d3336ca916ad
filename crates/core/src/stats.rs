//! What a store has been doing, for `store.stats()` and the CLI: operation and error
//! counts, fsync latencies, checkpoints, file sizes.
//!
//! Counters are relaxed atomics bumped on the hot paths (a few nanoseconds against a
//! microsecond `get`); fsync latencies are timed by [`TimedFs`], a decorator over the
//! engine's filesystem, so every fsync the engine makes is measured, and only those.

use super::fs::{Fs, FsFile};
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The operations counted, by the names the report uses.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Get,
    Has,
    Set,
    Delete,
    Append,
    Reset,
    Clear,
    Replace,
    Rollback,
    Flush,
}

const OP_NAMES: [&str; 10] = [
    "get", "has", "set", "delete", "append", "reset", "clear", "replace", "rollback", "flush",
];

/// How many of the latest fsync durations are kept for the percentiles.
const FSYNC_WINDOW: usize = 4096;

/// Counters of one open store. Shared by the JS thread, the committer and the watch.
#[derive(Default)]
pub struct Stats {
    ops: [AtomicU64; OP_NAMES.len()],
    errors: Mutex<BTreeMap<String, u64>>,
    /// The latest fsync durations in microseconds, oldest first.
    fsyncs: Mutex<VecDeque<u32>>,
    fsync_count: AtomicU64,
    checkpoints: AtomicU64,
    /// Milliseconds since the epoch of the last snapshot written; 0 before the first.
    last_checkpoint_millis: AtomicU64,
    /// Bytes of the snapshot and the journal, as the committer last left them.
    snapshot_bytes: AtomicU64,
    journal_bytes: AtomicU64,
}

/// A point-in-time copy of [`Stats`], plus what is read from disk for it.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub operations: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub snapshot_bytes: u64,
    pub journal_bytes: u64,
    pub fsync_count: u64,
    pub fsync_p50_micros: Option<u32>,
    pub fsync_p99_micros: Option<u32>,
    pub checkpoints: u64,
    /// ISO-8601, or `None` when this store has written no snapshot yet.
    pub last_checkpoint: Option<String>,
    pub history_entries: u64,
    pub history_bytes: u64,
    /// Why the store's sensitive values cannot be read or written (no data key could
    /// be had: `KEYRING_UNAVAILABLE`, `KEY_NOT_FOUND`), or `None`.
    pub sensitive_keys_unavailable: Option<String>,
}

impl Stats {
    pub fn op(&self, op: Op) {
        self.ops[op as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self, code: &str) {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors.entry(code.to_string()).or_default() += 1;
    }

    fn fsync(&self, started: Instant) {
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let mut window = self.fsyncs.lock().unwrap_or_else(|e| e.into_inner());
        if window.len() == FSYNC_WINDOW {
            window.pop_front();
        }
        window.push_back(micros);
        self.fsync_count.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot of `bytes` was written.
    pub fn checkpointed(&self, bytes: u64) {
        self.checkpoints.fetch_add(1, Ordering::Relaxed);
        self.snapshot_bytes.store(bytes, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.last_checkpoint_millis.store(now, Ordering::Relaxed);
    }

    pub fn set_snapshot_bytes(&self, bytes: u64) {
        self.snapshot_bytes.store(bytes, Ordering::Relaxed);
    }

    pub fn set_journal_bytes(&self, bytes: u64) {
        self.journal_bytes.store(bytes, Ordering::Relaxed);
    }

    /// The counters now; the history figures are the caller's to fill in.
    pub fn report(&self) -> Report {
        let mut sorted: Vec<u32> = self
            .fsyncs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        sorted.sort_unstable();
        let pct = |p: f64| {
            (!sorted.is_empty())
                .then(|| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)])
        };
        let last = self.last_checkpoint_millis.load(Ordering::Relaxed);
        Report {
            operations: OP_NAMES
                .iter()
                .zip(&self.ops)
                .map(|(name, n)| (name.to_string(), n.load(Ordering::Relaxed)))
                .collect(),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            snapshot_bytes: self.snapshot_bytes.load(Ordering::Relaxed),
            journal_bytes: self.journal_bytes.load(Ordering::Relaxed),
            fsync_count: self.fsync_count.load(Ordering::Relaxed),
            fsync_p50_micros: pct(0.5),
            fsync_p99_micros: pct(0.99),
            checkpoints: self.checkpoints.load(Ordering::Relaxed),
            last_checkpoint: (last > 0).then(|| super::history::iso(last)),
            history_entries: 0,
            history_bytes: 0,
            sensitive_keys_unavailable: None,
        }
    }
}

/// The engine's filesystem with every fsync (of a file or a directory) timed.
pub struct TimedFs {
    inner: Arc<dyn Fs>,
    stats: Arc<Stats>,
}

impl TimedFs {
    pub fn new(inner: Arc<dyn Fs>, stats: Arc<Stats>) -> TimedFs {
        TimedFs { inner, stats }
    }
}

struct TimedFile {
    inner: Box<dyn FsFile>,
    stats: Arc<Stats>,
}

impl FsFile for TimedFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        let started = Instant::now();
        let result = self.inner.sync();
        self.stats.fsync(started);
        result
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
}

impl super::fs::FsLayer for TimedFs {
    fn below(&self) -> &dyn Fs {
        &*self.inner
    }
    fn create(&self, path: &Path, mode: u32) -> io::Result<Box<dyn FsFile>> {
        let inner = self.inner.create(path, mode)?;
        Ok(Box::new(TimedFile {
            inner,
            stats: self.stats.clone(),
        }))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let inner = self.inner.open_append(path)?;
        Ok(Box::new(TimedFile {
            inner,
            stats: self.stats.clone(),
        }))
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let started = Instant::now();
        let result = self.inner.sync_dir(dir);
        self.stats.fsync(started);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fs::SimFs;

    #[test]
    fn counts_and_fsync_percentiles() {
        let stats = Arc::new(Stats::default());
        stats.op(Op::Get);
        stats.op(Op::Get);
        stats.op(Op::Set);
        stats.error("INVALID_KEY");
        let fs = TimedFs::new(Arc::new(SimFs::new()), stats.clone());
        let mut file = fs.create(Path::new("/a"), 0o600).unwrap();
        file.write_all(b"x").unwrap();
        file.sync().unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        let report = stats.report();
        assert_eq!(report.operations["get"], 2);
        assert_eq!(report.operations["set"], 1);
        assert_eq!(report.operations["flush"], 0);
        assert_eq!(report.errors["INVALID_KEY"], 1);
        assert_eq!(report.fsync_count, 2);
        assert!(report.fsync_p50_micros.is_some() && report.fsync_p99_micros.is_some());
        assert_eq!(report.last_checkpoint, None);
        stats.checkpointed(10);
        assert!(stats.report().last_checkpoint.unwrap().ends_with('Z'));
    }
}
