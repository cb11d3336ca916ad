//! Reads: values as compact JSON (sealed ones opened), the history, the counters.

use super::events::user_json;
use super::state::*;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::path::{KeyPath, INTERNAL_KEY};
use crate::{history, stats};
use std::sync::MutexGuard;

impl Engine {
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

    /// The state for a read: refused once the store is closed (its document is freed).
    pub(super) fn read(&self) -> Result<MutexGuard<'_, State>> {
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
        self.get_with(key, |node| user_json(key, node))
    }

    /// `read` of the value at `key` (sealed ones opened, as [`Engine::get_json`]),
    /// `None` when absent. `read` runs under the state lock: it should copy out, not
    /// call back.
    pub fn get_with<T>(&self, key: &KeyPath, read: impl FnOnce(&Node) -> T) -> Result<Option<T>> {
        self.shared.stats.op(stats::Op::Get);
        let st = self.read()?;
        match &st.secrets {
            Some(secrets) if secrets.touches(key) => {
                Ok(secrets.reveal(&st.doc, key)?.map(|node| read(&node)))
            }
            _ => Ok(st.doc.get(key).map(read)),
        }
    }

    pub fn has(&self, key: &KeyPath) -> Result<bool> {
        self.shared.stats.op(stats::Op::Has);
        self.contains(key)
    }

    pub(super) fn contains(&self, key: &KeyPath) -> Result<bool> {
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

    /// Every recorded state, newest first: history diffs and migration backups.
    pub fn list_history(&self) -> Result<Vec<history::Entry>> {
        history::list(&*self.shared.fs, &self.shared.path)
    }

    /// Calls `done` with the snapshot bytes recorded at `timestamp` (ISO-8601), rebuilt
    /// on the committer (a pool thread) after a checkpoint, so the current state is
    /// recorded first (and can itself be rolled back to).
    pub fn state_at(&self, timestamp: String, done: StateCompletion) {
        self.request_history(HistoryRequest::StateAt { timestamp, done });
    }

    /// Calls `done` with a check of the whole history chain, made as [`Engine::state_at`].
    pub fn verify_history(&self, done: VerifyCompletion) {
        self.request_history(HistoryRequest::Verify { done });
    }

    fn request_history(&self, request: HistoryRequest) {
        let mut st = self.shared.lock();
        if st.closing || st.closed {
            drop(st);
            return request.fail(StoreError::Closed {
                file: self.shared.path.clone(),
            });
        }
        st.history_requests.push(request);
        drop(st);
        self.shared.wake();
    }

    /// Blocks for [`Engine::state_at`]. For tests and tools.
    pub fn state_at_blocking(&self, timestamp: &str) -> Result<Vec<u8>> {
        self.wait_for(|done| self.state_at(timestamp.to_string(), done))
    }

    /// Blocks for [`Engine::verify_history`]. For tests and tools.
    pub fn verify_history_blocking(&self) -> Result<history::Report> {
        self.wait_for(|done| self.verify_history(done))
    }
}
