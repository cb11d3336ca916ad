//! The engine's types: [`Engine`], and [`Shared`], what the JS thread, the committer and
//! the watch share, with its lock order. Every other file of the engine adds methods or
//! functions over these.

use crate::defaults::Defaults;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::fs::{self, Fs};
use crate::journal::SnapshotId;
use crate::options::{CheckpointPolicy, OpenReport};
use crate::path::KeyPath;
use crate::schema::Schema;
use crate::{feed, file_cipher, history, keys, pool, secrets, snapshot, stats, watch};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// A change to a watched key, or a path a key feed reports, ready to be delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub watch_id: u64,
    /// The sequence number of the last change folded into this event.
    pub seq: u64,
    /// For a key feed ([`Engine::follow`]): the path that changed. `None` for a watcher,
    /// whose key is known to its owner.
    pub path: Option<KeyPath>,
    /// New and old values as compact JSON; `None` where the key is absent. A key feed
    /// has no old values.
    pub new_json: Option<String>,
    pub old_json: Option<String>,
}

/// Called once with the outcome of a flush or close.
pub type Completion = Box<dyn FnOnce(Result<()>) + Send>;
/// Receives failures that happen in the background.
pub type ErrorListener = Arc<dyn Fn(&StoreError) + Send + Sync>;

/// What a mutation did, for the binding.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    pub seq: u64,
    /// A watched key may have changed and no delivery was pending: schedule one, then
    /// call [`Engine::take_events`].
    pub schedule_delivery: bool,
}

pub(super) struct Watcher {
    pub(super) id: u64,
    pub(super) path: KeyPath,
    /// The value before the first undelivered change (`Some(None)`: it was absent).
    /// Invariant: `Some` exactly while a change to this key awaits delivery. Changes
    /// coalesce: the queue holds at most one entry per watcher, whatever the write rate.
    pub(super) old: Option<Option<Node>>,
}

pub(super) struct State {
    /// The document as the JS thread sees it.
    pub(super) doc: Node,
    /// Sequence number of the last change applied to `doc`.
    pub(super) seq: u64,
    /// Journal records of changes after `taken_seq`, not yet handed to the committer.
    pub(super) pending: Vec<u8>,
    /// Every change up to this one is durable.
    pub(super) durable_seq: u64,
    /// Flush completions waiting for their target sequence number to become durable.
    pub(super) waiters: Vec<(u64, Completion)>,
    /// Completions of `close` calls, answered once the committer stops.
    pub(super) close_waiters: Vec<Completion>,
    /// Completions of [`Engine::write_file`], answered once the file holds every change.
    pub(super) file_waiters: Vec<Completion>,
    pub(super) watchers: Vec<Watcher>,
    /// Key feeds by id (see [`feed`]): what changed, for followers of the whole store.
    pub(super) feeds: Vec<(u64, feed::KeyFeed)>,
    /// Events collected when the store closed, until `take_events` hands them out.
    pub(super) undelivered: Vec<ChangeEvent>,
    pub(super) next_watch_id: u64,
    pub(super) delivery_scheduled: bool,
    /// An open transaction: its changes are applied in memory but not handed to the
    /// committer, which also takes no snapshot, until it is committed.
    pub(super) hold: Option<Transaction>,
    /// Set when opening failed: the committer stops without writing anything.
    pub(super) abandoned: bool,
    /// The snapshot must be rewritten (it was moved aside).
    pub(super) force_checkpoint: bool,
    /// The watch saw the file change: the committer looks at it (on the pool) next.
    pub(super) file_changed: bool,
    /// Reads of the history that wait for the committer (after a checkpoint, so the
    /// current state is recorded first).
    pub(super) history_requests: Vec<HistoryRequest>,
    /// Set by `close`: no more changes are accepted.
    pub(super) closing: bool,
    /// The engine was dropped without `close` (the process is exiting, or its owner was
    /// collected): the last commit writes only what is not durable yet, no snapshot.
    pub(super) releasing: bool,
    /// The committer has stopped.
    pub(super) closed: bool,
    /// The committer is blocked waiting for work, so a change must wake it.
    pub(super) committer_idle: bool,
    pub(super) last_change: Instant,
    /// The last background failure, until a commit succeeds.
    pub(super) failure: Option<StoreError>,
    /// Sensitive keys and the keys that seal them; `None` when the store has none. While
    /// set, every location in `doc` holds an envelope (see [`secrets`]).
    pub(super) secrets: Option<secrets::Secrets>,
    /// The next checkpoint records no history and then removes all of it: the states it
    /// holds had secrets in plaintext (set when they are sealed at open).
    pub(super) purge_history: bool,
    /// With `sync`: the keys local changes wrote since the committer last took them, for
    /// the mirror (see [`super::sync`]). Invariant: every local change since the mirror
    /// last recorded the store is at or below one of these, so a merge never overwrites
    /// one. `None` without `sync`.
    pub(super) sync_touched: Option<Vec<KeyPath>>,
    /// The sync folder changed (its watch): the committer looks at it next.
    pub(super) sync_due: bool,
}

impl State {
    /// The state of a store just opened: `doc` as loaded, held in the opening
    /// transaction `opened` until it settles.
    pub(super) fn opened(
        doc: Node,
        opened: Transaction,
        secrets: Option<secrets::Secrets>,
    ) -> State {
        State {
            doc,
            seq: 0,
            pending: Vec::new(),
            durable_seq: 0,
            waiters: Vec::new(),
            close_waiters: Vec::new(),
            file_waiters: Vec::new(),
            watchers: Vec::new(),
            feeds: Vec::new(),
            undelivered: Vec::new(),
            next_watch_id: 1,
            delivery_scheduled: false,
            hold: Some(opened),
            history_requests: Vec::new(),
            abandoned: false,
            force_checkpoint: false,
            file_changed: false,
            closing: false,
            releasing: false,
            closed: false,
            committer_idle: false,
            last_change: Instant::now(),
            failure: None,
            secrets,
            purge_history: false,
            sync_touched: None,
            sync_due: false,
        }
    }

    /// Ends the open transaction, if any, restoring what it changed.
    pub(super) fn roll_back(&mut self) {
        if let Some(txn) = self.hold.take() {
            self.doc = txn.doc;
            self.seq = txn.seq;
            self.pending.truncate(txn.pending_len);
        }
    }
}

/// Called with the snapshot bytes recorded at a timestamp.
pub type StateCompletion = Box<dyn FnOnce(Result<Vec<u8>>) + Send>;
/// Called with a check of the whole history chain.
pub type VerifyCompletion = Box<dyn FnOnce(Result<history::Report>) + Send>;

/// A read of the history the committer answers, each with a completion of its own type.
pub(super) enum HistoryRequest {
    /// The snapshot bytes recorded at this ISO-8601 timestamp.
    StateAt {
        timestamp: String,
        done: StateCompletion,
    },
    /// A check of the whole chain.
    Verify { done: VerifyCompletion },
}

impl HistoryRequest {
    /// Answers with `err` instead (the commit before it failed, or the store closed).
    pub(super) fn fail(self, err: StoreError) {
        match self {
            HistoryRequest::StateAt { done, .. } => done(Err(err)),
            HistoryRequest::Verify { done } => done(Err(err)),
        }
    }
}

/// What a transaction restores when it is rolled back.
pub(super) struct Transaction {
    pub(super) doc: Node,
    pub(super) seq: u64,
    pub(super) pending_len: usize,
    /// Whether changes inside it are validated one by one (migrations: only at the end).
    pub(super) validate: bool,
}

/// What the JS thread, the committer and the watch share.
///
/// Lock order (a thread holding one may take only those after it): `external_edits`,
/// then `state`, then any one of `known_file`, `file_cipher`, `lock`, `notifier`,
/// `on_error`, `sync_status`. Those last are leaves: held only to read or replace a value, never while
/// taking another lock or calling out (`report` clones the listener, then calls it).
/// The pool's own locks (`pool.rs`) are never held while one of these is taken.
pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    /// The committer's task on the pool (weak: the task owns the committer, which owns
    /// this). Set once, right after opening starts the committer.
    pub(super) committer: std::sync::OnceLock<std::sync::Weak<pool::Task>>,
    pub(super) path: PathBuf,
    pub(super) journal_path: PathBuf,
    pub(super) fs: Arc<dyn Fs>,
    pub(super) file_mode: u32,
    pub(super) policy: CheckpointPolicy,
    pub(super) serialize: Option<snapshot::Serializer>,
    pub(super) history: Option<history::HistoryPolicy>,
    /// electron-store's whole-file encryption; while set there is no journal.
    pub(super) file_cipher: Mutex<Option<Arc<file_cipher::FileCipher>>>,
    /// Nothing is ever written: no lock, no journal, no snapshot.
    pub(super) read_only: bool,
    /// The writer's lock, released when the committer stops.
    pub(super) lock: Mutex<Option<Box<dyn fs::FsLock>>>,
    /// The bytes (by id) the store file holds as far as this store knows: loaded, or last
    /// written by the committer. A file that differs was changed by someone else.
    pub(super) known_file: Mutex<SnapshotId>,
    /// Held while an edit another program made is handled (the watch and a checkpoint
    /// may both find one): one handles it, the other then sees it known.
    pub(super) external_edits: Mutex<()>,
    /// Wakes event delivery from a thread other than the JS thread (the file watch).
    pub(super) notifier: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    pub(super) on_error: Mutex<Option<ErrorListener>>,
    /// Counters for `stats()`.
    pub(super) stats: Arc<stats::Stats>,
    /// With `sync`: the status the committer last published (see [`super::sync`]).
    pub(super) sync_status: Mutex<Option<crate::sync::status::SyncStatus>>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // The state is only changed in small steps that leave it consistent, so a panic
        // elsewhere does not make it unusable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the committer look for work soon (see [`pool::Task::wake`]).
    pub(super) fn wake(&self) {
        if let Some(task) = self.committer.get().and_then(|t| t.upgrade()) {
            task.wake();
        }
    }

    pub(super) fn cipher(&self) -> Option<Arc<file_cipher::FileCipher>> {
        self.file_cipher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn known_file(&self) -> MutexGuard<'_, SnapshotId> {
        self.known_file.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks work for the committer (`mark` sets its flag) and wakes it; false once the
    /// store is closing, so a watch that calls this stops.
    pub(super) fn hand_to_committer(&self, mark: impl FnOnce(&mut State)) -> bool {
        let mut st = self.lock();
        if st.closing || st.closed {
            return false;
        }
        mark(&mut st);
        drop(st);
        self.wake();
        true
    }

    /// Wakes event delivery on the JS thread, for a change made off it (the watch, a
    /// merge from another device).
    pub(super) fn notify_delivery(&self) {
        let notifier = self
            .notifier
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(notify) = notifier {
            notify();
        }
    }

    pub(super) fn report(&self, err: &StoreError) {
        self.stats.error(err.code());
        let listener = self
            .on_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(listener) = listener {
            listener(err);
        }
    }
}

/// One open store. Dropping it without `close` still stops the committer, after a last
/// commit.
pub struct Engine {
    pub(super) shared: Arc<Shared>,
    /// The committer on the pool; `None` once close or drop has asked it to finish.
    pub(super) committer: Option<Arc<pool::Task>>,
    /// The watch on the file's directory, with `watch: true`; dropped by `close`, so a
    /// closed store holds no watch even while its owner is not yet collected.
    pub(super) file_watch: Mutex<Option<watch::FileWatch>>,
    pub(super) defaults: Arc<Defaults>,
    pub(super) schema: Option<Arc<Schema>>,
    pub(super) clear_invalid_config: bool,
    /// Keys are literal names, not dot paths (`accessPropertiesByDotNotation: false`).
    pub(super) literal_keys: bool,
    pub(super) report: OpenReport,
    /// Where the data keys are kept, when the store keeps them (not app-supplied).
    pub(super) key_store: Option<Arc<dyn keys::KeyStore>>,
}

impl Engine {
    pub fn report(&self) -> &OpenReport {
        &self.report
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    pub fn set_error_listener(&self, listener: Option<ErrorListener>) {
        *self
            .shared
            .on_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = listener;
    }

    /// The sequence number of the last change.
    pub fn seq(&self) -> u64 {
        self.shared.lock().seq
    }
}
