//! Opening a store, in phases: take the writer's lock and clear stale temporary files;
//! load the snapshot (or recover it, see [`super::recovery`]); replay the journal; find
//! the data keys; start the committer; then settle (defaults, validation) and finish an
//! interrupted key rotation.

use super::changes::refuse_internal;
use super::committer::Committer;
use super::recovery;
use super::sealing::open_secrets;
use super::state::*;
use super::sync::Syncer;
use crate::defaults::Defaults;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::fs::{self, Fs};
use crate::journal::SnapshotId;
use crate::options::{EngineOptions, OpenReport};
use crate::snapshot;
use crate::store_files::StoreFiles;
use crate::{history, keys, lock, pool, secrets, stats};
use std::path::Path;
use std::sync::{Arc, Mutex};

impl Engine {
    /// Opens the store: loads the snapshot, replays the journal over it, fills in
    /// defaults, and starts the committer.
    pub fn open(options: EngineOptions) -> Result<Engine> {
        Engine::open_with(options, None)
    }

    /// [`Engine::open`], reading the file with electron-store's `deserialize`.
    ///
    /// The phases, in order: [`take_the_directory`] (the writer's lock, stale temporary
    /// files), [`recovery::Ladder::load_or_recover`] (the snapshot),
    /// [`recovery::Ladder::replay_journal`], [`open_secrets`] (the data keys),
    /// [`Engine::start`] (the committer), then [`Engine::settle_opened`] (defaults,
    /// validation, a rotation to finish) and the watch. Before `start`, the only writes
    /// are recovery's, which stand whatever happens next (a bad file moved aside, a torn
    /// journal tail cut); a store that fails to seal or settle is abandoned without writing.
    pub fn open_with(
        options: EngineOptions,
        deserialize: Option<snapshot::Deserializer<'_>>,
    ) -> Result<Engine> {
        // Every fsync the engine makes is timed for `stats()`.
        let stats = Arc::new(stats::Stats::default());
        let fs: Arc<dyn Fs> = Arc::new(stats::TimedFs::new(options.fs.clone(), stats.clone()));
        let (lock, stale_temps) = take_the_directory(&*fs, &options.path, options.read_only)?;
        let mut report = OpenReport {
            stale_temps,
            ..OpenReport::default()
        };
        let ladder = recovery::Ladder {
            fs: &*fs,
            path: &options.path,
            cipher: options.file_cipher.as_deref(),
            read_only: options.read_only,
            clear_invalid_config: options.clear_invalid_config,
        };
        let (mut doc, snapshot_id) = ladder.load_or_recover(deserialize, &stats, &mut report)?;
        let journal_len = ladder.replay_journal(snapshot_id, &mut doc, &mut report)?;
        stats.set_journal_bytes(journal_len);
        let (secrets, new_store_id, key_store) = open_secrets(&options, &doc)?;
        report.keys_unavailable = secrets
            .as_ref()
            .and_then(|s| s.missing())
            .map(|(code, reason)| (code, reason.to_string()));
        let loaded = Loaded {
            doc,
            snapshot_id,
            journal_len,
            secrets,
            lock,
            stats,
            fs,
            report,
            key_store,
        };
        let (defer_settle, seal_plaintext, watch) =
            (options.defer_settle, options.seal_plaintext, options.watch);
        let mut engine = Engine::start(options, loaded)?;
        if let Err(err) = engine.prepare_secrets(new_store_id, seal_plaintext) {
            engine.abandon();
            return Err(err);
        }
        if !defer_settle {
            engine.settle_opened()?;
        }
        if watch {
            engine.watch_file()?;
        }
        Ok(engine)
    }

    /// The last phase of opening (or of a migration run after it): defaults filled and
    /// the whole document validated ([`Engine::settle`]), the opening transaction handed
    /// to the committer, and a key rotation a crash interrupted finished.
    fn settle_opened(&mut self) -> Result<()> {
        if let Err(err) = self.settle(true) {
            self.abandon();
            return Err(err);
        }
        self.commit();
        self.finish_rotation()
    }

    /// Builds the shared state around what was loaded and starts the committer. The
    /// document is held in the opening transaction until it settles.
    fn start(options: EngineOptions, loaded: Loaded) -> Result<Engine> {
        let snapshot_id = loaded.snapshot_id;
        for (key, _) in &options.defaults {
            refuse_internal(key)?;
        }
        let defaults = Arc::new(Defaults::new(options.defaults, options.schema.clone())?);
        let read_only = options.read_only;
        let path = options.path;
        let cipher = options.file_cipher;
        let opened = Transaction {
            doc: loaded.doc.clone(),
            seq: 0,
            pending_len: 0,
            validate: false,
        };
        let last_history_millis = match options.history {
            Some(_) if !read_only => history::reconcile(&*loaded.fs, &path, snapshot_id)?,
            _ => 0,
        };
        let sync = match options.sync {
            Some(sync) if !read_only => {
                let mut sensitive = options.sensitive_keys.clone();
                if let Some(schema) = &options.schema {
                    sensitive.extend(schema.sensitive_patterns());
                }
                Some(Syncer::open(loaded.fs.clone(), &path, sync, sensitive)?)
            }
            _ => None,
        };
        let mut state = State::opened(loaded.doc, opened, loaded.secrets);
        state.sync_touched = sync.as_ref().map(|_| Vec::new());
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            committer: std::sync::OnceLock::new(),
            journal_path: StoreFiles::of(&path).journal(),
            path,
            fs: loaded.fs,
            file_mode: options.file_mode,
            policy: options.checkpoint,
            serialize: options.serialize,
            // A whole-file encrypted store keeps no history: its entries would be
            // whole ciphertexts, and a diff of plaintexts would leak them.
            history: options.history.filter(|_| cipher.is_none()),
            file_cipher: Mutex::new(cipher),
            read_only,
            lock: Mutex::new(loaded.lock),
            known_file: Mutex::new(snapshot_id),
            external_edits: Mutex::new(()),
            notifier: Mutex::new(None),
            on_error: Mutex::new(None),
            stats: loaded.stats,
            sync_status: Mutex::new(None),
        });
        let committer = Committer {
            shared: shared.clone(),
            journal: None,
            // A reader never writes: it has no journal to extend or fold.
            journal_len: if read_only { 0 } else { loaded.journal_len },
            base: snapshot_id,
            needs_checkpoint: loaded.report.quarantined.is_some(),
            backoff: None,
            last_history_millis,
            schema: options.schema.clone(),
            defaults: defaults.clone(),
            sync,
        };
        let handle = pool::spawn(Box::new(committer));
        let _set_once_here = shared.committer.set(Arc::downgrade(&handle));
        Ok(Engine {
            shared,
            committer: Some(handle),
            file_watch: Mutex::new(None),
            defaults,
            schema: options.schema,
            clear_invalid_config: options.clear_invalid_config,
            literal_keys: options.literal_keys,
            report: loaded.report,
            key_store: loaded.key_store,
        })
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
}

/// What the phases before [`Engine::start`] found.
struct Loaded {
    doc: Node,
    snapshot_id: SnapshotId,
    journal_len: u64,
    secrets: Option<secrets::Secrets>,
    lock: Option<Box<dyn fs::FsLock>>,
    stats: Arc<stats::Stats>,
    fs: Arc<dyn Fs>,
    report: OpenReport,
    key_store: Option<Arc<dyn keys::KeyStore>>,
}

/// The first phase: the store's directory exists, this process holds the writer's lock,
/// and temporary files a crash left are gone. A reader does none of it (it writes
/// nothing). Returns the lock and how many temporary files were removed.
fn take_the_directory(
    fs: &dyn Fs,
    path: &Path,
    read_only: bool,
) -> Result<(Option<Box<dyn fs::FsLock>>, usize)> {
    if read_only {
        return Ok((None, 0));
    }
    let dir = StoreFiles::of(path).dir();
    fs.create_dir_all(&dir)
        .map_err(|e| StoreError::io("create directory", &dir, &e))?;
    // The writer's lock comes first: everything after assumes no one else writes.
    let lock = lock::acquire(fs, path)?;
    let stale = snapshot::remove_stale_temps(fs, path)?;
    Ok((Some(lock), stale))
}
