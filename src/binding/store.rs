//! `NativeStore`: one open store file. Each method converts its arguments, calls the
//! engine and converts the outcome; change events cross as JSON text.

use super::errors::{background_promise, settle, throw, ErrorInfo};
use super::options::{engine_options, NativeKeys};
use crate::engine::document::{object_entries, parse_value};
use crate::engine::error::{Result as EngineResult, StoreError};
use crate::engine::keys::supplied_key;
use crate::engine::path::KeyPath;
use crate::engine::{ChangeEvent, Engine, Receipt};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::Arc;

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
    pub(super) engine: Engine,
    dot_notation: bool,
}

#[napi]
impl NativeStore {
    /// `serialize` and `deserialize` are electron-store's options, wrapped by the shim to
    /// take and give JSON text.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        settings_json: String,
        keys: NativeKeys,
        on_events: Function<(), Unknown<'static>>,
        on_error: Function<ErrorInfo, Unknown<'static>>,
        serialize: Option<Function<String, String>>,
        deserialize: Option<Function<String, String>>,
    ) -> Result<Self> {
        let (mut engine_options, dot_notation) =
            engine_options(&settings_json, keys).map_err(|e| throw(&env, &e))?;
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
    pub(super) fn fail(&self, env: &Env, err: &StoreError) -> Error {
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
    pub(super) fn finish_write(&mut self, env: &Env, result: EngineResult<Receipt>) -> Result<f64> {
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
        let entries = object_entries(&json, !self.dot_notation).map_err(|e| self.fail(&env, &e))?;
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

    /// What opening found and did, as JSON (see the core's `OpenReport`).
    #[napi(getter)]
    pub fn open_report_json(&self) -> Result<String> {
        serde_json::to_string(self.engine.report()).map_err(|e| Error::from_reason(e.to_string()))
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
            Some(bytes) => Some(supplied_key(&bytes).map_err(|e| self.fail(env, &e))?),
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

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.engine.is_closed()
    }
}
