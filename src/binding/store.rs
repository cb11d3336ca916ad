//! `NativeStore`: one open store file. Each method hands its strings to the engine's
//! text view (`Engine::text`: keys as the app writes them, values as JSON text) or the
//! engine itself, and converts the outcome: an error thrown, a sequence number, a
//! promise.

use super::errors::{promise, throw};
use super::key::KeyArg;
use super::options::{engine_options, NativeKeys};
use crate::engine::error::{Result as EngineResult, StoreError};
use crate::engine::keys::supplied_key;
use crate::engine::{Engine, Read};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::Arc;

/// A JS function callable from any thread that does not keep Node alive.
type WeakFn<T, R> = ThreadsafeFunction<T, R, T, Status, false, true>;

fn weak<T: 'static + JsValuesTupleIntoVec, R: 'static + FromNapiValue>(
    f: Function<T, R>,
) -> Result<WeakFn<T, R>> {
    f.build_threadsafe_function()
        .weak::<true>()
        .callee_handled::<false>()
        .build()
}

/// Runs the JS `serialize` on the JS thread for the committer, and waits for its text.
fn serializer(tsfn: WeakFn<String, String>) -> crate::engine::snapshot::Serializer {
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

/// One open store file.
#[napi]
pub struct NativeStore {
    engine: Engine,
}

#[napi]
impl NativeStore {
    /// `settingsJson` is the options object (see the core's `StoreSettings`).
    /// `serialize` and `deserialize` are electron-store's options, wrapped by the shim to
    /// take and give JSON text.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        settings_json: String,
        keys: NativeKeys,
        on_events: Function<(), Unknown<'static>>,
        #[napi(
            ts_arg_type = "(error: { message: string, code: string, kind: string, key?: string, file?: string, errors?: object[] }) => unknown"
        )]
        on_error: Function<serde_json::Value, Unknown<'static>>,
        serialize: Option<Function<String, String>>,
        deserialize: Option<Function<String, String>>,
    ) -> Result<Self> {
        let mut options = engine_options(&settings_json, keys).map_err(|e| throw(&env, &e))?;
        if let Some(serialize) = serialize {
            options.serialize = Some(serializer(weak(serialize)?));
        }
        let engine = match deserialize {
            None => Engine::open(options),
            Some(deserialize) => {
                let mut call = |text: String| deserialize.call(text).map_err(|e| e.reason.clone());
                Engine::open_with(options, Some(&mut call))
            }
        }
        .map_err(|e| throw(&env, &e))?;

        // Changes made on the JS thread are delivered by the shim right after the call;
        // those found elsewhere (the file watch) wake it through this function.
        let from_watch = weak(on_events)?;
        engine.set_notifier(Some(Arc::new(move || {
            let status = from_watch.call((), ThreadsafeFunctionCallMode::NonBlocking);
            if status != Status::Ok {
                eprintln!("tad-store: could not deliver an external change ({status})");
            }
        })));
        let errors = weak(on_error)?;
        engine.set_error_listener(Some(Arc::new(move |err: &StoreError| {
            let properties = serde_json::Value::Object(err.properties());
            let status = errors.call(properties, ThreadsafeFunctionCallMode::NonBlocking);
            if status != Status::Ok {
                // Node is tearing the environment down: stderr is all that is left.
                eprintln!("tad-store: {err} (could not reach onError: {status})");
            }
        })));
        Ok(NativeStore { engine })
    }

    /// `result`, or its error thrown and counted for `stats()`.
    fn ok<T>(&self, env: &Env, result: EngineResult<T>) -> Result<T> {
        result.map_err(|e| {
            self.engine.note_error(e.code());
            throw(env, &e)
        })
    }

    /// A write's outcome: its sequence number, or its error thrown. The shim calls
    /// `takeEvents` right after, so change callbacks run inside the call as
    /// electron-store's do.
    fn written(&self, env: &Env, result: EngineResult<u64>) -> Result<f64> {
        self.ok(env, result).map(|seq| seq as f64)
    }

    /// The value at `key`: null, a boolean or a number as itself; a string, object or
    /// array as text (see the core's `Read::Text`); undefined when absent.
    #[napi(ts_return_type = "undefined | null | boolean | number | string")]
    pub fn get(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] key: KeyArg,
    ) -> Result<Either6<(), Null, bool, f64, String, Latin1String>> {
        Ok(
            match self.ok(&env, self.engine.text().read(key.as_str()))? {
                None => Either6::A(()),
                Some(Read::Null) => Either6::B(Null),
                Some(Read::Bool(b)) => Either6::C(b),
                Some(Read::Number(n)) => Either6::D(n),
                // ASCII is Latin-1: V8 copies it as one-byte text, with no UTF-8 decoding.
                Some(Read::Text(text)) if text.is_ascii() => Either6::F(text.into()),
                Some(Read::Text(text)) => Either6::E(text),
            },
        )
    }

    #[napi]
    pub fn has(&self, env: Env, #[napi(ts_arg_type = "string")] key: KeyArg) -> Result<bool> {
        self.ok(&env, self.engine.text().has(key.as_str()))
    }

    /// Sets `key` to the value in `json`. Returns the change's sequence number.
    #[napi]
    pub fn set(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] key: KeyArg,
        json: String,
    ) -> Result<f64> {
        self.written(&env, self.engine.text().set(key.as_str(), &json))
    }

    /// Sets every key of the object in `json` as one change.
    #[napi]
    pub fn set_many(&self, env: Env, json: String) -> Result<f64> {
        self.written(&env, self.engine.text().set_many(&json))
    }

    #[napi]
    pub fn append_to_array(
        &self,
        env: Env,
        #[napi(ts_arg_type = "string")] key: KeyArg,
        json: String,
    ) -> Result<f64> {
        self.written(
            &env,
            self.engine.text().append_to_array(key.as_str(), &json),
        )
    }

    #[napi]
    pub fn delete(&self, env: Env, #[napi(ts_arg_type = "string")] key: KeyArg) -> Result<f64> {
        self.written(&env, self.engine.text().delete(key.as_str()))
    }

    #[napi]
    pub fn reset(&self, env: Env, keys: Vec<String>) -> Result<f64> {
        self.written(&env, self.engine.text().reset(&keys))
    }

    #[napi]
    pub fn clear(&self, env: Env) -> Result<f64> {
        self.written(&env, self.engine.text().clear())
    }

    /// Replaces the whole store with the object in `json`.
    #[napi]
    pub fn replace(&self, env: Env, json: String) -> Result<f64> {
        self.written(&env, self.engine.text().replace(&json))
    }

    /// Replaces the whole document (bookkeeping included) with `json`: a rollback.
    #[napi]
    pub fn restore(&self, env: Env, json: String) -> Result<f64> {
        self.written(&env, self.engine.text().restore(&json))
    }

    /// Writes conf's migration bookkeeping (`__internal__.migrations.*`).
    #[napi]
    pub fn set_internal(&self, env: Env, key: String, json: String) -> Result<f64> {
        self.written(&env, self.engine.text().set_internal(&key, &json))
    }

    /// The whole store as JSON text.
    #[napi]
    pub fn store_json(&self, env: Env) -> Result<String> {
        self.ok(&env, self.engine.store_json())
    }

    #[napi(getter)]
    pub fn size(&self, env: Env) -> Result<u32> {
        self.ok(&env, self.engine.size()).map(|n| n as u32)
    }

    #[napi(getter)]
    pub fn seq(&self) -> f64 {
        self.engine.seq() as f64
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.engine.is_closed()
    }

    /// What opening found and did, as JSON (see the core's `OpenReport`).
    #[napi(getter)]
    pub fn open_report_json(&self, env: Env) -> Result<String> {
        self.ok(&env, self.engine.text().open_report())
    }

    /// What the store has been doing, as JSON (see the core's `stats::Report`).
    #[napi]
    pub fn stats(&self, env: Env) -> Result<String> {
        self.ok(&env, self.engine.text().stats())
    }

    /// Counts an error the JS shim refused before calling in.
    #[napi]
    pub fn note_error(&self, code: String) {
        self.engine.note_error(&code);
    }

    /// Starts reporting changes to `key` (undefined: the whole store). Returns an id.
    #[napi]
    pub fn watch(&self, env: Env, key: Option<String>) -> Result<u32> {
        self.ok(&env, self.engine.text().watch(key.as_deref()))
            .map(|id| id as u32)
    }

    /// Starts a key feed (the paths every change touched, with their values now).
    /// Returns an id, stopped by `unwatch`.
    #[napi]
    pub fn follow(&self) -> u32 {
        self.engine.follow() as u32
    }

    #[napi]
    pub fn unwatch(&self, id: u32) {
        self.engine.unwatch(id.into());
    }

    /// Starts following other programs' edits to the file, if not already (an instance
    /// with `watch: true` joining an engine opened without it).
    #[napi]
    pub fn watch_file(&mut self, env: Env) -> Result<()> {
        self.engine.watch_file().map_err(|e| throw(&env, &e))
    }

    /// The changes since the last call as one JSON array (null when none):
    /// `[{ watchId, seq, path?, newValue?, oldValue? }]`, see the core's `Text`.
    #[napi]
    pub fn take_events(&self) -> Option<String> {
        self.engine.text().take_events()
    }

    /// Resolves once every change so far is durable; rejects with the store's error.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn flush<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        promise(env, |done| self.engine.flush(done))
    }

    /// Resolves once the file itself holds every change so far; rejects with the error.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn write_file<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        promise(env, |done| self.engine.write_file(done))
    }

    /// Commits everything, writes a final snapshot and stops; resolves like `flush`.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        promise(env, |done| self.engine.close(done))
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
        let key = new_key.map(|bytes| supplied_key(&bytes)).transpose();
        let key = self.ok(env, key)?;
        promise(env, |done| self.engine.rotate_key(key, done))
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

    /// Fills defaults and validates the whole document (after migrations). With
    /// `allowClear`, `clearInvalidConfig` may move an invalid file aside.
    #[napi]
    pub fn settle(&mut self, env: Env, allow_clear: bool) -> Result<()> {
        let result = self.engine.settle(allow_clear);
        self.ok(&env, result)
    }

    /// Starts a transaction; `validate` false defers validation to `settle` (migrations).
    #[napi]
    pub fn begin(&self, env: Env, validate: bool) -> Result<()> {
        self.ok(&env, self.engine.begin(validate))
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
        self.ok(&env, self.engine.text().write_backup(&file_name))
    }

    /// Every recorded state as JSON: `[{timestamp, size, hash, kind}]`, newest first.
    #[napi]
    pub fn list_history(&self, env: Env) -> Result<String> {
        self.ok(&env, self.engine.text().list_history())
    }

    /// Resolves with the snapshot text recorded at `timestamp` (after recording the
    /// current state), rebuilt and checked on the committer thread.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn state_at<'env>(&self, env: &'env Env, timestamp: String) -> Result<Object<'env>> {
        promise(env, |done| self.engine.text().state_at(timestamp, done))
    }

    /// Resolves with a report of the whole history chain as JSON.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn verify_history<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        promise(env, |done| self.engine.text().verify_history(done))
    }
}
