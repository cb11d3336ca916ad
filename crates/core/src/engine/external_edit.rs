//! Edits other programs make to the store file: seen by the watch (`watch: true`), or
//! found by a checkpoint that compares before it renames. A valid edit replaces the
//! document as one change, with events; a broken or invalid one never replaces good
//! state: it is moved aside and reported. One edit is handled at a time
//! (`Shared::external_edits`).

use super::events::visible;
use super::sealing::with_secrets_invariant;
use super::state::*;
use crate::defaults::Defaults;
use crate::error::{Result, StoreError};
use crate::journal::{self, Batch, Op, SnapshotId};
use crate::schema::Schema;
use crate::snapshot;
use crate::store_files::{Aside, StoreFiles};
use crate::watch;
use std::path::Path;
use std::sync::Arc;

/// How often, and how far apart, a refused external edit is read again to see whether
/// its writer is still writing (about half a second in all).
const SETTLE_READS: usize = 10;
const SETTLE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// The store file changed on disk (`watch: true`). Someone else's valid edit replaces the
/// document as one change, with events; the store's own writes are recognised and
/// ignored. An edit that does not parse or fails the schema never replaces good state:
/// the bad file is moved aside, the good state written again, and `onError` told. So is a
/// deletion: the file is written again from memory. A reader never writes; it only
/// follows valid edits and reports the rest.
pub(super) fn on_file_changed(shared: &Shared, schema: Option<&Schema>, defaults: &Defaults) {
    let _one_at_a_time = shared
        .external_edits
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let path = &shared.path;
    match shared.fs.read(path) {
        Ok(bytes) => consider_edit(shared, schema, defaults, path, bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !shared.read_only {
                shared.lock().force_checkpoint = true;
                shared.wake();
            }
            shared.report(&StoreError::ExternalEditRefused {
                file: path.clone(),
                reason: "it was deleted; the store keeps its state and writes the file again"
                    .into(),
            })
        }
        Err(e) => shared.report(&StoreError::io("read", path, &e)),
    }
}

/// Another program's edit that a checkpoint swapped out of the store's name at the last
/// instant (see [`snapshot::Replacement::Displaced`]), now at `at`: taken as if the watch
/// had seen it first (applied, or moved aside and reported), then `at` removed.
pub(super) fn take_edit(shared: &Shared, schema: Option<&Schema>, defaults: &Defaults, at: &Path) {
    let _one_at_a_time = shared
        .external_edits
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    match shared.fs.read(at) {
        Ok(bytes) => consider_edit(shared, schema, defaults, at, bytes),
        Err(e) => return shared.report(&StoreError::io("read", at, &e)),
    }
    match shared.fs.remove(at) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {} // moved aside
        Err(e) => shared.report(&StoreError::io("remove", at, &e)),
    }
}

/// Someone else's edit, `bytes`, read from `at` (the store file, or where a checkpoint
/// put an edit it displaced). The caller holds `external_edits`.
fn consider_edit(
    shared: &Shared,
    schema: Option<&Schema>,
    defaults: &Defaults,
    at: &Path,
    mut bytes: Vec<u8>,
) {
    let fs = &*shared.fs;
    let path = &shared.path;
    let refuse = |reason: String| StoreError::ExternalEditRefused {
        file: path.clone(),
        reason,
    };
    if SnapshotId::of(&bytes) == *shared.known_file() {
        return; // this store's own write, or no change
    }
    let examine = |bytes: &[u8]| {
        let parsed =
            snapshot::parse_stored(shared.cipher().as_deref(), path, bytes).and_then(|doc| {
                let doc = defaults.filled(doc)?;
                match schema.map(|s| s.validate_document(&doc)) {
                    Some(violations) if !violations.is_empty() => {
                        Err(StoreError::SchemaViolation {
                            violations,
                            file: Some(path.clone()),
                        })
                    }
                    _ => Ok(doc),
                }
            });
        // A secret written in plaintext by hand is refused: only envelopes belong there.
        // An edit that dropped the store's id gets it back (the envelopes are bound to it).
        parsed.and_then(|doc| {
            let st = shared.lock();
            match st.secrets.as_ref().map(|s| s.plaintext_locations(&doc)) {
                Some(plain) if !plain.is_empty() => Err(StoreError::Crypto {
                    code: "SECRET_NOT_ENCRYPTED",
                    key: plain[0].to_string(),
                    reason: "a sensitive key holds a value that is not encrypted".into(),
                }),
                _ => with_secrets_invariant(st.secrets.as_ref(), doc),
            }
        })
    };
    let mut parsed = examine(&bytes);
    // A program that writes in place (truncate, then write) can be caught halfway. A file
    // that is refused is read again until it stops changing, so what is refused (and
    // moved aside) is the edit as its writer finished it, never a torn moment of it.
    for _ in 0..SETTLE_READS {
        if parsed.is_ok() {
            break;
        }
        std::thread::sleep(SETTLE_INTERVAL);
        match fs.read(at) {
            Ok(again) if again == bytes => break,
            Ok(again) => {
                bytes = again;
                parsed = examine(&bytes);
            }
            // Renamed or removed meanwhile: the event for that (or the next checkpoint's
            // comparison) handles what is there now.
            Err(_) => return,
        }
    }
    let id = SnapshotId::of(&bytes);
    if id == *shared.known_file() {
        return;
    }
    let doc = match parsed {
        Ok(doc) => doc,
        Err(err) => {
            if !shared.read_only {
                let tag = if matches!(
                    err,
                    StoreError::SchemaViolation { .. } | StoreError::Crypto { .. }
                ) {
                    Aside::Invalid
                } else {
                    Aside::Corrupt
                };
                if let Err(e) = snapshot::quarantine_as(fs, at, path, tag) {
                    shared.report(&e);
                }
                shared.lock().force_checkpoint = true;
                shared.wake();
            }
            return shared.report(&refuse(format!("{err}; the store keeps its state")));
        }
    };
    if at == path {
        *shared.known_file() = id;
    }
    let mut st = shared.lock();
    let batch = Batch {
        seq: st.seq + 1,
        ops: vec![Op::Set {
            key: crate::path::KeyPath::root(),
            value: doc.clone(),
        }],
    };
    let mut newly_pending = false;
    let State {
        watchers,
        feeds,
        doc: current,
        secrets,
        ..
    } = &mut *st;
    for watcher in watchers.iter_mut().filter(|w| w.old.is_none()) {
        watcher.old = Some(visible(secrets.as_ref(), current, &watcher.path, shared));
        newly_pending = true;
    }
    for (_, feed) in feeds.iter_mut() {
        newly_pending |= feed.note_replaced(current, &doc);
    }
    st.doc = doc;
    st.seq = batch.seq;
    if shared.read_only {
        st.durable_seq = st.seq;
    } else {
        // The file is someone else's now: the next commit is a checkpoint, so the journal
        // is rebased on what this store writes instead of extending the old base.
        st.pending.extend(journal::encode(&batch));
        st.force_checkpoint = true;
    }
    let deliver = newly_pending && !st.delivery_scheduled;
    st.delivery_scheduled |= deliver;
    drop(st);
    shared.wake();
    if deliver {
        shared.notify_delivery();
    }
}
impl Engine {
    /// Starts following edits other programs make to the file (`watch: true`), if it
    /// is not already: valid ones are applied with change events, others moved aside and
    /// reported. A store opened without `watch` starts when an instance that asks for it
    /// joins.
    pub fn watch_file(&mut self) -> Result<()> {
        let mut file_watch = self.file_watch.lock().unwrap_or_else(|e| e.into_inner());
        if file_watch.is_some() || self.shared.lock().closing {
            return Ok(());
        }
        let shared = self.shared.clone();
        // The watch only marks the file changed; the committer looks at it on the pool,
        // so one store's slow edit never holds up another store's watch.
        let follow = move || shared.hand_to_committer(|st| st.file_changed = true);
        let path = self.shared.path.clone();
        let watch = watch::watch_file(&path, Arc::new(follow))
            .map_err(|e| StoreError::io("watch", StoreFiles::of(&path).dir(), &e))?;
        *file_watch = Some(watch);
        Ok(())
    }
}
