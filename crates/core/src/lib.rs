//! The store engine: an in-memory document, made durable by a journal with group commit
//! and by atomic snapshots, written by the store's committer on the process's thread pool
//! ([`pool`]).
//!
//! Nothing here knows about Node.js. The binding calls these methods on the JS thread;
//! they apply a change in memory, queue its journal record and return in microseconds.
//!
//! Durability contract (see DESIGN.md):
//! - A change is applied and visible when its method returns.
//! - It is durable once [`Engine::flush`]'s callback reports `Ok`: the journal record
//!   that holds it has been fsynced, or a snapshot that contains it has been renamed
//!   into place and its directory fsynced.
//! - The snapshot is only ever replaced by rename; a crash leaves the old or the new one.

pub mod ajv;
mod committer;
pub mod crypto;
pub mod defaults;
pub mod document;
pub mod error;
mod external_edit;
pub mod feed;
pub mod file_cipher;
pub mod fs;
#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;
pub mod history;
pub mod journal;
pub mod keys;
pub mod lock;
pub mod map;
pub mod os_error;
pub mod path;
pub mod pool;
pub mod schema;
pub mod secrets;
#[cfg(any(test, feature = "testing"))]
pub mod sim_fs;
pub mod snapshot;
pub mod stats;
pub mod violation;
pub mod watch;

use committer::Committer;
use defaults::Defaults;
use document::Node;
use error::{Result, StoreError};
use fs::{Fs, FsFile};
use journal::{Batch, Op, SnapshotId};
use path::{KeyPath, INTERNAL_KEY};
use schema::{Change, Schema};
use snapshot::Replacement;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// When the committer folds the journal into a new snapshot.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    /// Checkpoint once the journal holds this many bytes of records...
    pub journal_bytes: u64,
    /// ...or once it holds any and no write has come for this long.
    pub idle: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            journal_bytes: 4 << 20,
            idle: Duration::from_millis(500),
        }
    }
}

pub struct EngineOptions {
    /// The snapshot file, e.g. `~/.config/tad-electron/config.json`.
    pub path: PathBuf,
    pub fs: Arc<dyn Fs>,
    /// Permission bits for files the store creates (the umask applies).
    pub file_mode: u32,
    /// Move an unreadable snapshot aside and start from defaults instead of failing.
    pub clear_invalid_config: bool,
    /// `defaults`: filled in at open for keys the store does not hold, and restored by
    /// `reset`/`clear`. A top-level object whose keys are paths.
    pub defaults: Vec<(KeyPath, Node)>,
    pub checkpoint: CheckpointPolicy,
    /// electron-store's `serialize`; `None` writes tab-indented JSON.
    pub serialize: Option<snapshot::Serializer>,
    /// Every change is validated against it before it is applied; the whole document is
    /// validated when the store opens.
    pub schema: Option<Arc<Schema>>,
    /// Open in a transaction, without filling defaults or validating, so migrations can
    /// run first; then call [`Engine::settle`] and [`Engine::commit`].
    pub defer_settle: bool,
    /// Keep a reverse diff of every snapshot in `storeHistory/`; `None` keeps none.
    pub history: Option<history::HistoryPolicy>,
    /// Open without the writer's lock: reads only, nothing is ever written, and a store
    /// another process holds can be read.
    pub read_only: bool,
    /// Follow edits other programs make to the file (see [`watch`]).
    pub watch: bool,
    /// Keys whose values are kept sealed (see [`secrets`]), besides those the schema
    /// marks `x-sensitive`.
    pub sensitive_keys: Vec<secrets::Pattern>,
    /// The binding addresses every key as one top-level property
    /// (`accessPropertiesByDotNotation: false`): sensitive patterns then also match
    /// such properties by their dotted names.
    pub literal_keys: bool,
    /// Where the data keys come from when there are sensitive keys; `None` is the
    /// platform's keyring.
    pub key_source: Option<keys::KeySource>,
    /// Seal, at open, sensitive values the file holds in plaintext (a store written
    /// before they were sensitive), instead of refusing to read them.
    pub seal_plaintext: bool,
    /// electron-store's `encryptionKey`: the whole file (and backups) encrypted. Such a
    /// store keeps no journal (it would hold plaintext) and no history: every commit
    /// rewrites the file, as electron-store does.
    pub file_cipher: Option<Arc<file_cipher::FileCipher>>,
}

impl EngineOptions {
    pub fn new(path: impl Into<PathBuf>, fs: Arc<dyn Fs>) -> EngineOptions {
        EngineOptions {
            path: path.into(),
            fs,
            file_mode: 0o600,
            clear_invalid_config: false,
            defaults: Vec::new(),
            checkpoint: CheckpointPolicy::default(),
            serialize: None,
            schema: None,
            defer_settle: false,
            history: Some(history::HistoryPolicy::default()),
            read_only: false,
            watch: false,
            sensitive_keys: Vec::new(),
            literal_keys: false,
            key_source: None,
            seal_plaintext: false,
            file_cipher: None,
        }
    }
}

/// What opening found and did.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// Where an unreadable snapshot was moved (with `clear_invalid_config`).
    pub quarantined: Option<PathBuf>,
    /// The reason it was unreadable.
    pub quarantine_reason: Option<String>,
    /// The good state an unreadable file was restored from (the newest migration
    /// backup that reads), when there was one.
    pub restored_from: Option<PathBuf>,
    /// Which rung of the recovery ladder that file was: `history` or `backup`.
    pub recovered_from: Option<&'static str>,
    /// Journal batches replayed on top of the snapshot (non-zero after a crash).
    pub replayed: usize,
    /// Bytes of torn journal tail dropped (a crash mid-append).
    pub torn_bytes: usize,
    /// Stale temporary files removed.
    pub stale_temps: usize,
    /// There was no store: no file and no journal (migrations then start at the current
    /// version, as in conf).
    pub fresh: bool,
    /// Sensitive values found in plaintext and sealed at open (with `seal_plaintext`).
    pub sealed: Vec<String>,
    /// No data key could be had: `(code, reason)`. The store opened anyway; its
    /// sensitive values stay sealed and out of reach until a key is supplied.
    pub keys_unavailable: Option<(&'static str, String)>,
}

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

struct Watcher {
    id: u64,
    path: KeyPath,
    /// The value before the first undelivered change (`Some(None)`: it was absent).
    /// Invariant: `Some` exactly while a change to this key awaits delivery. Changes
    /// coalesce: the queue holds at most one entry per watcher, whatever the write rate.
    old: Option<Option<Node>>,
}

struct State {
    /// The document as the JS thread sees it.
    doc: Node,
    /// Sequence number of the last change applied to `doc`.
    seq: u64,
    /// Journal records of changes after `taken_seq`, not yet handed to the committer.
    pending: Vec<u8>,
    /// Every change up to this one is durable.
    durable_seq: u64,
    /// Flush completions waiting for their target sequence number to become durable.
    waiters: Vec<(u64, Completion)>,
    /// Completions of `close` calls, answered once the committer stops.
    close_waiters: Vec<Completion>,
    /// Completions of [`Engine::write_file`], answered once the file holds every change.
    file_waiters: Vec<Completion>,
    watchers: Vec<Watcher>,
    /// Key feeds by id (see [`feed`]): what changed, for followers of the whole store.
    feeds: Vec<(u64, feed::KeyFeed)>,
    /// Events collected when the store closed, until `take_events` hands them out.
    undelivered: Vec<ChangeEvent>,
    next_watch_id: u64,
    delivery_scheduled: bool,
    /// An open transaction: its changes are applied in memory but not handed to the
    /// committer, which also takes no snapshot, until it is committed.
    hold: Option<Transaction>,
    /// Set when opening failed: the committer stops without writing anything.
    abandoned: bool,
    /// The snapshot must be rewritten (it was moved aside).
    force_checkpoint: bool,
    /// The watch saw the file change: the committer looks at it (on the pool) next.
    file_changed: bool,
    /// Reads of the history that wait for the committer (after a checkpoint, so the
    /// current state is recorded first).
    history_requests: Vec<HistoryRequest>,
    /// Set by `close`: no more changes are accepted.
    closing: bool,
    /// The engine was dropped without `close` (the process is exiting, or its owner was
    /// collected): the last commit writes only what is not durable yet, no snapshot.
    releasing: bool,
    /// The committer has stopped.
    closed: bool,
    /// The committer is blocked waiting for work, so a change must wake it.
    committer_idle: bool,
    last_change: Instant,
    /// The last background failure, until a commit succeeds.
    failure: Option<StoreError>,
    /// Sensitive keys and the keys that seal them; `None` when the store has none. While
    /// set, every location in `doc` holds an envelope (see [`secrets`]).
    secrets: Option<secrets::Secrets>,
    /// The next checkpoint records no history and then removes all of it: the states it
    /// holds had secrets in plaintext (set when they are sealed at open).
    purge_history: bool,
}

impl State {
    /// Ends the open transaction, if any, restoring what it changed.
    fn roll_back(&mut self) {
        if let Some(txn) = self.hold.take() {
            self.doc = txn.doc;
            self.seq = txn.seq;
            self.pending.truncate(txn.pending_len);
        }
    }
}

/// What a history request asks for.
pub enum HistoryQuery {
    /// The snapshot bytes recorded at this ISO-8601 timestamp.
    StateAt(String),
    /// A check of the whole chain.
    Verify,
}

/// Called with the answer to a history request.
pub type HistoryCompletion = Box<dyn FnOnce(Result<HistoryAnswer>) + Send>;

pub enum HistoryAnswer {
    State(Vec<u8>),
    Report(history::Report),
}

struct HistoryRequest {
    query: HistoryQuery,
    done: HistoryCompletion,
}

/// What a transaction restores when it is rolled back.
struct Transaction {
    doc: Node,
    seq: u64,
    pending_len: usize,
    /// Whether changes inside it are validated one by one (migrations: only at the end).
    validate: bool,
}

/// What the JS thread, the committer and the watch share.
///
/// Lock order (a thread holding one may take only those after it): `external_edits`,
/// then `state`, then any one of `known_file`, `file_cipher`, `lock`, `notifier`,
/// `on_error`. Those last are leaves: held only to read or replace a value, never while
/// taking another lock or calling out (`report` clones the listener, then calls it).
/// The pool's own locks (`pool.rs`) are never held while one of these is taken.
struct Shared {
    state: Mutex<State>,
    /// The committer's task on the pool (weak: the task owns the committer, which owns
    /// this). Set once, right after opening starts the committer.
    committer: std::sync::OnceLock<std::sync::Weak<pool::Task>>,
    path: PathBuf,
    journal_path: PathBuf,
    fs: Arc<dyn Fs>,
    file_mode: u32,
    policy: CheckpointPolicy,
    serialize: Option<snapshot::Serializer>,
    history: Option<history::HistoryPolicy>,
    /// electron-store's whole-file encryption; while set there is no journal.
    file_cipher: Mutex<Option<Arc<file_cipher::FileCipher>>>,
    /// Nothing is ever written: no lock, no journal, no snapshot.
    read_only: bool,
    /// The writer's lock, released when the committer stops.
    lock: Mutex<Option<Box<dyn fs::FsLock>>>,
    /// The bytes (by id) the store file holds as far as this store knows: loaded, or last
    /// written by the committer. A file that differs was changed by someone else.
    known_file: Mutex<SnapshotId>,
    /// Held while an edit another program made is handled (the watch and a checkpoint
    /// may both find one): one handles it, the other then sees it known.
    external_edits: Mutex<()>,
    /// Wakes event delivery from a thread other than the JS thread (the file watch).
    notifier: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    on_error: Mutex<Option<ErrorListener>>,
    /// Counters for `stats()`.
    stats: Arc<stats::Stats>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is only changed in small steps that leave it consistent, so a panic
        // elsewhere does not make it unusable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the committer look for work soon (see [`pool::Task::wake`]).
    fn wake(&self) {
        if let Some(task) = self.committer.get().and_then(|t| t.upgrade()) {
            task.wake();
        }
    }

    fn cipher(&self) -> Option<Arc<file_cipher::FileCipher>> {
        self.file_cipher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn known_file(&self) -> MutexGuard<'_, SnapshotId> {
        self.known_file.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn report(&self, err: &StoreError) {
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
    shared: Arc<Shared>,
    /// The committer on the pool; `None` once close or drop has asked it to finish.
    committer: Option<Arc<pool::Task>>,
    /// The watch on the file's directory, with `watch: true`; dropped by `close`, so a
    /// closed store holds no watch even while its owner is not yet collected.
    file_watch: Mutex<Option<watch::FileWatch>>,
    defaults: Arc<Defaults>,
    schema: Option<Arc<Schema>>,
    clear_invalid_config: bool,
    report: OpenReport,
    /// Where the data keys are kept, when the store keeps them (not app-supplied).
    key_store: Option<Arc<dyn keys::KeyStore>>,
}

pub fn journal_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".journal");
    path.with_file_name(name)
}

impl Engine {
    /// Opens the store: loads the snapshot, replays the journal over it, fills in
    /// defaults, and starts the committer.
    pub fn open(options: EngineOptions) -> Result<Engine> {
        Engine::open_with(options, None)
    }

    /// [`Engine::open`], reading the file with electron-store's `deserialize`.
    pub fn open_with(
        options: EngineOptions,
        deserialize: Option<snapshot::Deserializer<'_>>,
    ) -> Result<Engine> {
        // Every fsync the engine makes is timed for `stats()`.
        let stats = Arc::new(stats::Stats::default());
        let fs: Arc<dyn Fs> = Arc::new(stats::TimedFs::new(options.fs.clone(), stats.clone()));
        let path = options.path.clone();
        let dir = snapshot::dir_of(&path);
        let read_only = options.read_only;
        if !read_only {
            fs.create_dir_all(&dir)
                .map_err(|e| StoreError::io("create directory", &dir, &e))?;
        }
        // The writer's lock comes first: everything below assumes no one else writes.
        let lock = if read_only {
            None
        } else {
            Some(lock::acquire(&*fs, &path)?)
        };
        let mut report = OpenReport {
            stale_temps: if read_only {
                0
            } else {
                snapshot::remove_stale_temps(&*fs, &path)?
            },
            ..OpenReport::default()
        };

        let cipher = options.file_cipher.clone();
        let (mut doc, snapshot_id) =
            match snapshot::load(&*fs, &path, deserialize, cipher.as_deref()) {
                Ok(Some(loaded)) => {
                    stats.set_snapshot_bytes(loaded.len as u64);
                    (loaded.doc, loaded.id)
                }
                Ok(None) => {
                    report.fresh = true;
                    (Node::empty_object(), SnapshotId::of(b""))
                }
                Err(err @ (StoreError::CorruptFile { .. } | StoreError::FileDecrypt { .. }))
                    if !read_only =>
                {
                    // The newest good state that can be proven: the previous snapshot history
                    // kept (its hash is recorded), else a backup that reads. Failing both,
                    // electron-store's rule: defaults with clearInvalidConfig, else refuse.
                    let base = history::proven_base(&*fs, &path).and_then(|bytes| {
                        let doc =
                            parse_stored(cipher.as_deref(), &history::base_path(&path), &bytes)
                                .ok()?;
                        Some((history::base_path(&path), doc, "history"))
                    });
                    let backup = base.or_else(|| {
                        newest_good_backup(&*fs, &path, cipher.as_deref())
                            .map(|(file, doc)| (file, doc, "backup"))
                    });
                    if backup.is_none() && !options.clear_invalid_config {
                        return Err(err);
                    }
                    report.quarantine_reason = Some(err.to_string());
                    report.quarantined = Some(snapshot::quarantine(&*fs, &path, "corrupt")?);
                    match backup {
                        Some((file, doc, rung)) => {
                            report.restored_from = Some(file);
                            report.recovered_from = Some(rung);
                            (doc, SnapshotId::of(b""))
                        }
                        None => (Node::empty_object(), SnapshotId::of(b"")),
                    }
                }
                Err(err) => return Err(err),
            };

        let journal_path = journal_path_for(&path);
        let mut journal_len = 0u64;
        match fs.read(&journal_path) {
            Ok(bytes) => {
                let replay = journal::replay(&bytes).filter(|r| r.base == snapshot_id);
                match replay {
                    // A journal with a broken header was never acknowledged; one for an
                    // older snapshot is already contained in this one. Either way it must
                    // never be replayed, even if that older snapshot came back.
                    // Beside a snapshot that was moved aside as corrupt, it is kept with it
                    // for inspection instead.
                    None if read_only => {}
                    None if report.quarantined.is_some() => {
                        snapshot::quarantine(&*fs, &journal_path, "corrupt")?;
                    }
                    None => fs
                        .remove(&journal_path)
                        .map_err(|e| StoreError::io("remove stale journal", &journal_path, &e))?,
                    Some(replay) => {
                        report.replayed = replay.batches.len();
                        report.fresh &= replay.batches.is_empty();
                        report.torn_bytes = bytes.len() - replay.valid_len;
                        for batch in &replay.batches {
                            apply_batch(&mut doc, batch)?;
                        }
                        journal_len = replay.valid_len as u64;
                        if report.torn_bytes > 0 && !read_only {
                            // Cut the torn tail so new records follow the last whole one.
                            let mut file = fs
                                .open_append(&journal_path)
                                .map_err(|e| StoreError::io("open", &journal_path, &e))?;
                            file.set_len(journal_len)
                                .and_then(|_| file.sync())
                                .map_err(|e| StoreError::io("truncate", &journal_path, &e))?;
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("read", &journal_path, &e)),
        }

        stats.set_journal_bytes(journal_len);
        let (secrets, new_store_id, key_store) = open_secrets(&options, &doc)?;
        report.keys_unavailable = secrets
            .as_ref()
            .and_then(|s| s.missing())
            .map(|(code, reason)| (code, reason.to_string()));

        for (key, _) in &options.defaults {
            refuse_internal(key)?;
        }
        let defaults = Arc::new(Defaults::new(options.defaults, options.schema.clone())?);
        let opened = Transaction {
            doc: doc.clone(),
            seq: 0,
            pending_len: 0,
            validate: false,
        };

        let shared = Arc::new(Shared {
            state: Mutex::new(State {
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
            }),
            committer: std::sync::OnceLock::new(),
            path: path.clone(),
            journal_path,
            fs,
            file_mode: options.file_mode,
            policy: options.checkpoint,
            serialize: options.serialize,
            // A whole-file encrypted store keeps no history: its entries would be
            // whole ciphertexts, and a diff of plaintexts would leak them.
            history: options.history.filter(|_| cipher.is_none()),
            file_cipher: Mutex::new(cipher),
            read_only,
            lock: Mutex::new(lock),
            known_file: Mutex::new(snapshot_id),
            external_edits: Mutex::new(()),
            notifier: Mutex::new(None),
            on_error: Mutex::new(None),
            stats,
        });
        let committer_shared = shared.clone();
        let last_history_millis = match options.history {
            Some(_) if !read_only => history::reconcile(&*shared.fs, &path, snapshot_id)?,
            _ => 0,
        };
        let committer = Committer {
            shared: committer_shared,
            journal: None,
            // A reader never writes: it has no journal to extend or fold.
            journal_len: if read_only { 0 } else { journal_len },
            base: snapshot_id,
            needs_checkpoint: report.quarantined.is_some(),
            backoff: None,
            last_history_millis,
            schema: options.schema.clone(),
            defaults: defaults.clone(),
        };
        let handle = pool::spawn(Box::new(committer));
        let _set_once_here = shared.committer.set(Arc::downgrade(&handle));
        let mut engine = Engine {
            shared,
            committer: Some(handle),
            file_watch: Mutex::new(None),
            defaults,
            schema: options.schema,
            clear_invalid_config: options.clear_invalid_config,
            report,
            key_store,
        };
        if let Err(err) = engine.prepare_secrets(new_store_id, options.seal_plaintext) {
            engine.abandon();
            return Err(err);
        }
        if !options.defer_settle {
            if let Err(err) = engine.settle(true) {
                engine.abandon();
                return Err(err);
            }
            engine.commit();
            engine.finish_rotation()?;
        }
        if options.watch {
            engine.watch_file()?;
        }
        Ok(engine)
    }

    /// Starts following edits other programs make to the file (`watch: true`), if it
    /// is not already: valid ones are applied with change events, others moved aside and
    /// reported. A store opened without `watch` starts when an instance that asks for it
    /// joins.
    pub fn watch_file(&mut self) -> Result<()> {
        let mut file_watch = self.file_watch.lock().unwrap_or_else(|e| e.into_inner());
        if file_watch.is_some() || self.shared.lock().closing {
            return Ok(());
        }
        let shared = self.shared.clone();
        // The watch only marks the file changed; the committer looks at it on the pool,
        // so one store's slow edit never holds up another store's watch.
        let follow = move || {
            let mut st = shared.lock();
            if st.closing || st.closed {
                return false;
            }
            st.file_changed = true;
            drop(st);
            shared.wake();
            true
        };
        let path = self.shared.path.clone();
        let watch = watch::watch_file(&path, Arc::new(follow))
            .map_err(|e| StoreError::io("watch", snapshot::dir_of(&path), &e))?;
        *file_watch = Some(watch);
        Ok(())
    }

    /// Wakes event delivery when a change comes from another thread (the file watch).
    pub fn set_notifier(&self, notifier: Option<Arc<dyn Fn() + Send + Sync>>) {
        *self
            .shared
            .notifier
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = notifier;
    }

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

    /// Fills in defaults and validates the whole document, as opening does: a document
    /// that fails the schema is refused (`SCHEMA_VIOLATION`, naming the file), or with
    /// `clear_invalid_config` the file is moved aside (`<name>.invalid-<time>`) and the
    /// store starts from its defaults. Runs inside the opening transaction, so a refusal
    /// writes nothing.
    /// `allow_clear` false refuses even with `clear_invalid_config` (a migration run on an
    /// open store).
    pub fn settle(&mut self, allow_clear: bool) -> Result<()> {
        let fill = {
            let st = self.shared.lock();
            self.defaults.fill(&st.doc, &KeyPath::root())
        };
        let filled = !fill.is_empty();
        self.commit_ops(set_ops(fill), false)?;
        if filled && self.report.fresh && !self.shared.read_only {
            // A new store gets its file (and its first history entry) at once, as conf
            // writes the defaults at construction.
            self.shared.lock().force_checkpoint = true;
        }
        let Some(schema) = self.schema.clone() else {
            return Ok(());
        };
        let cipher = self.shared.cipher();
        let violations = schema.validate_document(&self.shared.lock().doc);
        if violations.is_empty() {
            return Ok(());
        }
        let refused = StoreError::SchemaViolation {
            violations,
            file: Some(self.shared.path.clone()),
        };
        let defaults = &self.defaults;
        let with_defaults = |doc: &Node| defaults.filled(doc.clone()).ok();
        // Only a file that is invalid as it is on disk is replaced: not one that a
        // migration (or anything else in this transaction) made invalid in memory.
        let from_disk = {
            let st = self.shared.lock();
            st.hold
                .as_ref()
                .and_then(|t| with_defaults(&t.doc))
                .is_some_and(|loaded| loaded == st.doc)
        };
        // The newest good state that can be proven: a backup that passes the schema.
        if allow_clear && from_disk && !self.shared.read_only {
            let passes = |doc: &Node| {
                with_defaults(doc).is_some_and(|d| schema.validate_document(&d).is_empty())
            };
            if let Some((file, doc)) = newest_backup_where(
                &*self.shared.fs,
                &self.shared.path,
                cipher.as_deref(),
                passes,
            ) {
                let doc = with_defaults(&doc).unwrap_or(doc);
                self.report.quarantined = Some(snapshot::quarantine(
                    &*self.shared.fs,
                    &self.shared.path,
                    "invalid",
                )?);
                self.report.quarantine_reason = Some(refused.to_string());
                self.report.restored_from = Some(file);
                self.report.recovered_from = Some("backup");
                let mut st = self.shared.lock();
                st.doc = doc;
                restore_secrets_invariant(&mut st)?;
                st.pending.clear();
                st.force_checkpoint = true;
                return Ok(());
            }
        }
        if !(self.clear_invalid_config && allow_clear) || self.shared.read_only {
            return Err(refused);
        }
        // Start over from the defaults, if they themselves pass, before touching the file.
        let cleared = self.defaults.filled(Node::empty_object())?;
        let still = schema.validate_document(&cleared);
        if !still.is_empty() {
            return Err(StoreError::SchemaViolation {
                violations: still,
                file: None,
            });
        }
        let fs = &*self.shared.fs;
        if fs.read(&self.shared.path).is_ok() {
            self.report.quarantined = Some(snapshot::quarantine(fs, &self.shared.path, "invalid")?);
        }
        self.report.quarantine_reason = Some(refused.to_string());
        let mut st = self.shared.lock();
        st.doc = cleared;
        restore_secrets_invariant(&mut st)?;
        st.pending.clear();
        st.force_checkpoint = true;
        Ok(())
    }

    /// Starts a transaction: changes apply in memory but reach the disk only on
    /// [`Engine::commit`], and [`Engine::rollback`] undoes them all. With `validate`
    /// false, changes are not validated one by one (migrations; `settle` validates).
    pub fn begin(&self, validate: bool) -> Result<()> {
        let mut st = self.shared.lock();
        if st.hold.is_some() {
            return Err(StoreError::InvalidOption {
                option: "transaction".into(),
                reason: "a transaction (or a migration) is already open".into(),
            });
        }
        st.hold = Some(Transaction {
            doc: st.doc.clone(),
            seq: st.seq,
            pending_len: st.pending.len(),
            validate,
        });
        Ok(())
    }

    /// Hands the transaction's changes to the committer.
    pub fn commit(&self) {
        let mut st = self.shared.lock();
        st.hold = None;
        drop(st);
        self.shared.wake();
    }

    /// Undoes every change since [`Engine::begin`], in memory; nothing reached the disk.
    pub fn rollback(&self) {
        self.shared.lock().roll_back();
        self.shared.wake();
    }

    /// Stops the committer without writing anything (opening failed).
    pub fn abandon(&mut self) {
        self.rollback();
        let mut st = self.shared.lock();
        st.abandoned = true;
        st.pending.clear();
        drop(st);
        self.shared.wake();
        if let Some(task) = self.committer.take() {
            // Stopped here, or by the thread running it (which sees `abandoned`): either
            // way it writes nothing more. The lock goes with it.
            task.cancel();
            self.shared
                .lock
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
        }
    }

    /// Writes the whole document, bookkeeping included, as `backups/<file_name>` beside
    /// the store, durably. Returns its path.
    pub fn write_backup(&self, file_name: &str) -> Result<PathBuf> {
        if file_name.contains(['/', '\\']) || file_name.starts_with('.') {
            return Err(StoreError::invalid_value(
                "backup",
                "the backup name must be a plain file name",
            ));
        }
        let dir = snapshot::dir_of(&self.shared.path).join("backups");
        let fs = &*self.shared.fs;
        fs.create_dir_all(&dir)
            .map_err(|e| StoreError::io("create directory", &dir, &e))?;
        // The `backups` entry itself must survive a crash too.
        let store_dir = snapshot::dir_of(&self.shared.path);
        fs.sync_dir(&store_dir)
            .map_err(|e| StoreError::io("fsync directory", &store_dir, &e))?;
        let path = dir.join(file_name);
        let doc = self.shared.lock().doc.clone();
        let bytes = snapshot::encode(&path, &doc, None, self.shared.cipher().as_deref())?;
        snapshot::write_atomic(fs, &path, &bytes, self.shared.file_mode)?;
        Ok(path)
    }

    // ----- secrets -------------------------------------------------------------------

    /// Inside the opening transaction: records a new store id, and with `seal_plaintext`
    /// seals sensitive values the file held in plaintext.
    fn prepare_secrets(&mut self, new_id: Option<String>, seal_plaintext: bool) -> Result<()> {
        if let Some(id) = new_id {
            let key = KeyPath::parse(secrets::STORE_ID_KEY)?;
            self.commit_ops(set_ops(vec![(key, Node::String(id))]), false)?;
        }
        if !seal_plaintext {
            return Ok(());
        }
        let plain: Vec<(KeyPath, Node)> = {
            let st = self.shared.lock();
            let Some(secrets) = &st.secrets else {
                return Ok(());
            };
            secrets
                .plaintext_locations(&st.doc)
                .into_iter()
                .filter_map(|l| st.doc.get(&l).cloned().map(|v| (l, v)))
                .collect()
        };
        if plain.is_empty() {
            return Ok(());
        }
        self.report.sealed = plain.iter().map(|(k, _)| k.to_string()).collect();
        self.commit_ops(set_ops(plain), false)?;
        self.seal_backups()?;
        let mut st = self.shared.lock();
        // Every earlier state on disk holds the plaintext: the history goes, the file is
        // rewritten at once.
        st.purge_history = true;
        st.force_checkpoint = true;
        Ok(())
    }

    /// Seals, in place, the plaintext secrets migration backups hold.
    fn seal_backups(&self) -> Result<()> {
        let fs = &*self.shared.fs;
        for entry in history::backups(fs, &self.shared.path)? {
            let bytes = fs
                .read(&entry.file)
                .map_err(|e| StoreError::io("read", &entry.file, &e))?;
            let cipher = self.shared.cipher();
            let Ok(mut doc) = parse_stored(cipher.as_deref(), &entry.file, &bytes) else {
                continue;
            };
            let sealed = match &self.shared.lock().secrets {
                Some(secrets) => secrets.seal_plaintext(&mut doc)?,
                None => return Ok(()),
            };
            if sealed.is_empty() {
                continue;
            }
            let bytes = snapshot::encode(&entry.file, &doc, None, cipher.as_deref())?;
            snapshot::write_atomic(fs, &entry.file, &bytes, self.shared.file_mode)?;
        }
        Ok(())
    }

    /// Stops encrypting the whole file (electron-store's `encryptionKey`) and rewrites it
    /// as JSON, sealed values sealed: the last step of `migrateToFieldEncryption`.
    /// Durable after a flush; a crash before leaves the encrypted file, after it the new.
    pub fn drop_file_cipher(&self) {
        self.shared
            .file_cipher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.shared.lock().force_checkpoint = true;
        self.shared.wake();
    }

    /// What the store has been doing (see [`stats`]), with the history read from disk.
    pub fn stats(&self) -> Result<stats::Report> {
        let mut report = self.shared.stats.report();
        report.sensitive_keys_unavailable = self
            .shared
            .lock()
            .secrets
            .as_ref()
            .and_then(|s| s.missing())
            .map(|(code, _)| code.to_string());
        (report.history_entries, report.history_bytes) =
            history::footprint(&*self.shared.fs, &self.shared.path)?;
        Ok(report)
    }

    /// Counts an error the caller refused before it reached the engine (the JS shim's).
    pub fn note_error(&self, code: &str) {
        self.shared.stats.error(code);
    }

    /// Counts an operation.
    pub fn note_op(&self, op: stats::Op) {
        self.shared.stats.op(op);
    }

    /// The sensitive-key patterns in force (the option's and the schema's).
    pub fn sensitive_keys(&self) -> Vec<String> {
        let st = self.shared.lock();
        st.secrets
            .as_ref()
            .map(|s| s.patterns())
            .unwrap_or_default()
    }

    /// The same patterns as data: segments, `None` for `*` (see
    /// [`secrets::Pattern::segments`]).
    pub fn sensitive_pattern_segments(&self) -> Vec<Vec<Option<String>>> {
        let st = self.shared.lock();
        st.secrets
            .as_ref()
            .map(|s| s.pattern_segments())
            .unwrap_or_default()
    }

    /// Re-encrypts every sensitive value under a new data key (`new`, or a generated
    /// one kept in the key store). Crash-safe: the key store first holds the new key and
    /// the old one, then every envelope is sealed again in one change, and only once that
    /// is durable is the old key dropped; a crash in between leaves both keys readable,
    /// and the next open finishes the rotation. `done` is called when it has finished.
    pub fn rotate_key(&self, new: Option<crypto::DataKey>, done: Completion) {
        let started = (|| {
            let new = match (new, &self.key_store) {
                (Some(key), _) => key,
                (None, Some(_)) => crypto::DataKey::generate()?,
                (None, None) => {
                    return Err(StoreError::InvalidOption {
                        option: "rotateKey".into(),
                        reason: "this store's key is supplied by the app: pass the new key".into(),
                    })
                }
            };
            let mut guard = self.shared.lock();
            let st = &mut *guard;
            let Some(secrets) = st.secrets.as_mut() else {
                return Err(StoreError::InvalidOption {
                    option: "rotateKey".into(),
                    reason: "the store has no sensitive keys".into(),
                });
            };
            if secrets.missing().is_some() {
                // No key was at hand: this one is taken if it opens every envelope, and
                // kept where the store keeps its keys (best effort: the keyring may still
                // be out of reach, and then the app supplies it again next time).
                secrets.supply_key(new.clone(), &st.doc)?;
                if let Some(store) = &self.key_store {
                    if let Err(err) = store.save(secrets.store_id(), std::slice::from_ref(&new)) {
                        self.shared.report(&err);
                    }
                }
                return Ok(());
            }
            let mut ring = vec![new];
            ring.extend(secrets.keys().iter().cloned());
            let previous = secrets.keys().to_vec();
            secrets.set_keys(ring.clone());
            // Nothing changes if an envelope does not open (or the keyring refuses).
            let resealed = secrets.reseal_all(&st.doc).and_then(|resealed| {
                if let Some(store) = &self.key_store {
                    store.save(secrets.store_id(), &ring)?;
                }
                Ok(resealed)
            });
            let resealed = match resealed {
                Ok(resealed) => resealed,
                Err(err) => {
                    if let Some(secrets) = st.secrets.as_mut() {
                        secrets.set_keys(previous);
                    }
                    return Err(err);
                }
            };
            drop(guard);
            self.commit_ops_with(set_ops(resealed), false, false)?;
            Ok(())
        })();
        if let Err(err) = started {
            return done(Err(err));
        }
        let shared = self.shared.clone();
        let key_store = self.key_store.clone();
        self.flush(Box::new(move |result| {
            done(result.and_then(|()| drop_old_keys(&shared, key_store.as_deref())))
        }));
    }

    /// Finishes a rotation a crash interrupted: the key store still holds old keys.
    fn finish_rotation(&mut self) -> Result<()> {
        let resealed = {
            let st = self.shared.lock();
            match &st.secrets {
                Some(secrets) if secrets.keys().len() > 1 && !self.shared.read_only => {
                    secrets.reseal_all(&st.doc)?
                }
                _ => return Ok(()),
            }
        };
        self.commit_ops_with(set_ops(resealed), false, false)?;
        self.flush_blocking()?;
        drop_old_keys(&self.shared, self.key_store.as_deref())
    }

    // ----- reads ---------------------------------------------------------------------

    /// The state for a read: refused once the store is closed (its document is freed).
    fn read(&self) -> Result<MutexGuard<'_, State>> {
        let st = self.shared.lock();
        if st.closed {
            return Err(StoreError::Closed {
                file: self.shared.path.clone(),
            });
        }
        Ok(st)
    }

    /// The value at `key` as compact JSON, or `None` when absent.
    ///
    /// Sensitive values come back decrypted; one that does not decrypt fails the read
    /// with its code (`SECRET_TAMPERED`, `DECRYPT_FAILED`, …), never a value.
    pub fn get_json(&self, key: &KeyPath) -> Result<Option<String>> {
        self.shared.stats.op(stats::Op::Get);
        let st = self.read()?;
        match &st.secrets {
            Some(secrets) if secrets.touches(key) => Ok(secrets
                .reveal(&st.doc, key)?
                .map(|node| user_json(key, &node))),
            _ => Ok(st.doc.get(key).map(|node| user_json(key, node))),
        }
    }

    pub fn has(&self, key: &KeyPath) -> Result<bool> {
        self.shared.stats.op(stats::Op::Has);
        self.contains(key)
    }

    fn contains(&self, key: &KeyPath) -> Result<bool> {
        let st = self.read()?;
        match &st.secrets {
            Some(secrets) if secrets.above(key).is_some() => {
                Ok(secrets.reveal(&st.doc, key)?.is_some())
            }
            _ => Ok(st.doc.get(key).is_some()),
        }
    }

    /// The whole store as compact JSON, without conf's `__internal__` bookkeeping.
    pub fn store_json(&self) -> Result<String> {
        self.get_json(&KeyPath::root())
            .map(|json| json.unwrap_or_else(|| "{}".into()))
    }

    /// Number of top-level keys, without `__internal__`.
    pub fn size(&self) -> Result<usize> {
        let st = self.read()?;
        Ok(st
            .doc
            .as_object()
            .map(|m| m.len() - usize::from(m.contains_key(INTERNAL_KEY)))
            .unwrap_or(0))
    }

    /// The sequence number of the last change.
    pub fn seq(&self) -> u64 {
        self.shared.lock().seq
    }

    // ----- writes --------------------------------------------------------------------

    /// Sets `key` to `value`. Applied when it returns; durable after a flush.
    pub fn set(&self, key: &KeyPath, value: Node) -> Result<Receipt> {
        self.set_many(vec![(key.clone(), value)])
    }

    /// Sets several keys as one change: all of them or, on error, none.
    pub fn set_many(&self, entries: Vec<(KeyPath, Node)>) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Set);
        self.set_entries(entries)
    }

    fn set_entries(&self, entries: Vec<(KeyPath, Node)>) -> Result<Receipt> {
        let mut ops = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            refuse_internal(&key)?;
            ops.push(Op::Set {
                key: journal::key_record(&key),
                value,
            });
        }
        self.commit_ops(ops, true)
    }

    /// Writes conf's migration bookkeeping under `__internal__` (refused to users).
    pub fn set_internal(&self, key: &KeyPath, value: Node) -> Result<Receipt> {
        if !key.is_internal() {
            return Err(StoreError::invalid_key(
                &key.to_string(),
                "not an `__internal__` key",
            ));
        }
        self.commit_ops(
            vec![Op::Set {
                key: journal::key_record(key),
                value,
            }],
            false,
        )
    }

    /// Deletes `key`. Deleting an absent key changes nothing and writes nothing.
    pub fn delete(&self, key: &KeyPath) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Delete);
        refuse_internal(key)?;
        if key.is_root() {
            return Err(StoreError::invalid_key(
                "",
                "use clear() to delete everything",
            ));
        }
        if !self.contains(key)? {
            return Ok(Receipt {
                seq: self.seq(),
                schedule_delivery: false,
            });
        }
        self.commit_ops(
            vec![Op::Delete {
                key: journal::key_record(key),
            }],
            true,
        )
    }

    /// Appends `value` to the array at `key`, creating it when absent.
    pub fn append(&self, key: &KeyPath, value: Node) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Append);
        refuse_internal(key)?;
        self.commit_ops(
            vec![Op::Append {
                key: journal::key_record(key),
                value,
            }],
            true,
        )
    }

    /// Replaces the whole store (electron-store's `store` setter), keeping conf's
    /// `__internal__` bookkeeping and filling in defaults for keys the new store lacks.
    pub fn replace(&self, store: Node) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Replace);
        self.replace_doc(store)
    }

    fn replace_doc(&self, mut store: Node) -> Result<Receipt> {
        let Node::Object(map) = &mut store else {
            return Err(StoreError::invalid_value("", "the store must be an object"));
        };
        let st = self.shared.lock();
        if let Some(internal) = st.doc.as_object().and_then(|m| m.get(INTERNAL_KEY)) {
            Arc::make_mut(map).insert(INTERNAL_KEY.to_string(), internal.clone());
        } else {
            Arc::make_mut(map).shift_remove(INTERNAL_KEY);
        }
        drop(st);
        self.commit_ops(
            vec![Op::Set {
                key: Vec::new(),
                value: store,
            }],
            true,
        )
    }

    /// Deletes every key, then restores the defaults (conf's `clear`).
    pub fn clear(&self) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Clear);
        self.replace_doc(Node::empty_object())
    }

    /// Restores each key to its default. A key with no default is left as it is (conf).
    pub fn reset(&self, keys: &[KeyPath]) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Reset);
        let mut entries = Vec::new();
        for key in keys {
            refuse_internal(key)?;
            if let Some(value) = self.defaults.value_at(key) {
                entries.push((key.clone(), value.clone()));
            }
        }
        if entries.is_empty() {
            return Ok(Receipt {
                seq: self.seq(),
                schedule_delivery: false,
            });
        }
        self.set_entries(entries)
    }

    /// Applies `ops` as one change: validated first, so an error changes nothing; then
    /// applied, its journal record queued, watchers marked, the committer woken.
    ///
    /// A `user` change also gets the defaults it removed filled back in, and is validated
    /// against the schema where it can matter (unless a migration is running).
    fn commit_ops(&self, ops: Vec<Op>, user: bool) -> Result<Receipt> {
        self.commit_ops_with(ops, user, true)
    }

    /// [`Engine::commit_ops`]; with `reseal` false, envelopes the ops carry are kept as
    /// they are instead of being taken for plaintext (a rollback, a rotation).
    fn commit_ops_with(&self, ops: Vec<Op>, user: bool, reseal: bool) -> Result<Receipt> {
        let mut st = self.shared.lock();
        if st.closing {
            return Err(StoreError::Closed {
                file: self.shared.path.clone(),
            });
        }
        if user && self.shared.read_only {
            return Err(StoreError::ReadOnly {
                file: self.shared.path.clone(),
            });
        }
        if ops.is_empty() {
            return Ok(Receipt {
                seq: st.seq,
                schedule_delivery: false,
            });
        }
        let mut batch = Batch {
            seq: st.seq + 1,
            ops,
        };
        let validate = user && self.schema.is_some() && st.hold.as_ref().is_none_or(|t| t.validate);
        let fill = user && !self.defaults.is_empty();
        let secret = st
            .secrets
            .as_ref()
            .is_some_and(|s| batch.ops.iter().any(|op| s.touches(&op.key_path())));
        // A lone op with nothing to fill, validate or seal is checked, then applied in
        // place. Otherwise the ops go to a copy-on-write clone (only containers on their
        // paths are copied), so a failing op or a violation leaves `doc` as it was.
        let next = match batch.ops.as_slice() {
            [op] if !validate && !fill && !secret => {
                check_op(&st.doc, op)?;
                None
            }
            _ => {
                let mut next = st.doc.clone();
                if let (true, Some(secrets)) = (secret, &st.secrets) {
                    secrets.open_for_write(&mut next, &batch.ops)?;
                }
                apply_batch(&mut next, &batch)?;
                if fill {
                    let keys: Vec<KeyPath> = batch.ops.iter().map(Op::key_path).collect();
                    for key in keys {
                        let filled = set_ops(self.defaults.fill(&next, &key));
                        apply_batch(
                            &mut next,
                            &Batch {
                                seq: batch.seq,
                                ops: filled.clone(),
                            },
                        )?;
                        batch.ops.extend(filled);
                    }
                }
                if let (true, Some(schema)) = (validate, &self.schema) {
                    let violations: Vec<_> = batch
                        .ops
                        .iter()
                        .filter_map(|op| change_of(&st.doc, op))
                        .flat_map(|change| schema.validate_change(&next, &change))
                        .collect();
                    if !violations.is_empty() {
                        return Err(StoreError::SchemaViolation {
                            violations: dedup(violations),
                            file: None,
                        });
                    }
                }
                // Sealed last, so the schema saw the plaintext; the ops are rewritten so
                // the journal records only envelopes.
                if let Some(secrets) = &st.secrets {
                    secrets.seal_ops(&mut next, &mut batch.ops, reseal)?;
                    // Without a key, nothing sealed may be rewritten, replaced or dropped.
                    let keys: Vec<KeyPath> = batch.ops.iter().map(Op::key_path).collect();
                    secrets.keep_sealed(&st.doc, &next, &keys)?;
                }
                Some(next)
            }
        };

        let touched: Vec<KeyPath> = batch.ops.iter().map(Op::key_path).collect();
        let mut newly_pending = false;
        let State {
            watchers,
            doc,
            secrets,
            ..
        } = &mut *st;
        for watcher in watchers.iter_mut().filter(|w| w.old.is_none()) {
            if touched.iter().any(|t| t.overlaps(&watcher.path)) {
                watcher.old = Some(visible(secrets.as_ref(), doc, &watcher.path, &self.shared));
                newly_pending = true;
            }
        }
        // Key feeds get the paths each op can alter, found in the document before it; a
        // whole-document change is refined into the paths that differ, which needs that
        // document afterwards too (an O(1) clone, taken only then).
        let fed: Vec<KeyPath> = if st.feeds.is_empty() {
            Vec::new()
        } else {
            touched.iter().map(|t| feed::affected(&st.doc, t)).collect()
        };
        let before = fed.iter().any(KeyPath::is_root).then(|| st.doc.clone());
        match next {
            Some(next) => st.doc = next,
            None => apply_batch(&mut st.doc, &batch)?,
        }
        let State { feeds, doc, .. } = &mut *st;
        for (_, feed) in feeds.iter_mut() {
            for key in &fed {
                newly_pending |= match (&before, key.is_root()) {
                    (Some(before), true) => feed.note_replaced(before, doc),
                    _ => feed.note(key),
                };
            }
        }
        st.seq = batch.seq;
        if self.shared.read_only {
            // Defaults a reader fills in live in its memory only.
            st.durable_seq = st.seq;
        } else {
            st.pending.extend(journal::encode(&batch));
        }
        st.last_change = Instant::now();
        let schedule_delivery = newly_pending && !st.delivery_scheduled;
        if schedule_delivery {
            st.delivery_scheduled = true;
        }
        let wake = st.committer_idle;
        let seq = st.seq;
        drop(st);
        if wake {
            self.shared.wake();
        }
        Ok(Receipt {
            seq,
            schedule_delivery,
        })
    }

    /// Replaces the whole document, bookkeeping included, with `doc` (a rollback): one
    /// change, validated, with change events for every watched key that differs.
    ///
    /// Sealed values are restored as they were (a state from before a key rotation holds
    /// values the retired key sealed: reading them gives `DECRYPT_FAILED`). The store's
    /// id is kept, since the envelopes are bound to it.
    pub fn restore(&self, mut doc: Node) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Rollback);
        if doc.as_object().is_none() {
            return Err(StoreError::invalid_value("", "the store must be an object"));
        }
        let id_key = KeyPath::parse(secrets::STORE_ID_KEY)?;
        let id = self.shared.lock().doc.get(&id_key).cloned();
        if let Some(id) = id {
            doc.set(&id_key, id)?;
        }
        self.commit_ops_with(
            vec![Op::Set {
                key: Vec::new(),
                value: doc,
            }],
            true,
            false,
        )
    }

    // ----- history -------------------------------------------------------------------

    /// Every recorded state, newest first: history diffs and migration backups.
    pub fn list_history(&self) -> Result<Vec<history::Entry>> {
        history::list(&*self.shared.fs, &self.shared.path)
    }

    /// Answers `query` on the committer (a pool thread), after a checkpoint so the current state
    /// is recorded (and can itself be rolled back to).
    pub fn request_history(&self, query: HistoryQuery, done: HistoryCompletion) {
        let mut st = self.shared.lock();
        if st.closing || st.closed {
            drop(st);
            return done(Err(StoreError::Closed {
                file: self.shared.path.clone(),
            }));
        }
        st.history_requests.push(HistoryRequest { query, done });
        drop(st);
        self.shared.wake();
    }

    /// Blocks for [`Engine::request_history`]. For tests and tools.
    pub fn history_blocking(&self, query: HistoryQuery) -> Result<HistoryAnswer> {
        self.wait_for(|done| self.request_history(query, done))
    }

    /// Starts background work with a completion and waits for it (off the pool's
    /// threads: never called from a job). A completion dropped unanswered means the store
    /// closed under it.
    fn wait_for<T: Send + 'static>(
        &self,
        start: impl FnOnce(Box<dyn FnOnce(Result<T>) + Send>),
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        start(Box::new(move |r| {
            // The receiver only goes away if this function already returned.
            let _receiver_is_waiting = tx.send(r);
        }));
        rx.recv().unwrap_or_else(|_| {
            Err(StoreError::Closed {
                file: self.shared.path.clone(),
            })
        })
    }

    // ----- change events -------------------------------------------------------------

    /// Starts reporting changes to `key` (the root for the whole store).
    pub fn watch(&self, key: KeyPath) -> u64 {
        let mut st = self.shared.lock();
        let id = st.next_watch_id;
        st.next_watch_id += 1;
        st.watchers.push(Watcher {
            id,
            path: key,
            old: None,
        });
        id
    }

    /// Starts a key feed: every change is reported as the paths it changed, with their
    /// values at delivery and no old values (see [`feed`]). For followers of the whole
    /// store, which would otherwise pay a copy of it per change. Stopped by `unwatch`.
    pub fn follow(&self) -> u64 {
        let mut st = self.shared.lock();
        let id = st.next_watch_id;
        st.next_watch_id += 1;
        st.feeds.push((id, feed::KeyFeed::new()));
        id
    }

    /// Stops a watcher or a key feed.
    pub fn unwatch(&self, id: u64) {
        let mut st = self.shared.lock();
        st.watchers.retain(|w| w.id != id);
        st.feeds.retain(|(feed_id, _)| *feed_id != id);
    }

    /// The delivery a receipt asked for could not be scheduled: the next change asks again.
    pub fn delivery_failed(&self) {
        self.shared.lock().delivery_scheduled = false;
    }

    /// The changes since the last call, one per watcher whose value really differs, in
    /// the order the watchers were registered. Each carries the value before the first
    /// undelivered change and the value now.
    pub fn take_events(&self) -> Vec<ChangeEvent> {
        let mut st = self.shared.lock();
        st.delivery_scheduled = false;
        let mut events = std::mem::take(&mut st.undelivered);
        events.extend(collect_events(&mut st, &self.shared));
        events
    }

    // ----- durability ----------------------------------------------------------------

    /// Calls `done` once every change made before this call is durable, or with the
    /// error that prevents it. `done` may run on the committer (a pool thread).
    pub fn flush(&self, done: Completion) {
        self.shared.stats.op(stats::Op::Flush);
        let mut st = self.shared.lock();
        if st.durable_seq >= st.seq {
            drop(st);
            return done(Ok(()));
        }
        if st.closed {
            let err = st.failure.clone().unwrap_or(StoreError::Closed {
                file: self.shared.path.clone(),
            });
            drop(st);
            return done(Err(err));
        }
        let target = st.seq;
        st.waiters.push((target, done));
        drop(st);
        self.shared.wake();
    }

    /// Calls `done` once the store file itself holds every change made before this call
    /// (a snapshot is written even when the journal would have held them), so another
    /// program can read it, or open it in an editor. `done` may run on the committer
    /// thread. A reader has nothing to write: it is answered at once.
    pub fn write_file(&self, done: Completion) {
        let mut st = self.shared.lock();
        if self.shared.read_only || st.closed || st.closing {
            let result = match (&st.failure, st.closing || st.closed) {
                (Some(err), _) => Err(err.clone()),
                (None, true) => Err(StoreError::Closed {
                    file: self.shared.path.clone(),
                }),
                (None, false) => Ok(()),
            };
            drop(st);
            return done(result);
        }
        st.file_waiters.push(done);
        drop(st);
        self.shared.wake();
    }

    /// Blocks until everything so far is durable. For tests and tools, not the JS thread.
    pub fn flush_blocking(&self) -> Result<()> {
        self.wait_for(|done| self.flush(done))
    }

    /// Stops accepting changes, commits everything, writes a final snapshot and removes
    /// the journal; then calls `done`. Durable when `done` reports `Ok`.
    pub fn close(&self, done: Completion) {
        let mut st = self.shared.lock();
        if st.closed {
            let result = match &st.failure {
                Some(err) => Err(err.clone()),
                None => Ok(()),
            };
            drop(st);
            return done(result);
        }
        // An open transaction never reaches the disk.
        st.roll_back();
        st.closing = true;
        st.close_waiters.push(done);
        drop(st);
        self.shared.wake();
        self.file_watch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    pub fn close_blocking(&mut self) -> Result<()> {
        // Closed already, the store has nothing more to say: that is success.
        let result = match self.wait_for(|done| self.close(done)) {
            Err(StoreError::Closed { .. }) => Ok(()),
            other => other,
        };
        if let Some(task) = self.committer.take() {
            task.wait_done();
        }
        result
    }

    pub fn is_closed(&self) -> bool {
        self.shared.lock().closing
    }
}

impl Drop for Engine {
    /// Dropping without `close` (at process exit, or when the owner was collected)
    /// still makes every change durable, on the committer (a pool thread), without waiting for
    /// it: a drop can run inside a JS garbage collection, and a `serialize` callback
    /// needs that very thread. It writes only what is not durable yet (journal records;
    /// no snapshot of changes already in the journal), so an exiting process leaves
    /// behind no writes it did not owe.
    fn drop(&mut self) {
        if self.committer.take().is_some() {
            self.shared.lock().releasing = true;
            // Failures of that last commit reach the error listener from the committer.
            self.close(Box::new(|_outcome_already_reported| {}));
        }
    }
}

/// Turns the watchers' pending changes into events, comparing each old value with the
/// value now.
fn collect_events(st: &mut State, shared: &Shared) -> Vec<ChangeEvent> {
    let State {
        watchers,
        feeds,
        doc,
        seq,
        secrets,
        ..
    } = st;
    let mut events = Vec::new();
    for watcher in watchers.iter_mut() {
        let Some(old) = watcher.old.take() else {
            continue;
        };
        let new = visible(secrets.as_ref(), doc, &watcher.path, shared);
        let new = new.as_ref();
        let same = match (&old, new) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            _ => false,
        };
        if !same {
            events.push(ChangeEvent {
                watch_id: watcher.id,
                seq: *seq,
                path: None,
                new_json: new.map(|n| user_json(&watcher.path, n)),
                old_json: old.as_ref().map(|n| user_json(&watcher.path, n)),
            });
        }
    }
    for (id, feed) in feeds.iter_mut() {
        for path in feed.take() {
            let new = visible(secrets.as_ref(), doc, &path, shared);
            events.push(ChangeEvent {
                watch_id: *id,
                seq: *seq,
                new_json: new.map(|n| user_json(&path, &n)),
                path: Some(path),
                old_json: None,
            });
        }
    }
    events
}

/// After a whole document replaced the state outside `commit_ops` (a backup or the
/// defaults put in place at open): the store's id goes back in (the envelopes are bound
/// to it) and plaintext at sensitive locations (defaults, an old backup) is sealed, so
/// the secrets invariant holds again.
fn restore_secrets_invariant(st: &mut State) -> Result<()> {
    st.doc = with_secrets_invariant(st.secrets.as_ref(), st.doc.clone())?;
    Ok(())
}

/// `doc` with the store's id and every sensitive value sealed (see
/// [`restore_secrets_invariant`]).
fn with_secrets_invariant(secrets: Option<&secrets::Secrets>, mut doc: Node) -> Result<Node> {
    let Some(secrets) = secrets else {
        return Ok(doc);
    };
    let id_key = KeyPath::parse(secrets::STORE_ID_KEY)?;
    doc.set(&id_key, Node::String(secrets.store_id().to_string()))?;
    secrets.seal_plaintext(&mut doc)?;
    Ok(doc)
}

/// The end of a rotation, once the resealed document is durable: only the current key
/// is kept, in memory and in the key store.
fn drop_old_keys(shared: &Shared, key_store: Option<&dyn keys::KeyStore>) -> Result<()> {
    let mut st = shared.lock();
    let Some(secrets) = st.secrets.as_mut() else {
        return Ok(());
    };
    let current = secrets.keys()[..1.min(secrets.keys().len())].to_vec();
    if let Some(store) = key_store {
        store.save(secrets.store_id(), &current)?;
    }
    secrets.set_keys(current);
    Ok(())
}

/// The store's sensitive keys, its id and its data keys, as opening finds them: the id
/// from the document (or a new one, returned to be recorded), the keys from the app or
/// the key store (created there when there are none yet). No sensitive keys, no secrets:
/// nothing touches a keyring.
#[allow(clippy::type_complexity)]
fn open_secrets(
    options: &EngineOptions,
    doc: &Node,
) -> Result<(
    Option<secrets::Secrets>,
    Option<String>,
    Option<Arc<dyn keys::KeyStore>>,
)> {
    let mut patterns = options.sensitive_keys.clone();
    if let Some(schema) = &options.schema {
        patterns.extend(schema.sensitive_patterns());
    }
    if patterns.is_empty() {
        return Ok((None, None, None));
    }
    let id_key = KeyPath::parse(secrets::STORE_ID_KEY)?;
    let (store_id, new_id) = match doc.get(&id_key) {
        Some(Node::String(id)) if !id.is_empty() => (id.clone(), None),
        _ => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| StoreError::KeyUnavailable {
                code: "KEY_GENERATION_FAILED",
                reason: e.to_string(),
            })?;
            let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            (id.clone(), Some(id))
        }
    };
    let supplied = matches!(
        options.key_source,
        Some(keys::KeySource::Supplied(_) | keys::KeySource::Missing { .. })
    );
    let (keys, store, missing) = match options.key_source.clone() {
        Some(keys::KeySource::Supplied(keys)) => (keys, None, None),
        Some(keys::KeySource::Missing { code, reason }) => (Vec::new(), None, Some((code, reason))),
        source => {
            let store: Arc<dyn keys::KeyStore> = match source {
                Some(keys::KeySource::Stored(store)) => store,
                _ => Arc::new(keys::KeyringStore::new(keys::KeyringBackend::Platform)),
            };
            let loaded = store.load(&store_id).and_then(|kept| match kept {
                Some(keys) => Ok(keys),
                // A reader never writes, not even a key: it reads what it can.
                None if options.read_only => Ok(Vec::new()),
                None => {
                    let key = crypto::DataKey::generate()?;
                    store.save(&store_id, std::slice::from_ref(&key))?;
                    Ok(vec![key])
                }
            });
            match loaded {
                Ok(keys) => (keys, Some(store), None),
                // No key to be had: the store opens without one (see `Secrets::without_key`).
                Err(StoreError::KeyUnavailable { code, reason })
                    if matches!(code, "KEYRING_UNAVAILABLE" | "KEY_NOT_FOUND") =>
                {
                    (Vec::new(), Some(store), Some((code, reason)))
                }
                Err(err) => return Err(err),
            }
        }
    };
    let secrets = secrets::Secrets::new(patterns, store_id, keys, supplied, options.literal_keys);
    let secrets = match missing {
        Some((code, reason)) => secrets.without_key(code, reason),
        None => secrets,
    };
    Ok((Some(secrets), new_id, store))
}

fn refuse_internal(key: &KeyPath) -> Result<()> {
    if key.is_internal() {
        return Err(StoreError::invalid_key(
            &key.to_string(),
            "`__internal__` is reserved for migration bookkeeping",
        ));
    }
    Ok(())
}

fn set_ops(sets: Vec<(KeyPath, Node)>) -> Vec<Op> {
    sets.into_iter()
        .map(|(key, value)| Op::Set {
            key: journal::key_record(&key),
            value,
        })
        .collect()
}

/// What `op` does to `before`, for validation; `None` when it changes nothing.
fn change_of(before: &Node, op: &Op) -> Option<Change> {
    match op {
        Op::Set { key, .. } | Op::Append { key, .. } => {
            Some(Change::of_write(before, &journal::key_path(key)))
        }
        Op::Delete { key } => {
            let key = journal::key_path(key);
            before.get(&key)?;
            Some(Change::Removed(key.parent()?, key.last()?.clone()))
        }
    }
}

/// The same violation reported by two overlapping checks, once.
fn dedup(violations: Vec<schema::Violation>) -> Vec<schema::Violation> {
    let mut out: Vec<schema::Violation> = Vec::with_capacity(violations.len());
    for v in violations {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The newest migration backup that parses, for restoring an unreadable store file.
fn newest_good_backup(
    fs: &dyn fs::Fs,
    store: &Path,
    cipher: Option<&file_cipher::FileCipher>,
) -> Option<(PathBuf, Node)> {
    newest_backup_where(fs, store, cipher, |_| true)
}

/// A stored file's document: decrypted first when the store encrypts whole files.
fn parse_stored(
    cipher: Option<&file_cipher::FileCipher>,
    path: &Path,
    bytes: &[u8],
) -> Result<Node> {
    match cipher {
        Some(cipher) => snapshot::parse(path, &cipher.decrypt(path, bytes)?, None),
        None => snapshot::parse(path, bytes, None),
    }
}

/// The newest migration backup that parses and passes `good`.
fn newest_backup_where(
    fs: &dyn fs::Fs,
    store: &Path,
    cipher: Option<&file_cipher::FileCipher>,
    good: impl Fn(&Node) -> bool,
) -> Option<(PathBuf, Node)> {
    let backups = history::backups(fs, store).ok()?;
    backups.into_iter().find_map(|entry| {
        let bytes = fs.read(&entry.file).ok()?;
        let doc = parse_stored(cipher, &entry.file, &bytes).ok()?;
        good(&doc).then_some((entry.file, doc))
    })
}

/// Fails exactly when applying `op` to `doc` would.
fn check_op(doc: &Node, op: &Op) -> Result<()> {
    match op {
        Op::Set { key, .. } => doc.check_set(&journal::key_path(key)),
        Op::Delete { .. } => Ok(()),
        Op::Append { key, .. } => {
            let key = journal::key_path(key);
            match doc.get(&key) {
                None => doc.check_set(&key),
                Some(Node::Array(_)) => Ok(()),
                Some(_) => Err(StoreError::TypeConflict {
                    key: key.to_string(),
                    reason: "it is already set to a non-array value".into(),
                }),
            }
        }
    }
}

/// Applies every op of a batch, or fails on the first one that cannot be applied.
fn apply_batch(doc: &mut Node, batch: &Batch) -> Result<()> {
    for op in &batch.ops {
        match op {
            Op::Set { key, value } => {
                doc.set(&journal::key_path(key), value.clone())?;
            }
            Op::Delete { key } => {
                doc.delete(&journal::key_path(key));
            }
            Op::Append { key, value } => doc.append(&journal::key_path(key), value.clone())?,
        }
    }
    Ok(())
}

/// The value at `path` as a reader sees it (sealed values opened), for change events. A
/// sealed value that does not open is reported to `onError` and shows as absent.
fn visible(
    secrets: Option<&secrets::Secrets>,
    doc: &Node,
    path: &KeyPath,
    shared: &Shared,
) -> Option<Node> {
    match secrets {
        Some(secrets) if secrets.touches(path) => match secrets.reveal(doc, path) {
            Ok(node) => node,
            Err(err) => {
                shared.report(&err);
                None
            }
        },
        _ => doc.get(path).cloned(),
    }
}

/// A value as JS sees it: the root without conf's `__internal__` bookkeeping.
fn user_json(key: &KeyPath, node: &Node) -> String {
    if let (true, Node::Object(map)) = (key.is_root(), node) {
        if map.contains_key(INTERNAL_KEY) {
            let mut visible = (**map).clone();
            visible.shift_remove(INTERNAL_KEY);
            return Node::Object(Arc::new(visible)).to_json();
        }
    }
    node.to_json()
}

/// The OS configuration directory for `project_name`: `~/.config/<name>` on Linux,
/// `~/Library/Application Support/<name>` on macOS, `%APPDATA%\<name>` on Windows. The
/// name is used as given, as Electron does (`ProjectDirs` would lowercase it).
pub fn default_config_dir(project_name: &str) -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join(project_name))
}

#[cfg(test)]
mod tests;
