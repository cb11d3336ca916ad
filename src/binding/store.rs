//! `NativeStore`: one open store file. The hot reads and writes hand their strings to
//! the engine's text view (`Engine::text`: keys as the app writes them, values as JSON
//! text); every other call arrives as one of the core's `Command`s (answered at once) or
//! `Task`s (a promise), forwarded whole. Each converts the outcome: an error thrown, a
//! sequence number, JSON text, a promise.

use super::errors::{promise, throw};
use super::key::KeyArg;
use super::options::{engine_options, NativeKeys};
use crate::engine::error::{Result as EngineResult, StoreError};
use crate::engine::keys::supplied_key;
use crate::engine::{Command, Engine, Read, Task};
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

    /// The changes since the last call as one JSON array (null when none):
    /// `[{ watchId, seq, path?, newValue?, oldValue? }]`, see the core's `Text`.
    #[napi]
    pub fn take_events(&self) -> Option<String> {
        self.engine.text().take_events()
    }

    /// Runs one of the core's `Command`s (JSON `{ op, ...arguments }`); `value` is the
    /// JSON text of the value it carries, if any. Returns its answer as JSON text.
    #[napi]
    pub fn run(&mut self, env: Env, command: String, value: Option<String>) -> Result<String> {
        let command = self.ok(&env, Command::parse(&command))?;
        let answer = self.engine.run(command, value.as_deref());
        self.ok(&env, answer)
    }

    /// Starts one of the core's `Task`s (JSON `{ op, ...arguments }`): resolves with its
    /// answer, or rejects with the store's error.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn run_task<'env>(&self, env: &'env Env, task: String) -> Result<Object<'env>> {
        let task = self.ok(env, Task::parse(&task))?;
        promise(env, |done| self.engine.run_task(task, done))
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
}
