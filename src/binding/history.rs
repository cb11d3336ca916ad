//! `NativeStore`'s history: the recorded states, one rebuilt, the chain checked, and a
//! rollback's restore.

use super::errors::{background_promise, settle};
use super::store::NativeStore;
use crate::engine::document::parse_value;
use crate::engine::error::StoreError;
use crate::engine::history;
use crate::engine::path::KeyPath;
use crate::engine::store_files::HISTORY_DIR;
use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi]
impl NativeStore {
    /// Every recorded state as JSON: `[{timestamp, size, hash, kind}]`, newest first.
    #[napi]
    pub fn list_history(&self, env: Env) -> Result<String> {
        let entries = self
            .engine
            .list_history()
            .map_err(|e| self.fail(&env, &e))?;
        Ok(history::listing_json(&entries))
    }

    /// Resolves with the snapshot text recorded at `timestamp` (after recording the
    /// current state), rebuilt and checked on the committer thread.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn state_at<'env>(&self, env: &'env Env, timestamp: String) -> Result<Object<'env>> {
        let (deferred, promise) = background_promise(env)?;
        self.engine.state_at(
            timestamp,
            Box::new(move |state| {
                let text = state.and_then(|bytes| {
                    String::from_utf8(bytes)
                        .map(Some)
                        .map_err(|_| StoreError::HistoryCorrupt {
                            file: HISTORY_DIR.into(),
                            reason: "the rebuilt state is not text".into(),
                        })
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
        self.engine.verify_history(Box::new(move |report| {
            settle(deferred, report.map(|r| Some(r.to_json())))
        }));
        Ok(promise)
    }

    /// Replaces the whole document (bookkeeping included) with the JSON text: a rollback.
    #[napi]
    pub fn restore(&mut self, env: Env, json: String) -> Result<f64> {
        let value = parse_value(&KeyPath::root(), &json).map_err(|e| self.fail(&env, &e))?;
        let result = self.engine.restore(value);
        self.finish_write(&env, result)
    }
}
