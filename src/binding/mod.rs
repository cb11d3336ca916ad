//! The Node-API binding: converts arguments and errors, and delivers events and
//! completions on the JS thread. No store logic lives here; see `crate::engine`.
//!
//! Values cross as JSON text: the JS shim `JSON.stringify`s (after refusing what JSON
//! would silently change) and `JSON.parse`s what comes back. V8's JSON is faster than
//! building objects through Node-API one property at a time, and `JSON.parse` makes a
//! `__proto__` key an own property, never a prototype.

use crate::engine::crypto::DataKey;
use crate::engine::document::{parse_value, Node};
use crate::engine::error::{Result as EngineResult, StoreError};
use crate::engine::file_cipher::FileCipher;
use crate::engine::history::HistoryPolicy;
use crate::engine::keys::{self, KeySource};
use crate::engine::path::{KeyPath, MAX_DEPTH};
use crate::engine::schema::Schema;
use crate::engine::secrets::Pattern;
use crate::engine::{ChangeEvent, Engine, EngineOptions, HistoryAnswer, HistoryQuery, Receipt};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::JsDeferred;
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

/// One schema violation, as `err.errors[i]`.
#[napi(object)]
#[derive(Clone)]
pub struct ViolationInfo {
    pub key: String,
    pub instance_path: String,
    pub keyword: String,
    pub message: String,
}

/// An error as JS sees it; the shim turns it into an `Error` with these properties.
#[napi(object)]
#[derive(Clone)]
pub struct ErrorInfo {
    pub code: String,
    pub kind: String,
    pub message: String,
    pub key: Option<String>,
    pub file: Option<String>,
    /// For `SCHEMA_VIOLATION`: every violation.
    pub errors: Option<Vec<ViolationInfo>>,
}

impl From<&StoreError> for ErrorInfo {
    fn from(err: &StoreError) -> Self {
        ErrorInfo {
            code: err.code().to_string(),
            kind: err.kind().as_str().to_string(),
            message: err.to_string(),
            key: err.key().map(str::to_string),
            file: err.file().map(|f| f.to_string_lossy().into_owned()),
            errors: match err {
                StoreError::SchemaViolation { violations, .. } => Some(
                    violations
                        .iter()
                        .map(|v| ViolationInfo {
                            key: v.key.clone(),
                            instance_path: v.instance_path.clone(),
                            keyword: v.keyword.clone(),
                            message: v.message.clone(),
                        })
                        .collect(),
                ),
                _ => None,
            },
        }
    }
}

#[napi(object)]
pub struct NativeChange {
    pub watch_id: u32,
    pub seq: f64,
    /// For a key feed: the path that changed, one string per segment (an index as its
    /// digits).
    pub path: Option<Vec<String>>,
    /// JSON text, or undefined when the key is absent.
    pub new_value: Option<String>,
    pub old_value: Option<String>,
}

impl From<ChangeEvent> for NativeChange {
    fn from(e: ChangeEvent) -> Self {
        NativeChange {
            watch_id: e.watch_id as u32,
            seq: e.seq as f64,
            path: e.path.map(|p| p.segment_names()),
            new_value: e.new_json,
            old_value: e.old_json,
        }
    }
}

#[napi(object)]
pub struct NativeOpenReport {
    pub quarantined: Option<String>,
    pub quarantine_reason: Option<String>,
    pub restored_from: Option<String>,
    /// `history` or `backup`, when an unreadable file was restored.
    pub recovered_from: Option<String>,
    pub replayed: u32,
    pub torn_bytes: u32,
    pub stale_temps: u32,
    pub fresh: bool,
    /// Sensitive values sealed at open (they were in plaintext).
    pub sealed: Vec<String>,
    /// No data key could be had: `[code, reason]` (the store opened without one).
    pub keys_unavailable: Option<Vec<String>>,
}

fn data_key(bytes: &[u8]) -> EngineResult<DataKey> {
    keys::key_from_bytes(bytes).ok_or_else(|| StoreError::InvalidOption {
        option: "secretKey".into(),
        reason: format!("a data key is 32 bytes, not {}", bytes.len()),
    })
}

/// The options about secrets: sensitive keys, where their keys come from, and
/// electron-store's whole-file encryption.
fn secrets_options(engine: &mut EngineOptions, options: &NativeOptions) -> EngineResult<()> {
    engine.sensitive_keys = options
        .sensitive_keys
        .iter()
        .flatten()
        .map(|p| Pattern::parse(p))
        .collect::<EngineResult<_>>()?;
    engine.seal_plaintext = options.seal_plaintext_secrets.unwrap_or(false);
    engine.key_source = match (&options.secret_keys, options.key_store.as_deref()) {
        _ if options.keys_unavailable.is_some() => {
            let given = options.keys_unavailable.clone().unwrap_or_default();
            Some(KeySource::Missing {
                code: if given.first().map(String::as_str) == Some("KEY_NOT_FOUND") {
                    "KEY_NOT_FOUND"
                } else {
                    "KEYRING_UNAVAILABLE"
                },
                reason: given.get(1).cloned().unwrap_or_default(),
            })
        }
        (Some(supplied), _) => Some(KeySource::Supplied(
            supplied
                .iter()
                .map(|b| data_key(b))
                .collect::<EngineResult<_>>()?,
        )),
        (None, None | Some("keyring")) => None,
        (None, Some("file")) => Some(KeySource::Stored(Arc::new(keys::KeyFile {
            path: keys::key_file_path(&engine.path),
            fs: engine.fs.clone(),
        }))),
        (None, Some(other)) => {
            return Err(StoreError::InvalidOption {
                option: "keyStore".into(),
                reason: format!("`{other}` is not `keyring` or `file`"),
            })
        }
    };
    if let Some(key) = &options.encryption_key {
        engine.file_cipher = Some(Arc::new(FileCipher::new(
            key.to_vec(),
            options.encryption_algorithm.as_deref(),
        )?));
    }
    Ok(())
}

/// `err` as a JS `Error` carrying `code`, `kind`, `key`, `file` and `errors`.
fn error_object<'env>(env: &'env Env, err: &StoreError) -> Result<Object<'env>> {
    let info = ErrorInfo::from(err);
    let mut obj = env.create_error(Error::new(Status::GenericFailure, info.message.clone()))?;
    obj.set("code", info.code.as_str())?;
    obj.set("kind", info.kind.as_str())?;
    if let Some(key) = &info.key {
        obj.set("key", key.as_str())?;
    }
    if let Some(file) = &info.file {
        obj.set("file", file.as_str())?;
    }
    if let Some(errors) = info.errors {
        obj.set("errors", errors)?;
    }
    Ok(obj)
}

/// Throws `err` as a JS `Error` (see [`error_object`]).
fn throw(env: &Env, err: &StoreError) -> Error {
    match error_object(env, err).and_then(|obj| env.throw(obj)) {
        // The exception is pending; napi-rs must not throw another.
        Ok(()) => Error::new(Status::PendingException, String::new()),
        Err(e) => e,
    }
}

type Resolver = Box<dyn FnOnce(Env) -> Result<Option<String>>>;
type Deferred = JsDeferred<Option<String>, Resolver>;

/// A promise the committer settles: with a value (JSON or snapshot text, or nothing),
/// or rejected with the store's typed error.
fn background_promise(env: &Env) -> Result<(Deferred, Object<'_>)> {
    env.create_deferred::<Option<String>, Resolver>()
}

fn settle(deferred: Deferred, result: EngineResult<Option<String>>) {
    deferred.resolve(Box::new(move |env| match result {
        Ok(value) => Ok(value),
        // Rejected with the very object built here (napi-rs keeps a reference to it).
        Err(e) => Err(Error::from(error_object(&env, &e)?.to_unknown())),
    }));
}

type SerializeFn = ThreadsafeFunction<String, String, String, Status, false, true>;

/// Runs the JS `serialize` on the JS thread for the committer, and waits for its text.
fn serializer(tsfn: SerializeFn) -> crate::engine::snapshot::Serializer {
    Arc::new(move |json: String| {
        let (tx, rx) = std::sync::mpsc::channel();
        let status = tsfn.call_with_return_value(
            json,
            ThreadsafeFunctionCallMode::Blocking,
            move |result: Result<String>, _env| {
                // The receiver is gone only if the committer stopped waiting.
                let _receiver_gone = tx.send(result.map_err(|e| e.reason.clone()));
                Ok(())
            },
        );
        if status != Status::Ok {
            return Err(format!("the JS thread is not available ({status})"));
        }
        rx.recv()
            .map_err(|_| "`serialize` was never called".to_string())?
    })
}

type EventsFn = ThreadsafeFunction<(), Unknown<'static>, (), Status, false, true>;
type ErrorFn = ThreadsafeFunction<ErrorInfo, Unknown<'static>, ErrorInfo, Status, false, true>;

/// One open store file.
#[napi]
pub struct NativeStore {
    engine: Engine,
    dot_notation: bool,
}

#[napi]
impl NativeStore {
    /// `serialize` and `deserialize` are electron-store's options, wrapped by the shim to
    /// take and give JSON text.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options: NativeOptions,
        on_events: Function<(), Unknown<'static>>,
        on_error: Function<ErrorInfo, Unknown<'static>>,
        serialize: Option<Function<String, String>>,
        deserialize: Option<Function<String, String>>,
    ) -> Result<Self> {
        let dot_notation = options.access_properties_by_dot_notation.unwrap_or(true);
        let mut engine_options = EngineOptions::new(&options.path, crate::engine::fs::platform());
        // Private by default: a store can hold secrets (sealed, but still the user's).
        engine_options.file_mode = options.file_mode.unwrap_or(0o600);
        engine_options.clear_invalid_config = options.clear_invalid_config.unwrap_or(false);
        engine_options.defer_settle = options.defer_settle.unwrap_or(false);
        engine_options.read_only = options.read_only.unwrap_or(false);
        engine_options.watch = options.watch.unwrap_or(false);
        engine_options.literal_keys = !dot_notation;
        engine_options.history = options.history.unwrap_or(true).then(|| {
            let defaults = HistoryPolicy::default();
            HistoryPolicy {
                max_entries: options
                    .history_max_entries
                    .map_or(defaults.max_entries, |n| n as usize),
                max_age: options.history_max_age_days.map_or(defaults.max_age, |d| {
                    std::time::Duration::from_secs_f64(d.max(0.0) * 86_400.0)
                }),
                max_bytes: options
                    .history_max_bytes
                    .map_or(defaults.max_bytes, |b| b.max(0.0) as u64),
            }
        });
        if let Some(text) = &options.schema_json {
            let root: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                let err = StoreError::InvalidOption {
                    option: "schema".into(),
                    reason: e.to_string(),
                };
                throw(&env, &err)
            })?;
            let schema = Schema::compile(root).map_err(|e| throw(&env, &e))?;
            engine_options.schema = Some(Arc::new(schema));
        }
        secrets_options(&mut engine_options, &options).map_err(|e| throw(&env, &e))?;
        if let Some(ms) = options.checkpoint_idle_ms {
            engine_options.checkpoint.idle = std::time::Duration::from_millis(ms.into());
        }
        if let Some(text) = &options.defaults_json {
            engine_options.defaults =
                object_entries(text, dot_notation).map_err(|e| throw(&env, &e))?;
        }
        if let Some(serialize) = serialize {
            let tsfn = serialize
                .build_threadsafe_function()
                .weak::<true>()
                .callee_handled::<false>()
                .build()?;
            engine_options.serialize = Some(serializer(tsfn));
        }
        let engine = match deserialize {
            None => Engine::open(engine_options),
            Some(deserialize) => {
                let mut call = |text: String| deserialize.call(text).map_err(|e| e.reason.clone());
                Engine::open_with(engine_options, Some(&mut call))
            }
        }
        .map_err(|e| throw(&env, &e))?;

        let errors: ErrorFn = on_error
            .build_threadsafe_function()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        // Changes made on the JS thread are delivered by the shim right after the call;
        // those found elsewhere (the file watch) wake it through this (weak) function.
        let from_watch: EventsFn = on_events
            .build_threadsafe_function()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        engine.set_notifier(Some(Arc::new(move || {
            let status = from_watch.call((), ThreadsafeFunctionCallMode::NonBlocking);
            if status != Status::Ok {
                eprintln!("tad-store: could not deliver an external change ({status})");
            }
        })));
        engine.set_error_listener(Some(Arc::new(move |err: &StoreError| {
            let status = errors.call(
                ErrorInfo::from(err),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
            if status != Status::Ok {
                // Node is tearing the environment down: stderr is all that is left.
                eprintln!("tad-store: {err} (could not reach onError: {status})");
            }
        })));
        Ok(NativeStore {
            engine,
            dot_notation,
        })
    }

    /// Throws `err`, counting it for `stats()`.
    fn fail(&self, env: &Env, err: &StoreError) -> Error {
        self.engine.note_error(err.code());
        throw(env, err)
    }

    fn key(&self, env: &Env, key: &str) -> Result<KeyPath> {
        let parsed = if self.dot_notation {
            KeyPath::parse(key)
        } else {
            KeyPath::literal(key)
        };
        parsed.map_err(|e| self.fail(env, &e))
    }

    /// Converts a mutation's outcome: throws its error, or returns its sequence number.
    /// The shim calls `takeEvents` right after a write, on the JS thread, so change
    /// callbacks run inside the call as electron-store's do; nothing is scheduled here.
    fn finish_write(&mut self, env: &Env, result: EngineResult<Receipt>) -> Result<f64> {
        let receipt = result.map_err(|e| self.fail(env, &e))?;
        Ok(receipt.seq as f64)
    }

    /// The value at `key` as JSON text, or undefined.
    #[napi]
    pub fn get(&self, env: Env, key: String) -> Result<Option<String>> {
        self.engine
            .get_json(&self.key(&env, &key)?)
            .map_err(|e| self.fail(&env, &e))
    }

    #[napi]
    pub fn has(&self, env: Env, key: String) -> Result<bool> {
        self.engine
            .has(&self.key(&env, &key)?)
            .map_err(|e| self.fail(&env, &e))
    }

    /// Sets `key` to the value in `json`. Returns the change's sequence number.
    #[napi]
    pub fn set(&mut self, env: Env, key: String, json: String) -> Result<f64> {
        let path = self.key(&env, &key)?;
        let value = parse_value(&path, &json).map_err(|e| self.fail(&env, &e))?;
        let result = self.engine.set(&path, value);
        self.finish_write(&env, result)
    }

    /// Sets every key of the object in `json` as one change.
    #[napi]
    pub fn set_many(&mut self, env: Env, json: String) -> Result<f64> {
        let entries = object_entries(&json, self.dot_notation).map_err(|e| self.fail(&env, &e))?;
        let result = self.engine.set_many(entries);
        self.finish_write(&env, result)
    }

    #[napi]
    pub fn append_to_array(&mut self, env: Env, key: String, json: String) -> Result<f64> {
        let path = self.key(&env, &key)?;
        let value = parse_value(&path, &json).map_err(|e| self.fail(&env, &e))?;
        let result = self.engine.append(&path, value);
        self.finish_write(&env, result)
    }

    #[napi]
    pub fn delete(&mut self, env: Env, key: String) -> Result<f64> {
        let path = self.key(&env, &key)?;
        let result = self.engine.delete(&path);
        self.finish_write(&env, result)
    }

    #[napi]
    pub fn reset(&mut self, env: Env, keys: Vec<String>) -> Result<f64> {
        let paths = keys
            .iter()
            .map(|k| self.key(&env, k))
            .collect::<Result<Vec<_>>>()?;
        let result = self.engine.reset(&paths);
        self.finish_write(&env, result)
    }

    #[napi]
    pub fn clear(&mut self, env: Env) -> Result<f64> {
        let result = self.engine.clear();
        self.finish_write(&env, result)
    }

    /// Replaces the whole store with the object in `json`.
    #[napi]
    pub fn replace(&mut self, env: Env, json: String) -> Result<f64> {
        let value = parse_value(&KeyPath::root(), &json).map_err(|e| self.fail(&env, &e))?;
        let result = self.engine.replace(value);
        self.finish_write(&env, result)
    }

    /// The whole store as JSON text.
    #[napi]
    pub fn store_json(&self, env: Env) -> Result<String> {
        self.engine.store_json().map_err(|e| self.fail(&env, &e))
    }

    #[napi(getter)]
    pub fn size(&self, env: Env) -> Result<u32> {
        self.engine
            .size()
            .map(|n| n as u32)
            .map_err(|e| self.fail(&env, &e))
    }

    #[napi(getter)]
    pub fn seq(&self) -> f64 {
        self.engine.seq() as f64
    }

    #[napi(getter)]
    pub fn open_report(&self) -> NativeOpenReport {
        let r = self.engine.report();
        NativeOpenReport {
            quarantined: r
                .quarantined
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            quarantine_reason: r.quarantine_reason.clone(),
            restored_from: r
                .restored_from
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            recovered_from: r.recovered_from.map(str::to_string),
            replayed: r.replayed as u32,
            torn_bytes: r.torn_bytes as u32,
            stale_temps: r.stale_temps as u32,
            fresh: r.fresh,
            sealed: r.sealed.clone(),
            keys_unavailable: r
                .keys_unavailable
                .as_ref()
                .map(|(code, reason)| vec![code.to_string(), reason.clone()]),
        }
    }

    /// Starts reporting changes to `key` (undefined: the whole store). Returns an id.
    #[napi]
    pub fn watch(&self, env: Env, key: Option<String>) -> Result<u32> {
        let path = match key {
            Some(k) => self.key(&env, &k)?,
            None => KeyPath::root(),
        };
        Ok(self.engine.watch(path) as u32)
    }

    /// Starts a key feed (the paths every change touched, with their values now).
    /// Returns an id, stopped by `unwatch`.
    #[napi]
    pub fn follow(&self) -> u32 {
        self.engine.follow() as u32
    }

    /// Starts following other programs' edits to the file, if not already (an instance
    /// with `watch: true` joining an engine opened without it).
    #[napi]
    pub fn watch_file(&mut self, env: Env) -> Result<()> {
        self.engine.watch_file().map_err(|e| throw(&env, &e))
    }

    #[napi]
    pub fn unwatch(&self, id: u32) {
        self.engine.unwatch(id.into());
    }

    /// The changes since the last call.
    #[napi]
    pub fn take_events(&self) -> Vec<NativeChange> {
        self.engine
            .take_events()
            .into_iter()
            .map(NativeChange::from)
            .collect()
    }

    /// Resolves once every change so far is durable; rejects with the store's error.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn flush<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = background_promise(env)?;
        self.engine.flush(Box::new(move |result| {
            settle(deferred, result.map(|()| None))
        }));
        Ok(promise)
    }

    /// Resolves once the file itself holds every change so far; rejects with the error.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn write_file<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = background_promise(env)?;
        self.engine.write_file(Box::new(move |result| {
            settle(deferred, result.map(|()| None))
        }));
        Ok(promise)
    }

    /// What the store has been doing, as JSON text (see `engine::stats::Report`).
    #[napi]
    pub fn stats(&self, env: Env) -> Result<String> {
        let report = self.engine.stats().map_err(|e| self.fail(&env, &e))?;
        serde_json::to_string(&report).map_err(|e| Error::from_reason(e.to_string()))
    }

    /// Counts an error the JS shim refused before calling in.
    #[napi]
    pub fn note_error(&self, code: String) {
        self.engine.note_error(&code);
    }

    /// Re-encrypts every sensitive value under a new data key: `new_key` (32 bytes) when
    /// the app supplies its keys, else one generated and kept in the key store. Resolves
    /// once the old key is no longer needed.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn rotate_key<'env>(
        &self,
        env: &'env Env,
        new_key: Option<Buffer>,
    ) -> Result<Object<'env>> {
        let key = match new_key {
            Some(bytes) => Some(data_key(&bytes).map_err(|e| self.fail(env, &e))?),
            None => None,
        };
        let (deferred, promise) = background_promise(env)?;
        self.engine.rotate_key(
            key,
            Box::new(move |result| settle(deferred, result.map(|()| None))),
        );
        Ok(promise)
    }

    /// The sensitive-key patterns in force (the option's and the schema's).
    #[napi(getter)]
    pub fn sensitive_keys(&self) -> Vec<String> {
        self.engine.sensitive_keys()
    }

    /// The sensitive-key patterns as data for the renderer bridge: one array of segments
    /// each, `null` for `*`.
    #[napi(getter)]
    pub fn sensitive_patterns(&self) -> Vec<Vec<Option<String>>> {
        self.engine.sensitive_pattern_segments()
    }

    /// Stops whole-file encryption; the next checkpoint writes JSON.
    #[napi]
    pub fn drop_file_cipher(&self) {
        self.engine.drop_file_cipher();
    }

    /// Commits everything, writes a final snapshot and stops; resolves like `flush`.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = background_promise(env)?;
        self.engine.close(Box::new(move |result| {
            settle(deferred, result.map(|()| None))
        }));
        Ok(promise)
    }

    /// Fills defaults and validates the whole document (after migrations). With
    /// `allowClear`, `clearInvalidConfig` may move an invalid file aside.
    #[napi]
    pub fn settle(&mut self, env: Env, allow_clear: bool) -> Result<()> {
        self.engine
            .settle(allow_clear)
            .map_err(|e| self.fail(&env, &e))
    }

    /// Starts a transaction; `validate` false defers validation to `settle` (migrations).
    #[napi]
    pub fn begin(&self, env: Env, validate: bool) -> Result<()> {
        self.engine.begin(validate).map_err(|e| self.fail(&env, &e))
    }

    #[napi]
    pub fn commit(&self) {
        self.engine.commit();
    }

    #[napi]
    pub fn rollback(&self) {
        self.engine.rollback();
    }

    /// Stops without writing anything: the constructor failed after opening.
    #[napi]
    pub fn abandon(&mut self) {
        self.engine.abandon();
    }

    /// Writes the whole document to `backups/<fileName>` beside the store, durably.
    #[napi]
    pub fn write_backup(&self, env: Env, file_name: String) -> Result<String> {
        self.engine
            .write_backup(&file_name)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| self.fail(&env, &e))
    }

    /// Writes conf's migration bookkeeping (`__internal__.migrations.*`).
    #[napi]
    pub fn set_internal(&mut self, env: Env, key: String, json: String) -> Result<f64> {
        let path = KeyPath::parse(&key).map_err(|e| self.fail(&env, &e))?;
        let value = parse_value(&path, &json).map_err(|e| self.fail(&env, &e))?;
        let result = self.engine.set_internal(&path, value);
        self.finish_write(&env, result)
    }

    /// Every recorded state as JSON: `[{timestamp, size, hash, kind}]`, newest first.
    #[napi]
    pub fn list_history(&self, env: Env) -> Result<String> {
        let entries = self
            .engine
            .list_history()
            .map_err(|e| self.fail(&env, &e))?;
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| serde_json::json!({ "timestamp": e.timestamp, "size": e.size, "hash": e.hash, "kind": e.kind.as_str() }))
            .collect();
        Ok(serde_json::Value::Array(list).to_string())
    }

    /// Resolves with the snapshot text recorded at `timestamp` (after recording the
    /// current state), rebuilt and checked on the committer thread.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn state_at<'env>(&self, env: &'env Env, timestamp: String) -> Result<Object<'env>> {
        let (deferred, promise) = background_promise(env)?;
        self.engine.request_history(
            HistoryQuery::StateAt(timestamp),
            Box::new(move |answer| {
                let text = answer.and_then(|a| match a {
                    HistoryAnswer::State(bytes) => {
                        String::from_utf8(bytes)
                            .map(Some)
                            .map_err(|_| StoreError::HistoryCorrupt {
                                file: "storeHistory".into(),
                                reason: "the rebuilt state is not text".into(),
                            })
                    }
                    HistoryAnswer::Report(_) => Ok(None),
                });
                settle(deferred, text)
            }),
        );
        Ok(promise)
    }

    /// Resolves with a report of the whole chain as JSON.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn verify_history<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = background_promise(env)?;
        self.engine.request_history(
            HistoryQuery::Verify,
            Box::new(move |answer| {
                let json = answer.map(|a| match a {
                    HistoryAnswer::Report(r) => Some(
                        serde_json::json!({
                            "ok": r.broken_at.is_none(),
                            "entries": r.entries,
                            "verified": r.verified,
                            "brokenAt": r.broken_at,
                            "reason": r.reason,
                        })
                        .to_string(),
                    ),
                    HistoryAnswer::State(_) => None,
                });
                settle(deferred, json)
            }),
        );
        Ok(promise)
    }

    /// Replaces the whole document (bookkeeping included) with the JSON text: a rollback.
    #[napi]
    pub fn restore(&mut self, env: Env, json: String) -> Result<f64> {
        let value = parse_value(&KeyPath::root(), &json).map_err(|e| self.fail(&env, &e))?;
        let result = self.engine.restore(value);
        self.finish_write(&env, result)
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.engine.is_closed()
    }
}

/// The entries of a JSON object whose keys are key paths (`set(object)`, `defaults`).
fn object_entries(json: &str, dot_notation: bool) -> EngineResult<Vec<(KeyPath, Node)>> {
    let node = parse_value(&KeyPath::root(), json)?;
    let Some(map) = node.as_object() else {
        return Err(StoreError::invalid_value(
            "",
            "expected an object of keys and values",
        ));
    };
    map.iter()
        .map(|(k, v)| {
            let path = if dot_notation {
                KeyPath::parse(k)?
            } else {
                KeyPath::literal(k)?
            };
            if path.len() + v.depth() > MAX_DEPTH {
                return Err(StoreError::invalid_value(
                    k,
                    format!("it is nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            Ok((path, v.clone()))
        })
        .collect()
}

/// The default directory for a project's stores (see `engine::default_config_dir`).
#[napi]
pub fn default_config_dir(project_name: String) -> Result<String> {
    crate::engine::default_config_dir(&project_name)
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::new(
                Status::GenericFailure,
                "no home directory to find the OS config directory in",
            )
        })
}

/// What one history entry costs, for `npm run bench`.
#[napi(object)]
pub struct HistoryEntryCost {
    pub diff_micros: f64,
    pub apply_micros: f64,
    pub bytes: u32,
}

/// Builds the history entry turning `newer` back into `older` and applies it, timing
/// both (the work the committer does per snapshot, and per step of a rollback).
#[napi]
pub fn measure_history_entry(env: Env, newer: Buffer, older: Buffer) -> Result<HistoryEntryCost> {
    use crate::engine::history;
    let started = std::time::Instant::now();
    let entry = history::encode(0, &newer, &older).map_err(|e| throw(&env, &e))?;
    let diff_micros = started.elapsed().as_secs_f64() * 1e6;
    let started = std::time::Instant::now();
    let rebuilt = history::apply(std::path::Path::new("bench"), &entry, &newer)
        .map_err(|e| throw(&env, &e))?;
    let apply_micros = started.elapsed().as_secs_f64() * 1e6;
    if rebuilt[..] != older[..] {
        return Err(Error::new(
            Status::GenericFailure,
            "the entry did not rebuild the older state",
        ));
    }
    Ok(HistoryEntryCost {
        diff_micros,
        apply_micros,
        bytes: entry.len() as u32,
    })
}
