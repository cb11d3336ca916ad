//! What a store is opened with ([`EngineOptions`]) and what opening found
//! ([`OpenReport`]).

use crate::document::Node;
use crate::fs::Fs;
use crate::path::KeyPath;
use crate::schema::Schema;
use crate::{file_cipher, history, keys, secrets, snapshot};
use serde::{Deserialize, Serialize};
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
    /// Sync these subtrees with other devices through a folder (see [`crate::sync`]).
    pub sync: Option<crate::sync::SyncOptions>,
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
            sync: None,
        }
    }
}

/// What opening found and did; JS reads it as `store.openReport` (camelCase JSON).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rung {
    /// The previous snapshot the history kept, proven by its recorded hash.
    History,
    /// A migration backup.
    Backup,
}

/// The store's options as the JS shim resolves them, sent as one JSON object (camelCase),
/// and what each means for the engine ([`StoreSettings::engine_options`]). Key bytes
/// travel apart, as bytes ([`SuppliedKeys`]). An unknown field is refused, so the shim
/// and the engine cannot drift apart silently.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreSettings {
    /// Absolute path of the snapshot file.
    pub path: PathBuf,
    /// Permission bits for files the store creates (default 0o600, the umask applies).
    pub file_mode: Option<u32>,
    pub clear_invalid_config: Option<bool>,
    /// The `defaults` option as JSON text of an object whose keys are key paths.
    pub defaults_json: Option<String>,
    /// electron-store's `accessPropertiesByDotNotation` (default true).
    pub access_properties_by_dot_notation: Option<bool>,
    /// Checkpoint after this long without writes (ms). Default 500.
    pub checkpoint_idle_ms: Option<f64>,
    /// The whole JSON Schema (conf's `schema` and `rootSchema` combined) as JSON text.
    pub schema_json: Option<String>,
    /// Stay in the opening transaction for migrations; then `settle()` and `commit()`.
    pub defer_settle: Option<bool>,
    /// Open without the writer's lock; nothing is ever written.
    pub read_only: Option<bool>,
    /// Follow edits other programs make to the file.
    pub watch: Option<bool>,
    /// Keep history (default true) and its limits.
    pub history: Option<bool>,
    pub history_max_entries: Option<f64>,
    pub history_max_age_days: Option<f64>,
    pub history_max_bytes: Option<f64>,
    /// Patterns of sensitive keys, besides the schema's `x-sensitive` ones.
    pub sensitive_keys: Option<Vec<String>>,
    /// The app's key provider could not give a key: its error's code and message (the
    /// store opens without one; see [`keys::KeySource::Missing`]).
    pub keys_unavailable: Option<(String, String)>,
    /// `keyring` (default) or `file` (see [`keys::KeyStoreKind`]).
    pub key_store: Option<String>,
    /// Seal sensitive values the file holds in plaintext at open.
    pub seal_plaintext_secrets: Option<bool>,
    /// electron-store's `encryptionAlgorithm` for `encryptionKey`.
    pub encryption_algorithm: Option<String>,
    /// Sync across devices (see [`SyncSettings`]).
    pub sync: Option<SyncSettings>,
}

/// The `sync` option as the shim sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncSettings {
    /// An absolute path: the folder a sync service replicates.
    pub folder: PathBuf,
    /// Key patterns of the subtrees that sync.
    pub keys: Vec<String>,
    /// This machine's name; the shim defaults it to the host name.
    pub device: String,
    /// How often the folder is looked at besides its watch (ms, default 2000).
    pub scan_interval_ms: Option<f64>,
}

impl SyncSettings {
    fn options(&self) -> crate::error::Result<crate::sync::SyncOptions> {
        let refuse = |option: &str, reason: &str| crate::error::StoreError::InvalidOption {
            option: option.into(),
            reason: reason.into(),
        };
        if !self.folder.is_absolute() {
            return Err(refuse("sync.folder", "must be an absolute path"));
        }
        if self.keys.is_empty() {
            return Err(refuse("sync.keys", "name at least one key to sync"));
        }
        if self.device.trim().is_empty() {
            return Err(refuse("sync.device", "must not be empty"));
        }
        let ms = self.scan_interval_ms.unwrap_or(2000.0);
        if !(10.0..=3_600_000.0).contains(&ms) {
            return Err(refuse(
                "sync.scanIntervalMs",
                "must be between 10 and 3,600,000",
            ));
        }
        Ok(crate::sync::SyncOptions {
            folder: self.folder.clone(),
            keys: self.keys.clone(),
            device: self.device.clone(),
            scan_interval: Duration::from_secs_f64(ms / 1000.0),
        })
    }
}

/// Key bytes the app supplies, kept out of the settings' JSON.
#[derive(Default)]
pub struct SuppliedKeys {
    /// Data keys (32 bytes each; the first seals). Absent: the store keeps its own.
    pub secret_keys: Option<Vec<Vec<u8>>>,
    /// electron-store's `encryptionKey` (whole-file encryption).
    pub encryption_key: Option<Vec<u8>>,
}

impl StoreSettings {
    pub fn from_json(text: &str) -> crate::error::Result<StoreSettings> {
        serde_json::from_str(text).map_err(|e| crate::error::StoreError::InvalidOption {
            option: "options".into(),
            reason: e.to_string(),
        })
    }

    /// Keys address nested properties (`a.b` is `b` inside `a`), electron-store's default.
    pub fn dot_notation(&self) -> bool {
        self.access_properties_by_dot_notation.unwrap_or(true)
    }

    /// The engine's options on `fs`; every refusal is the engine's typed error.
    pub fn engine_options(
        &self,
        fs: Arc<dyn Fs>,
        supplied: SuppliedKeys,
    ) -> crate::error::Result<EngineOptions> {
        let mut engine = EngineOptions::new(&self.path, fs.clone());
        // Private by default: a store can hold secrets (sealed, but still the user's).
        engine.file_mode = self.file_mode.unwrap_or(0o600);
        engine.clear_invalid_config = self.clear_invalid_config.unwrap_or(false);
        engine.defer_settle = self.defer_settle.unwrap_or(false);
        engine.read_only = self.read_only.unwrap_or(false);
        engine.watch = self.watch.unwrap_or(false);
        engine.literal_keys = !self.dot_notation();
        engine.history = history::HistoryPolicy::with_limits(
            self.history.unwrap_or(true),
            self.history_max_entries
                .map(|n| n.clamp(0.0, u32::MAX.into()) as u32),
            self.history_max_age_days,
            self.history_max_bytes,
        );
        if let Some(text) = &self.schema_json {
            engine.schema = Some(Arc::new(Schema::from_json_text(text)?));
        }
        if let Some(ms) = self.checkpoint_idle_ms {
            engine.checkpoint.idle = Duration::from_secs_f64(ms.clamp(0.0, 1e9) / 1000.0);
        }
        if let Some(text) = &self.defaults_json {
            engine.defaults = crate::document::object_entries(text, !self.dot_notation())?;
        }
        engine.sensitive_keys = self
            .sensitive_keys
            .iter()
            .flatten()
            .map(|p| secrets::Pattern::parse(p))
            .collect::<crate::error::Result<_>>()?;
        engine.seal_plaintext = self.seal_plaintext_secrets.unwrap_or(false);
        engine.key_source = keys::KeySource::from_options(
            supplied
                .secret_keys
                .as_ref()
                .map(|keys| keys.iter().map(Vec::as_slice).collect()),
            self.keys_unavailable
                .as_ref()
                .map(|(code, reason)| (code.as_str(), reason.clone())),
            keys::KeyStoreKind::parse(self.key_store.as_deref())?,
            &self.path,
            fs,
        )?;
        if let Some(sync) = &self.sync {
            let refuse = |reason: &str| crate::error::StoreError::InvalidOption {
                option: "sync".into(),
                reason: reason.into(),
            };
            if engine.read_only {
                return Err(refuse("a read-only store cannot sync: it never writes"));
            }
            if supplied.encryption_key.is_some() {
                return Err(refuse(
                    "a store with `encryptionKey` cannot sync: the folder would hold in plaintext what the key encrypts",
                ));
            }
            engine.sync = Some(sync.options()?);
        }
        if let Some(key) = supplied.encryption_key {
            engine.file_cipher = Some(Arc::new(file_cipher::FileCipher::new(
                key,
                self.encryption_algorithm.as_deref(),
            )?));
        }
        Ok(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fs::SimFs;

    fn open(json: &str) -> crate::error::Result<EngineOptions> {
        StoreSettings::from_json(json)?
            .engine_options(Arc::new(SimFs::new()), SuppliedKeys::default())
    }

    #[test]
    fn settings_mean_what_electron_store_means_and_default_as_it_does() {
        let o = open(r#"{"path": "/d/c.json"}"#).unwrap();
        assert_eq!(o.file_mode, 0o600);
        assert!(!o.literal_keys && !o.read_only && !o.watch && o.history.is_some());
        let o = open(
            r#"{"path": "/d/c.json", "accessPropertiesByDotNotation": false, "history": false,
                "defaultsJson": "{\"a.b\": 1}", "checkpointIdleMs": 20, "keyStore": "file"}"#,
        )
        .unwrap();
        assert!(o.literal_keys && o.history.is_none());
        assert_eq!(o.defaults[0].0.len(), 1, "a literal key");
        assert_eq!(o.checkpoint.idle, Duration::from_millis(20));
        assert!(matches!(o.key_source, Some(keys::KeySource::Stored(_))));
    }

    #[test]
    fn unknown_or_malformed_settings_are_invalid_options() {
        for bad in [
            r#"{"path": "/d/c.json", "encryptionKey": "00"}"#,
            r#"{"path": "/d/c.json", "keyStore": "vault"}"#,
            r#"{"path": "/d/c.json", "schemaJson": "{"}"#,
            r#"{"path": "/d/c.json", "sensitiveKeys": ["a[0]"]}"#,
            r#"{"path": 3}"#,
        ] {
            assert_eq!(open(bad).err().unwrap().code(), "INVALID_OPTION", "{bad}");
        }
    }

    #[test]
    fn the_open_report_reads_as_js_expects() {
        let report = OpenReport {
            recovered_from: Some(Rung::History),
            keys_unavailable: Some(("KEY_NOT_FOUND", "gone".into())),
            ..OpenReport::default()
        };
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["recoveredFrom"], "history");
        assert_eq!(
            json["keysUnavailable"],
            serde_json::json!(["KEY_NOT_FOUND", "gone"])
        );
        assert_eq!(json["tornBytes"], 0);
        assert!(json["quarantined"].is_null());
    }
}
