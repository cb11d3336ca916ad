//! The committer: the one writer of a store's files, a job on the process's pool
//! ([`super::pool`]). It takes the changes the JS thread queued and makes them durable:
//! appended to the journal with one fsync per group (group commit), or folded into a new
//! snapshot (a checkpoint) when the journal grows, the store goes idle, closes, or is
//! asked to. When to do which is [`decide`], a pure function of what it knows, tested
//! case by case below.

use super::changes::Rules;
use super::events::collect_events;
use super::external_edit::{on_file_changed, take_edit};
use super::state::*;
use super::sync::Syncer;
use crate::defaults::Defaults;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::fs::FsFile;
use crate::journal::{self, SnapshotId};
use crate::path::KeyPath;
use crate::schema::Schema;
use crate::snapshot::{self, Replacement};
use crate::store_files::StoreFiles;
use crate::{history, pool};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Owns the journal file and writes snapshots. Invariant: `journal` is `Some` only while
/// the file holds exactly a header for `base` and whole records; after any failure it is
/// dropped and the next commit is a full checkpoint from a fresh temporary file, since a
/// handle whose write or fsync failed cannot be trusted again.
pub(super) struct Committer {
    pub(super) shared: Arc<Shared>,
    pub(super) journal: Option<Box<dyn FsFile>>,
    /// Bytes in the journal file, header included (0: no journal yet).
    pub(super) journal_len: u64,
    /// The snapshot the journal applies to.
    pub(super) base: SnapshotId,
    pub(super) needs_checkpoint: bool,
    /// After a failure: when to retry, and the delay after that.
    pub(super) backoff: Option<(Instant, Duration)>,
    /// The newest history entry's time: the next one is strictly later.
    pub(super) last_history_millis: u64,
    /// For edits another program made that a checkpoint finds (see
    /// [`Committer::checkpoint_over_edits`]): they are validated as the watch does.
    pub(super) schema: Option<Arc<Schema>>,
    pub(super) defaults: Arc<Defaults>,
    /// With `sync`: the store's side of it (see [`super::sync`]).
    pub(super) sync: Option<Syncer>,
}

/// How many times in a row a checkpoint gives way to another program's edit before it
/// reports that the file keeps changing under it (and retries later).
const EDITS_IN_A_ROW: usize = 16;

const FIRST_RETRY: Duration = Duration::from_millis(50);
const MAX_RETRY: Duration = Duration::from_secs(5);

enum Work {
    /// Opening failed: write nothing, stop.
    Stop,
    /// The watch saw the file change: apply the edit or refuse it.
    FileChanged,
    /// The sync folder changed, or is due a look.
    Look,
    Commit(Commit),
}

/// One group commit: records to append, or a snapshot to write.
struct Commit {
    records: Vec<u8>,
    upto: u64,
    snapshot: Option<Node>,
    closing: bool,
    requests: Vec<HistoryRequest>,
    /// Answered once this commit's snapshot is in place (see [`Engine::write_file`]).
    file_waiters: Vec<Completion>,
    /// With `sync`: the keys the committed changes wrote, and the document at `upto`,
    /// for the mirror once they are durable.
    sync_touched: Vec<KeyPath>,
    sync_doc: Option<Node>,
}

impl pool::Job for Committer {
    /// One step: the work there is now, if any (one commit, so other stores' commits
    /// interleave with a busy store's), else when to look again.
    fn run(&mut self) -> pool::Next {
        let commit = match self.next_work() {
            Polled::Wait(at) => return pool::Next::Wait(at),
            Polled::Work(Work::Stop) => {
                self.shared
                    .lock
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                return pool::Next::Done;
            }
            Polled::Work(Work::FileChanged) => {
                on_file_changed(&self.shared, self.schema.as_deref(), &self.defaults);
                return pool::Next::Again;
            }
            Polled::Work(Work::Look) => {
                let rules = Rules {
                    shared: &self.shared,
                    schema: self.schema.as_deref(),
                    defaults: &self.defaults,
                };
                if let Some(sync) = self.sync.as_mut() {
                    sync.look(&rules, &self.shared);
                }
                return pool::Next::Again;
            }
            Polled::Work(Work::Commit(commit)) => commit,
        };
        let closing = commit.closing;
        let writes = commit.snapshot.is_some() || !commit.records.is_empty();
        let mut upto = commit.upto;
        let result = match commit.snapshot {
            // A store whose directory was removed writes nothing: creating it again
            // would bring back what was deleted on purpose.
            _ if writes && !self.shared.read_only && !self.directory_exists() => {
                Err(StoreError::DirectoryRemoved {
                    dir: StoreFiles::of(&self.shared.path).dir(),
                })
            }
            Some(doc) => self.checkpoint_over_edits(doc, closing, &mut upto),
            None => self.append(&commit.records),
        };
        let failed = result.clone().err();
        let stop = self.finish(upto, result, closing);
        if let Some(sync) = self.sync.as_mut() {
            match &failed {
                None => sync.after_commit(
                    &self.shared,
                    commit.sync_doc.as_ref(),
                    commit.sync_touched,
                    upto,
                    closing,
                ),
                // Not durable: recorded after the commit that makes them so.
                Some(_) => {
                    if let Some(touched) = self.shared.lock().sync_touched.as_mut() {
                        touched.extend(commit.sync_touched);
                    }
                }
            }
        }
        for request in commit.requests {
            match &failed {
                Some(err) => request.fail(err.clone()),
                None => self.answer(request),
            }
        }
        for done in commit.file_waiters {
            done(failed.clone().map_or(Ok(()), Err));
        }
        if stop {
            pool::Next::Done
        } else {
            pool::Next::Again
        }
    }
}

/// What the committer found to do.
enum Polled {
    Work(Work),
    /// Nothing now: look again when woken, or at the instant given.
    Wait(Option<Instant>),
}

/// What the committer knows when it decides what to do next.
#[derive(Debug, Clone, Copy)]
pub(super) struct Situation {
    pub now: Instant,
    /// `close()` was called (or the store was dropped: then `releasing` too).
    pub closing: bool,
    /// Dropped without `close`: write only what is not durable, to the journal.
    pub releasing: bool,
    /// A transaction is open: its changes stay in memory until it ends.
    pub held: bool,
    pub read_only: bool,
    /// electron-store's `encryptionKey`: no journal, every commit rewrites the file.
    pub whole_file_encrypted: bool,
    /// Bytes of journal records queued by the JS thread.
    pub pending_bytes: u64,
    /// Some change is not durable yet.
    pub undurable: bool,
    /// Someone awaits `flush()`.
    pub flush_waiting: bool,
    pub history_requests: bool,
    /// Someone asked for the file to be brought up to date (`writeFile`).
    pub file_requests: bool,
    /// Bytes in the journal file, header included (0: none).
    pub journal_len: u64,
    /// The journal handle can be appended to (after a failure it cannot).
    pub journal_open: bool,
    /// Past this size the journal is folded into a snapshot.
    pub journal_limit: u64,
    /// After a failure: when to try again.
    pub retry_at: Option<Instant>,
    /// When the journal's records are due for an idle checkpoint.
    pub idle_at: Instant,
    /// The snapshot must be rewritten (moved aside, or another program's edit).
    pub needs_checkpoint: bool,
}

/// What the committer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Nothing now: look again when woken, or at the instant given (never a past one:
    /// that would spin).
    Wait(Option<Instant>),
    /// Take the queued records and answer the queued requests; write a snapshot when
    /// `checkpoint`, else append the records to the journal.
    Commit { checkpoint: bool },
}

/// The committer's scheduling decision.
pub(super) fn decide(s: &Situation) -> Decision {
    let has_records = s.journal_len > journal::HEADER_LEN as u64;
    let idle_due = has_records && s.now >= s.idle_at;
    let retry_due = match s.retry_at {
        Some(at) => s.now >= at || s.flush_waiting,
        None => true,
    };
    let failed = s.retry_at.is_some();
    let queued = s.pending_bytes > 0;
    let held = s.held && !s.closing;
    let ready = !held
        && (s.closing
            || s.history_requests
            || s.file_requests
            || (retry_due && (queued || (s.undurable && s.flush_waiting)))
            || (failed && retry_due && s.undurable)
            || (!failed && (idle_due || s.needs_checkpoint)));
    if !ready {
        // A retry, or an idle checkpoint of what the journal holds, is due at a known
        // instant; anything else comes with a wake. A deadline already past with nothing
        // ready (a transaction holds the changes; a failed retry left nothing to write)
        // waits for a wake instead.
        let at = match s.retry_at {
            Some(at) => Some(at),
            None => has_records.then_some(s.idle_at),
        };
        return Decision::Wait(at.filter(|at| *at > s.now));
    }
    let too_big = s.journal_len + s.pending_bytes > s.journal_limit;
    let broken = !s.journal_open && s.journal_len > 0;
    // Closing rewrites the snapshot only when something is not in it yet: a store opened
    // and closed without changes leaves its file untouched.
    let closing_dirty = s.closing && (s.journal_len > 0 || queued || s.undurable);
    let checkpoint = if s.closing && s.releasing {
        // Released: only what is not durable, to the journal; a snapshot only where the
        // journal cannot take it.
        broken || (failed && s.undurable)
    } else {
        (!s.read_only && closing_dirty)
            || too_big
            || broken
            || failed
            || idle_due
            || s.needs_checkpoint
    };
    let writes = !s.read_only;
    // A history request reads the snapshot: what is not in it yet goes first.
    let dirty = has_records || queued || s.undurable;
    let checkpoint = checkpoint
        || (s.history_requests && dirty && writes)
        // Asked to bring the file up to date: written whatever the journal holds.
        || (s.file_requests && writes)
        // A whole-file encrypted store has no journal: its records are plaintext.
        || (queued && writes && s.whole_file_encrypted);
    Decision::Commit { checkpoint }
}

impl Committer {
    /// Takes what there is to do now under the lock, or says when to look again.
    fn next_work(&mut self) -> Polled {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        if st.abandoned {
            return Polled::Work(Work::Stop);
        }
        if std::mem::take(&mut st.file_changed) && !st.closed {
            return Polled::Work(Work::FileChanged);
        }
        if std::mem::take(&mut st.force_checkpoint) {
            self.needs_checkpoint = true;
        }
        let look_at = self.sync.as_ref().map(|sync| sync.next_look);
        if look_at.is_some_and(|at| std::mem::take(&mut st.sync_due) || Instant::now() >= at)
            && !st.closing
            && st.hold.is_none()
        {
            return Polled::Work(Work::Look);
        }
        let situation = Situation {
            now: Instant::now(),
            closing: st.closing,
            releasing: st.releasing,
            held: st.hold.is_some(),
            read_only: self.shared.read_only,
            whole_file_encrypted: self.shared.cipher().is_some(),
            pending_bytes: st.pending.len() as u64,
            undurable: st.seq > st.durable_seq,
            flush_waiting: !st.waiters.is_empty(),
            history_requests: !st.history_requests.is_empty(),
            file_requests: !st.file_waiters.is_empty(),
            journal_len: self.journal_len,
            journal_open: self.journal.is_some(),
            journal_limit: self.shared.policy.journal_bytes,
            retry_at: self.backoff.map(|(at, _)| at),
            idle_at: st.last_change + self.shared.policy.idle,
            needs_checkpoint: self.needs_checkpoint,
        };
        match decide(&situation) {
            Decision::Wait(at) => {
                st.committer_idle = true;
                // A look at the sync folder is due at its own instant too.
                let at = match (at, look_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                Polled::Wait(at)
            }
            Decision::Commit { checkpoint } => {
                st.committer_idle = false;
                // Only synced keys go to the mirror, and only for them is the document
                // held: a clone shared with the JS thread makes its next write copy the
                // path it writes.
                let mut sync_touched = st
                    .sync_touched
                    .as_mut()
                    .map(std::mem::take)
                    .unwrap_or_default();
                if let Some(sync) = &self.sync {
                    sync_touched.retain(|key| sync.syncs(key));
                }
                let sync_doc = (!sync_touched.is_empty()).then(|| st.doc.clone());
                Polled::Work(Work::Commit(Commit {
                    records: std::mem::take(&mut st.pending),
                    upto: st.seq,
                    snapshot: checkpoint.then(|| st.doc.clone()),
                    closing: st.closing,
                    requests: std::mem::take(&mut st.history_requests),
                    file_waiters: std::mem::take(&mut st.file_waiters),
                    sync_touched,
                    sync_doc,
                }))
            }
        }
    }

    /// Checkpoints `doc`. When another program changed the file since the store last
    /// read or wrote it, the checkpoint does not rename over it: that edit goes through
    /// the external-edit path first (applied as a change, or moved aside and reported),
    /// and the state after it is checkpointed instead (`upto` moves to it).
    fn checkpoint_over_edits(
        &mut self,
        mut doc: Node,
        closing: bool,
        upto: &mut u64,
    ) -> Result<()> {
        for _ in 0..EDITS_IN_A_ROW {
            let outcome = self.checkpoint(&doc, closing)?;
            let (schema, defaults) = (self.schema.as_deref(), &self.defaults);
            match outcome {
                Replacement::Done => return Ok(()),
                Replacement::Refused => on_file_changed(&self.shared, schema, defaults),
                // The snapshot is in place; the edit it swapped out is taken as if it
                // had come first, and the state after it checkpointed next.
                Replacement::Displaced(edit) => take_edit(&self.shared, schema, defaults, &edit),
            }
            let mut st = self.shared.lock();
            if st.hold.is_some() && !st.closing {
                break; // a transaction opened meanwhile: its changes must not land yet
            }
            // The document now holds the edit (or refused it) and every change since;
            // the snapshot of it makes all of them durable, so nothing stays pending.
            doc = st.doc.clone();
            *upto = st.seq;
            st.pending.clear();
            st.force_checkpoint = false;
        }
        Err(StoreError::ExternalEditRefused {
            file: self.shared.path.clone(),
            reason: "the file keeps changing under the store; it will try again".into(),
        })
    }

    fn directory_exists(&self) -> bool {
        self.shared
            .fs
            .is_dir(&StoreFiles::of(&self.shared.path).dir())
    }

    /// Appends records to the journal and fsyncs: the group commit.
    fn append(&mut self, records: &[u8]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let path = self.shared.journal_path.clone();
        let fs = self.shared.fs.clone();
        let mode = self.shared.file_mode;
        let first = self.journal.is_none();
        if first {
            // A new journal: the header names the snapshot it applies to. A crash before
            // the header is whole leaves a file replay ignores, and no record in it was
            // acknowledged.
            let mut file = fs
                .create(&path, mode)
                .map_err(|e| StoreError::io("create", &path, &e))?;
            file.write_all(&journal::header(self.base))
                .map_err(|e| StoreError::io("write", &path, &e))?;
            self.journal = Some(file);
            self.journal_len = journal::HEADER_LEN as u64;
        }
        let Some(file) = self.journal.as_mut() else {
            unreachable!("created above");
        };
        let result = file
            .write_all(records)
            .map_err(|e| StoreError::io("write", &path, &e))
            .and_then(|_| file.sync().map_err(|e| StoreError::io("fsync", &path, &e)));
        if let Err(err) = result {
            // Give back the space a partial append took (on a full disk the next
            // checkpoint needs it). The handle is not used again after this.
            if let Some(mut file) = self.journal.take() {
                if let Err(e) = file.set_len(self.journal_len) {
                    self.shared.report(&StoreError::io("truncate", &path, &e));
                }
            }
            return Err(err);
        }
        if first {
            let dir = StoreFiles::of(&path).dir();
            if let Err(e) = fs.sync_dir(&dir) {
                self.journal = None;
                return Err(StoreError::io("fsync directory", &dir, &e));
            }
        }
        self.journal_len += records.len() as u64;
        self.shared.stats.set_journal_bytes(self.journal_len);
        Ok(())
    }

    /// Writes `doc` as the new snapshot, then starts an empty journal for it (or, when
    /// closing, removes the journal).
    /// Writes `doc` as the snapshot (see [`Committer::checkpoint_over_edits`]), unless
    /// another program changed the file ([`Replacement::Refused`]: nothing was replaced);
    /// an edit that landed during the swap is handed back ([`Replacement::Displaced`]).
    fn checkpoint(&mut self, doc: &Node, closing: bool) -> Result<Replacement> {
        let fs = self.shared.fs.clone();
        // Before the rename below, the old journal must not be appended to again.
        self.journal = None;
        let bytes = snapshot::encode_sized(
            &self.shared.path,
            doc,
            self.shared.serialize.as_ref(),
            self.shared.cipher().as_deref(),
            self.base.len,
        )?;
        let purge = self.shared.lock().purge_history;
        // The history entry goes first: a crash after it but before the rename leaves an
        // entry for a snapshot that never landed, which the next open removes. History
        // never stands in the way of a checkpoint: its failures are reported.
        let recorded = if purge {
            Ok(None)
        } else {
            self.record_history(&bytes)
        };
        let entry = match recorded {
            Ok(entry) => entry,
            Err(err) => {
                self.shared.report(&err);
                None
            }
        };
        // Compare before rename: only the file this store last read or wrote is replaced
        // (one that is gone has nothing to lose). Under the external-edit lock, so the
        // watch sees the file either before this write (and handles that edit first) or
        // after it (and knows it as ours), and `known_file` changes only under that lock.
        let written = journal::SnapshotId::of(&bytes);
        let replaced = {
            let _edits = self
                .shared
                .external_edits
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let previous = *self.shared.known_file();
            let replaced = snapshot::write_atomic_unless(
                &*fs,
                &self.shared.path,
                &bytes,
                self.shared.file_mode,
                previous,
            );
            if matches!(
                replaced,
                Ok(Replacement::Done) | Ok(Replacement::Displaced(_))
            ) {
                *self.shared.known_file() = written;
            }
            replaced
        };
        if !matches!(
            replaced,
            Ok(Replacement::Done) | Ok(Replacement::Displaced(_))
        ) {
            if let Some(entry) = entry {
                if let Err(e) = fs.remove(&entry) {
                    self.shared.report(&StoreError::io("remove", &entry, &e));
                }
            }
            return replaced;
        }
        let replaced = replaced?;
        self.base = journal::SnapshotId::of(&bytes);
        self.shared.stats.checkpointed(bytes.len() as u64);
        self.needs_checkpoint = false;
        if purge {
            history::clear(&*fs, &self.shared.path)?;
            self.shared.lock().purge_history = false;
        }
        // The snapshot holds everything; the old journal is now stale (its header names
        // the old snapshot) and is ignored if we crash before replacing it.
        let path = &self.shared.journal_path;
        if closing {
            self.journal_len = 0;
            self.shared.stats.set_journal_bytes(0);
            return match fs.remove(path) {
                Ok(()) => Ok(replaced),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(replaced),
                Err(e) => Err(StoreError::io("remove", path, &e)),
            };
        }
        if self.journal_len == 0 {
            return Ok(replaced);
        }
        let mut file = fs
            .create(path, self.shared.file_mode)
            .map_err(|e| StoreError::io("create", path, &e))?;
        file.write_all(&journal::header(self.base))
            .and_then(|_| file.sync())
            .map_err(|e| StoreError::io("reset", path, &e))?;
        self.journal = Some(file);
        self.journal_len = journal::HEADER_LEN as u64;
        self.shared.stats.set_journal_bytes(self.journal_len);
        Ok(replaced)
    }

    /// Writes the history entry that turns `new` back into the snapshot on disk, and
    /// prunes. `None` when history is off or nothing changed.
    fn record_history(&mut self, new: &[u8]) -> Result<Option<PathBuf>> {
        let Some(policy) = self.shared.history else {
            return Ok(None);
        };
        let fs = &*self.shared.fs;
        let path = &self.shared.path;
        // Compared in pieces: the old state is never whole in memory beside `new`.
        let old = history::Old::read(fs, path, new)?;
        if old.id == journal::SnapshotId::of(new) {
            return Ok(None);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        // Unique and strictly increasing, even within one millisecond.
        let millis = now.max(self.last_history_millis + 1);
        let entry = history::write(fs, path, millis, new, &old, self.shared.file_mode)?;
        self.last_history_millis = millis;
        if old.id.len > 0 {
            // Keep the snapshot being replaced: the state to restore if the new one is
            // ever damaged. A second name for it, not a copy; renames never change it.
            let base = StoreFiles::of(path).history_base();
            fs.hard_link(path, &base)
                .map_err(|e| StoreError::io("link", &base, &e))?;
        }
        history::prune(fs, path, &policy, now)?;
        Ok(Some(entry))
    }

    /// Answers a history request from the snapshot on disk, which holds everything.
    fn answer(&self, request: HistoryRequest) {
        let fs = &*self.shared.fs;
        let path = &self.shared.path;
        let current = match snapshot::read_or_empty(fs, path) {
            Ok(current) => current,
            Err(err) => return request.fail(err),
        };
        match request {
            HistoryRequest::StateAt { timestamp, done } => {
                done(history::reconstruct(fs, path, current, &timestamp))
            }
            HistoryRequest::Verify { done } => done(history::verify(fs, path, current)),
        }
    }

    /// Records the outcome and wakes whoever waits for it. Returns true when the
    /// committer should stop.
    fn finish(&mut self, upto: u64, result: Result<()>, closing: bool) -> bool {
        let mut st = self.shared.lock();
        let mut repeated = false;
        let mut done: Vec<(Completion, Result<()>)> = Vec::new();
        let stop = match &result {
            Ok(()) => {
                st.durable_seq = st.durable_seq.max(upto);
                st.failure = None;
                self.backoff = None;
                let durable = st.durable_seq;
                let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut st.waiters)
                    .into_iter()
                    .partition(|(t, _)| *t <= durable);
                st.waiters = waiting;
                done.extend(ready.into_iter().map(|(_, c)| (c, Ok(()))));
                closing && st.durable_seq >= st.seq
            }
            Err(err) => {
                // A failure the retries keep meeting is reported once, not every retry.
                repeated = st
                    .failure
                    .as_ref()
                    .is_some_and(|f| f.code() == err.code() && f.to_string() == err.to_string());
                st.failure = Some(err.clone());
                let delay = self
                    .backoff
                    .map(|(_, d)| (d * 2).min(MAX_RETRY))
                    .unwrap_or(FIRST_RETRY);
                self.backoff = Some((Instant::now() + delay, delay));
                // The journal's state is unknown: what is not durable is written again,
                // whole, by the next checkpoint.
                self.journal = None;
                done.extend(
                    std::mem::take(&mut st.waiters)
                        .into_iter()
                        .map(|(_, c)| (c, Err(err.clone()))),
                );
                // A close that cannot persist reports why and stops: the caller decides.
                closing
            }
        };
        if stop {
            st.closed = true;
            // Another writer may open the store now.
            self.shared
                .lock
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            // A closed store answers no reads: free its memory now rather than when the
            // JS object that owns it is collected, keeping only the events still owed.
            let owed = collect_events(&mut st, &self.shared);
            st.undelivered.extend(owed);
            st.doc = Node::Null;
            st.watchers.clear();
            st.feeds.clear();
            for close in std::mem::take(&mut st.close_waiters) {
                done.push((close, result.clone()));
            }
            for (_, waiter) in std::mem::take(&mut st.waiters) {
                done.push((waiter, result.clone()));
            }
            for waiter in std::mem::take(&mut st.file_waiters) {
                done.push((waiter, result.clone()));
            }
            for request in std::mem::take(&mut st.history_requests) {
                let closed = StoreError::Closed {
                    file: self.shared.path.clone(),
                };
                done.push((Box::new(move |_| request.fail(closed)), Ok(())));
            }
        }
        drop(st);
        if let (Err(err), false) = (&result, repeated) {
            self.shared.report(err);
        }
        for (completion, outcome) in done {
            completion(outcome);
        }
        stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: u64 = journal::HEADER_LEN as u64;

    /// A store with nothing to do: opened, everything durable, no journal records.
    fn quiet(now: Instant) -> Situation {
        Situation {
            now,
            closing: false,
            releasing: false,
            held: false,
            read_only: false,
            whole_file_encrypted: false,
            pending_bytes: 0,
            undurable: false,
            flush_waiting: false,
            history_requests: false,
            file_requests: false,
            journal_len: HEADER,
            journal_open: true,
            journal_limit: 1 << 20,
            retry_at: None,
            idle_at: now + Duration::from_millis(500),
            needs_checkpoint: false,
        }
    }

    #[test]
    fn each_situation_gets_its_decision() {
        let now = Instant::now();
        let later = now + Duration::from_millis(500);
        let earlier = now - Duration::from_millis(1);
        let append = Decision::Commit { checkpoint: false };
        let checkpoint = Decision::Commit { checkpoint: true };
        let q = || quiet(now);
        #[rustfmt::skip]
        let table: Vec<(&str, Situation, Decision)> = vec![
            ("nothing to do: sleep until woken", q(), Decision::Wait(None)),
            ("a change queued: group commit to the journal",
                Situation { pending_bytes: 40, undurable: true, ..q() }, append),
            ("records in the journal: wait for the idle checkpoint",
                Situation { journal_len: HEADER + 40, idle_at: later, ..q() }, Decision::Wait(Some(later))),
            ("idle long enough: checkpoint",
                Situation { journal_len: HEADER + 40, idle_at: earlier, ..q() }, checkpoint),
            ("journal past its limit: checkpoint",
                Situation { journal_len: HEADER + 90, pending_bytes: 20, journal_limit: 100, undurable: true, ..q() }, checkpoint),
            ("a transaction holds its changes",
                Situation { held: true, pending_bytes: 40, undurable: true, ..q() }, Decision::Wait(None)),
            ("a transaction with records whose idle time passed: no spin",
                Situation { held: true, journal_len: HEADER + 40, idle_at: earlier, ..q() }, Decision::Wait(None)),
            ("after a failure: wait for the retry",
                Situation { retry_at: Some(later), undurable: true, ..q() }, Decision::Wait(Some(later))),
            ("after a failure, flush() awaited: retry now, whole",
                Situation { retry_at: Some(later), undurable: true, flush_waiting: true, ..q() }, checkpoint),
            ("retry due: the whole state, from a fresh file",
                Situation { retry_at: Some(earlier), undurable: true, ..q() }, checkpoint),
            ("a failed retry left nothing to write: no spin",
                Situation { retry_at: Some(earlier), ..q() }, Decision::Wait(None)),
            ("a journal handle that failed: checkpoint",
                Situation { journal_open: false, pending_bytes: 40, undurable: true, ..q() }, checkpoint),
            ("closing a store never changed: nothing rewritten",
                Situation { closing: true, journal_len: 0, ..q() }, append),
            ("closing with records: final snapshot",
                Situation { closing: true, journal_len: HEADER + 40, ..q() }, checkpoint),
            ("closing inside a transaction: it is rolled back, close goes on",
                Situation { closing: true, held: true, journal_len: 0, ..q() }, append),
            ("released at exit with a queued change: journal only",
                Situation { closing: true, releasing: true, journal_len: HEADER + 40, pending_bytes: 40, undurable: true, ..q() }, append),
            ("released with a broken journal: a snapshot is the only way",
                Situation { closing: true, releasing: true, journal_open: false, journal_len: HEADER, pending_bytes: 40, undurable: true, ..q() }, checkpoint),
            ("a reader closing: never writes",
                Situation { closing: true, read_only: true, journal_len: 0, undurable: true, ..q() }, append),
            ("history asked with records: checkpoint first",
                Situation { history_requests: true, journal_len: HEADER + 40, idle_at: later, ..q() }, checkpoint),
            ("history asked, all in the snapshot: answered as is",
                Situation { history_requests: true, ..q() }, append),
            ("writeFile asked: the file is written",
                Situation { file_requests: true, ..q() }, checkpoint),
            ("writeFile asked of a reader: nothing written",
                Situation { file_requests: true, read_only: true, ..q() }, append),
            ("whole-file encryption: every commit rewrites the file",
                Situation { whole_file_encrypted: true, pending_bytes: 40, undurable: true, ..q() }, checkpoint),
            ("the file must be written again (moved aside, edited)",
                Situation { needs_checkpoint: true, ..q() }, checkpoint),
        ];
        for (case, situation, expected) in table {
            assert_eq!(decide(&situation), expected, "{case}");
        }
    }
}
