//! The options the JS shim resolves, as one object, turned into the engine's. What each
//! means is decided in the core (`HistoryPolicy::with_limits`, `Schema::from_json_text`,
//! `KeySource::from_options`, `object_entries`); this only copies fields across.

use crate::engine::document::object_entries;
use crate::engine::error::Result as EngineResult;
use crate::engine::file_cipher::FileCipher;
use crate::engine::history::HistoryPolicy;
use crate::engine::keys::{KeySource, KeyStoreKind};
use crate::engine::schema::Schema;
use crate::engine::secrets::Pattern;
use crate::engine::EngineOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

/// Options the JS shim resolves before opening a store.
#[napi(object)]
pub struct NativeOptions {
    /// Absolute path of the snapshot file.
    pub path: String,
    /// Permission bits for files the store creates.
    pub file_mode: Option<u32>,
    pub clear_invalid_config: Option<bool>,
    /// The `defaults` option as JSON text of an object.
    pub defaults_json: Option<String>,
    /// electron-store's `accessPropertiesByDotNotation` (default true).
    pub access_properties_by_dot_notation: Option<bool>,
    /// Checkpoint after this long without writes (ms). Default 500.
    pub checkpoint_idle_ms: Option<u32>,
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
    pub history_max_entries: Option<u32>,
    pub history_max_age_days: Option<f64>,
    pub history_max_bytes: Option<f64>,
    /// Patterns of sensitive keys, besides the schema's `x-sensitive` ones.
    pub sensitive_keys: Option<Vec<String>>,
    /// Data keys the app supplies (32 bytes each; the first seals). Absent: the keys
    /// are kept by `key_store`.
    pub secret_keys: Option<Vec<Buffer>>,
    /// The app's key provider could not give a key: its error's code and message (the
    /// store opens without one; see `KeySource::Missing`).
    pub keys_unavailable: Option<Vec<String>>,
    /// `keyring` (default) or `file` (opt-in key file beside the store).
    pub key_store: Option<String>,
    /// Seal sensitive values the file holds in plaintext at open.
    pub seal_plaintext_secrets: Option<bool>,
    /// electron-store's `encryptionKey` (whole-file encryption) and its algorithm.
    pub encryption_key: Option<Buffer>,
    pub encryption_algorithm: Option<String>,
}

impl NativeOptions {
    /// Keys address nested properties (`a.b` is `b` inside `a`), electron-store's default.
    pub(super) fn dot_notation(&self) -> bool {
        self.access_properties_by_dot_notation.unwrap_or(true)
    }

    /// The engine's options; every refusal is the engine's typed error.
    pub(super) fn to_engine(&self) -> EngineResult<EngineOptions> {
        let fs = crate::engine::fs::platform();
        let mut engine = EngineOptions::new(&self.path, fs.clone());
        // Private by default: a store can hold secrets (sealed, but still the user's).
        engine.file_mode = self.file_mode.unwrap_or(0o600);
        engine.clear_invalid_config = self.clear_invalid_config.unwrap_or(false);
        engine.defer_settle = self.defer_settle.unwrap_or(false);
        engine.read_only = self.read_only.unwrap_or(false);
        engine.watch = self.watch.unwrap_or(false);
        engine.literal_keys = !self.dot_notation();
        engine.history = HistoryPolicy::with_limits(
            self.history.unwrap_or(true),
            self.history_max_entries,
            self.history_max_age_days,
            self.history_max_bytes,
        );
        if let Some(text) = &self.schema_json {
            engine.schema = Some(Arc::new(Schema::from_json_text(text)?));
        }
        if let Some(ms) = self.checkpoint_idle_ms {
            engine.checkpoint.idle = std::time::Duration::from_millis(ms.into());
        }
        if let Some(text) = &self.defaults_json {
            engine.defaults = object_entries(text, !self.dot_notation())?;
        }
        engine.sensitive_keys = self
            .sensitive_keys
            .iter()
            .flatten()
            .map(|p| Pattern::parse(p))
            .collect::<EngineResult<_>>()?;
        engine.seal_plaintext = self.seal_plaintext_secrets.unwrap_or(false);
        let unavailable = self.keys_unavailable.as_ref().map(|given| {
            let code = given.first().map(String::as_str).unwrap_or_default();
            (code, given.get(1).cloned().unwrap_or_default())
        });
        engine.key_source = KeySource::from_options(
            self.secret_keys
                .as_ref()
                .map(|keys| keys.iter().map(|b| &b[..]).collect()),
            unavailable,
            KeyStoreKind::parse(self.key_store.as_deref())?,
            &engine.path,
            fs,
        )?;
        if let Some(key) = &self.encryption_key {
            engine.file_cipher = Some(Arc::new(FileCipher::new(
                key.to_vec(),
                self.encryption_algorithm.as_deref(),
            )?));
        }
        Ok(engine)
    }
}
