//! Durability: `flush` (every change so far durable), `write_file` (the file itself holds
//! them), `close`, and what a drop without `close` still writes.

use super::state::*;
use crate::error::{Result, StoreError};
use crate::stats;

impl Engine {
    /// Starts background work with a completion and waits for it (off the pool's
    /// threads: never called from a job). A completion dropped unanswered means the store
    /// closed under it.
    pub(super) fn wait_for<T: Send + 'static>(
        &self,
        start: impl FnOnce(Box<dyn FnOnce(Result<T>) + Send>),
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        start(Box::new(move |r| {
            // The receiver only goes away if this function already returned.
            let _receiver_is_waiting = tx.send(r);
        }));
        rx.recv().unwrap_or_else(|_| {
            Err(StoreError::Closed {
                file: self.shared.path.clone(),
            })
        })
    }

    /// Calls `done` once every change made before this call is durable, or with the
    /// error that prevents it. `done` may run on the committer (a pool thread).
    pub fn flush(&self, done: Completion) {
        self.shared.stats.op(stats::Op::Flush);
        let mut st = self.shared.lock();
        if st.durable_seq >= st.seq {
            drop(st);
            return done(Ok(()));
        }
        if st.closed {
            let err = st.failure.clone().unwrap_or(StoreError::Closed {
                file: self.shared.path.clone(),
            });
            drop(st);
            return done(Err(err));
        }
        let target = st.seq;
        st.waiters.push((target, done));
        drop(st);
        self.shared.wake();
    }

    /// Calls `done` once the store file itself holds every change made before this call
    /// (a snapshot is written even when the journal would have held them), so another
    /// program can read it, or open it in an editor. `done` may run on the committer
    /// thread. A reader has nothing to write: it is answered at once.
    pub fn write_file(&self, done: Completion) {
        let mut st = self.shared.lock();
        if self.shared.read_only || st.closed || st.closing {
            let result = match (&st.failure, st.closing || st.closed) {
                (Some(err), _) => Err(err.clone()),
                (None, true) => Err(StoreError::Closed {
                    file: self.shared.path.clone(),
                }),
                (None, false) => Ok(()),
            };
            drop(st);
            return done(result);
        }
        st.file_waiters.push(done);
        drop(st);
        self.shared.wake();
    }

    /// Blocks until everything so far is durable. For tests and tools, not the JS thread.
    pub fn flush_blocking(&self) -> Result<()> {
        self.wait_for(|done| self.flush(done))
    }

    /// Stops accepting changes, commits everything, writes a final snapshot and removes
    /// the journal; then calls `done`. Durable when `done` reports `Ok`.
    pub fn close(&self, done: Completion) {
        let mut st = self.shared.lock();
        if st.closed {
            let result = match &st.failure {
                Some(err) => Err(err.clone()),
                None => Ok(()),
            };
            drop(st);
            return done(result);
        }
        // An open transaction never reaches the disk.
        st.roll_back();
        st.closing = true;
        st.close_waiters.push(done);
        drop(st);
        self.shared.wake();
        self.file_watch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    pub fn close_blocking(&mut self) -> Result<()> {
        // Closed already, the store has nothing more to say: that is success.
        let result = match self.wait_for(|done| self.close(done)) {
            Err(StoreError::Closed { .. }) => Ok(()),
            other => other,
        };
        if let Some(task) = self.committer.take() {
            task.wait_done();
        }
        result
    }

    pub fn is_closed(&self) -> bool {
        self.shared.lock().closing
    }
}

impl Drop for Engine {
    /// Dropping without `close` (at process exit, or when the owner was collected)
    /// still makes every change durable, on the committer (a pool thread), without waiting for
    /// it: a drop can run inside a JS garbage collection, and a `serialize` callback
    /// needs that very thread. It writes only what is not durable yet (journal records;
    /// no snapshot of changes already in the journal), so an exiting process leaves
    /// behind no writes it did not owe.
    fn drop(&mut self) {
        if self.committer.take().is_some() {
            self.shared.lock().releasing = true;
            // Failures of that last commit reach the error listener from the committer.
            self.close(Box::new(|_outcome_already_reported| {}));
        }
    }
}
