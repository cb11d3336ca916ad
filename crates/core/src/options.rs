//! What a store is opened with ([`EngineOptions`]) and what opening found
//! ([`OpenReport`]).

use crate::document::Node;
use crate::fs::Fs;
use crate::path::KeyPath;
use crate::schema::Schema;
use crate::{file_cipher, history, keys, secrets, snapshot};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// Which rung of the recovery ladder that file was.
    pub recovered_from: Option<Rung>,
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

/// The OS configuration directory for `project_name`: `~/.config/<name>` on Linux,
/// `~/Library/Application Support/<name>` on macOS, `%APPDATA%\<name>` on Windows. The
/// name is used as given, as Electron does (`ProjectDirs` would lowercase it).
pub fn default_config_dir(project_name: &str) -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join(project_name))
}

/// A rung of the recovery ladder that held a good state (see `engine::recovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    /// The previous snapshot the history kept, proven by its recorded hash.
    History,
    /// A migration backup.
    Backup,
}

impl Rung {
    /// The name JS sees (`openReport.recoveredFrom`).
    pub fn name(self) -> &'static str {
        match self {
            Rung::History => "history",
            Rung::Backup => "backup",
        }
    }
}
