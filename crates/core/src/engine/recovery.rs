//! The recovery ladder: where every crash and every bad file is recovered from.
//!
//! - A crash mid-snapshot leaves a stale temporary file: removed at open
//!   ([`snapshot::remove_stale_temps`]); the old snapshot is whole (it is only replaced by
//!   rename).
//! - A crash mid-append leaves a torn journal tail: cut at open, after the last whole
//!   record ([`Ladder::replay_journal`]). A journal written for another snapshot (its header's
//!   hash differs) is already contained in this one, or was never acknowledged: removed,
//!   never replayed.
//! - A snapshot that does not read ([`Ladder::load_or_recover`]), rung by rung: the previous
//!   snapshot the history kept, when its hash proves it is the state before the current
//!   one; else the newest migration backup that reads; else, with `clearInvalidConfig`,
//!   the defaults; else the store refuses to open (`CORRUPT_FILE`). The bad file is moved
//!   aside, never deleted.
//! - A snapshot that reads but fails the schema ([`Engine::settle`]): the newest backup
//!   that passes, else the defaults with `clearInvalidConfig`, else `SCHEMA_VIOLATION`.
//! - A key rotation a crash interrupted: finished at open ([`super::sealing`]).
//! - An edit another program made: [`super::external_edit`].

use super::changes::{apply_batch, set_ops};
use super::sealing::restore_secrets_invariant;
use super::state::*;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::fs::{self, Fs};
use crate::journal::{self, SnapshotId};
use crate::options::{OpenReport, Rung};
use crate::path::KeyPath;
use crate::snapshot;
use crate::store_files::{Aside, StoreFiles};
use crate::{file_cipher, history, stats};
use std::path::{Path, PathBuf};

/// The files of one store as opening reads them, and what it may do about a bad one.
pub(super) struct Ladder<'a> {
    pub(super) fs: &'a dyn Fs,
    pub(super) path: &'a Path,
    pub(super) cipher: Option<&'a file_cipher::FileCipher>,
    /// A reader recovers nothing: it writes nothing, so it refuses a bad file.
    pub(super) read_only: bool,
    pub(super) clear_invalid_config: bool,
}

impl Ladder<'_> {
    /// The snapshot as loaded, with its id (the hash of its bytes), or the empty document
    /// for a store that has no file. A file that does not read is recovered rung by rung:
    /// the previous snapshot the history kept, when its recorded hash proves it is the
    /// state before this one; else the newest migration backup that reads; failing both,
    /// electron-store's rule: the defaults with `clearInvalidConfig`, else the error. The
    /// bad file is moved aside (`<name>.corrupt-<millis>`), never deleted.
    pub(super) fn load_or_recover(
        &self,
        deserialize: Option<snapshot::Deserializer<'_>>,
        stats: &stats::Stats,
        report: &mut OpenReport,
    ) -> Result<(Node, SnapshotId)> {
        let (fs, path) = (self.fs, self.path);
        let err = match snapshot::load(fs, path, deserialize, self.cipher) {
            Ok(Some(loaded)) => {
                stats.set_snapshot_bytes(loaded.len as u64);
                return Ok((loaded.doc, loaded.id));
            }
            Ok(None) => {
                report.fresh = true;
                return Ok((Node::empty_object(), SnapshotId::of(b"")));
            }
            Err(err @ (StoreError::CorruptFile { .. } | StoreError::FileDecrypt { .. }))
                if !self.read_only =>
            {
                err
            }
            Err(err) => return Err(err),
        };
        let base = StoreFiles::of(path).history_base();
        let proven = history::proven_base(fs, path).and_then(|bytes| {
            let doc = snapshot::parse_stored(self.cipher, &base, &bytes).ok()?;
            Some((base, doc, Rung::History))
        });
        let good = proven.or_else(|| {
            newest_good_backup(fs, path, self.cipher).map(|(file, doc)| (file, doc, Rung::Backup))
        });
        if good.is_none() && !self.clear_invalid_config {
            return Err(err);
        }
        report.quarantine_reason = Some(err.to_string());
        report.quarantined = Some(snapshot::quarantine(fs, path, Aside::Corrupt)?);
        // The id of no file: the journal (written for the bad file) is never replayed.
        let none = SnapshotId::of(b"");
        Ok(match good {
            Some((file, doc, rung)) => {
                report.restored_from = Some(file);
                report.recovered_from = Some(rung);
                (doc, none)
            }
            None => (Node::empty_object(), none),
        })
    }

    /// Replays the journal over `doc` (the snapshot whose id is `snapshot_id`) and returns
    /// the journal's length in whole records. A torn tail (a crash mid-append) is cut so
    /// new records follow the last whole one. A journal with a broken header was never
    /// acknowledged, and one written for another snapshot is already contained in this
    /// one: either is removed, never replayed, even if that other snapshot came back.
    /// Beside a snapshot moved aside as corrupt, it is moved aside with it instead.
    pub(super) fn replay_journal(
        &self,
        snapshot_id: SnapshotId,
        doc: &mut Node,
        report: &mut OpenReport,
    ) -> Result<u64> {
        let fs = self.fs;
        let journal_path = StoreFiles::of(self.path).journal();
        let bytes = match fs.read(&journal_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StoreError::io("read", &journal_path, &e)),
        };
        let Some(replay) = journal::replay(&bytes).filter(|r| r.base == snapshot_id) else {
            if self.read_only {
                // A reader leaves it for the writer.
            } else if report.quarantined.is_some() {
                snapshot::quarantine(fs, &journal_path, Aside::Corrupt)?;
            } else {
                fs.remove(&journal_path)
                    .map_err(|e| StoreError::io("remove stale journal", &journal_path, &e))?;
            }
            return Ok(0);
        };
        report.replayed = replay.batches.len();
        report.fresh &= replay.batches.is_empty();
        report.torn_bytes = bytes.len() - replay.valid_len;
        for batch in &replay.batches {
            apply_batch(doc, batch)?;
        }
        let journal_len = replay.valid_len as u64;
        if report.torn_bytes > 0 && !self.read_only {
            let mut file = fs
                .open_append(&journal_path)
                .map_err(|e| StoreError::io("open", &journal_path, &e))?;
            file.set_len(journal_len)
                .and_then(|_| file.sync())
                .map_err(|e| StoreError::io("truncate", &journal_path, &e))?;
        }
        Ok(journal_len)
    }
}

impl Engine {
    /// Fills in defaults and validates the whole document, as opening does: a document
    /// that fails the schema is refused (`SCHEMA_VIOLATION`, naming the file), or with
    /// `clear_invalid_config` the file is moved aside (`<name>.invalid-<time>`) and the
    /// store starts from its defaults. Runs inside the opening transaction, so a refusal
    /// writes nothing.
    /// `allow_clear` false refuses even with `clear_invalid_config` (a migration run on an
    /// open store).
    pub fn settle(&mut self, allow_clear: bool) -> Result<()> {
        let fill = {
            let st = self.shared.lock();
            self.defaults.fill(&st.doc, &KeyPath::root())
        };
        let filled = !fill.is_empty();
        self.commit_ops(set_ops(fill), false)?;
        if filled && self.report.fresh && !self.shared.read_only {
            // A new store gets its file (and its first history entry) at once, as conf
            // writes the defaults at construction.
            self.shared.lock().force_checkpoint = true;
        }
        let Some(schema) = self.schema.clone() else {
            return Ok(());
        };
        let cipher = self.shared.cipher();
        let violations = schema.validate_document(&self.shared.lock().doc);
        if violations.is_empty() {
            return Ok(());
        }
        let refused = StoreError::SchemaViolation {
            violations,
            file: Some(self.shared.path.clone()),
        };
        let defaults = &self.defaults;
        let with_defaults = |doc: &Node| defaults.filled(doc.clone()).ok();
        // Only a file that is invalid as it is on disk is replaced: not one that a
        // migration (or anything else in this transaction) made invalid in memory.
        let from_disk = {
            let st = self.shared.lock();
            st.hold
                .as_ref()
                .and_then(|t| with_defaults(&t.doc))
                .is_some_and(|loaded| loaded == st.doc)
        };
        // The newest good state that can be proven: a backup that passes the schema.
        if allow_clear && from_disk && !self.shared.read_only {
            let passes = |doc: &Node| {
                with_defaults(doc).is_some_and(|d| schema.validate_document(&d).is_empty())
            };
            if let Some((file, doc)) = newest_backup_where(
                &*self.shared.fs,
                &self.shared.path,
                cipher.as_deref(),
                passes,
            ) {
                let doc = with_defaults(&doc).unwrap_or(doc);
                self.report.quarantined = Some(snapshot::quarantine(
                    &*self.shared.fs,
                    &self.shared.path,
                    Aside::Invalid,
                )?);
                self.report.quarantine_reason = Some(refused.to_string());
                self.report.restored_from = Some(file);
                self.report.recovered_from = Some(Rung::Backup);
                let mut st = self.shared.lock();
                st.doc = doc;
                restore_secrets_invariant(&mut st)?;
                st.pending.clear();
                st.force_checkpoint = true;
                return Ok(());
            }
        }
        if !(self.clear_invalid_config && allow_clear) || self.shared.read_only {
            return Err(refused);
        }
        // Start over from the defaults, if they themselves pass, before touching the file.
        let cleared = self.defaults.filled(Node::empty_object())?;
        let still = schema.validate_document(&cleared);
        if !still.is_empty() {
            return Err(StoreError::SchemaViolation {
                violations: still,
                file: None,
            });
        }
        let fs = &*self.shared.fs;
        if fs.read(&self.shared.path).is_ok() {
            self.report.quarantined =
                Some(snapshot::quarantine(fs, &self.shared.path, Aside::Invalid)?);
        }
        self.report.quarantine_reason = Some(refused.to_string());
        let mut st = self.shared.lock();
        st.doc = cleared;
        restore_secrets_invariant(&mut st)?;
        st.pending.clear();
        st.force_checkpoint = true;
        Ok(())
    }

    /// Writes the whole document, bookkeeping included, as `backups/<file_name>` beside
    /// the store, durably. Returns its path.
    pub fn write_backup(&self, file_name: &str) -> Result<PathBuf> {
        if file_name.contains(['/', '\\']) || file_name.starts_with('.') {
            return Err(StoreError::invalid_value(
                "backup",
                "the backup name must be a plain file name",
            ));
        }
        let dir = StoreFiles::of(&self.shared.path).backups();
        let fs = &*self.shared.fs;
        fs.create_dir_all(&dir)
            .map_err(|e| StoreError::io("create directory", &dir, &e))?;
        // The `backups` entry itself must survive a crash too.
        let store_dir = StoreFiles::of(&self.shared.path).dir();
        fs.sync_dir(&store_dir)
            .map_err(|e| StoreError::io("fsync directory", &store_dir, &e))?;
        let path = dir.join(file_name);
        let doc = self.shared.lock().doc.clone();
        let bytes = snapshot::encode(&path, &doc, None, self.shared.cipher().as_deref())?;
        snapshot::write_atomic(fs, &path, &bytes, self.shared.file_mode)?;
        Ok(path)
    }
}

/// The newest migration backup that parses, for restoring an unreadable store file.
pub(super) fn newest_good_backup(
    fs: &dyn fs::Fs,
    store: &Path,
    cipher: Option<&file_cipher::FileCipher>,
) -> Option<(PathBuf, Node)> {
    newest_backup_where(fs, store, cipher, |_| true)
}

/// The newest migration backup that parses and passes `good`.
pub(super) fn newest_backup_where(
    fs: &dyn fs::Fs,
    store: &Path,
    cipher: Option<&file_cipher::FileCipher>,
    good: impl Fn(&Node) -> bool,
) -> Option<(PathBuf, Node)> {
    let backups = history::backups(fs, store).ok()?;
    backups.into_iter().find_map(|entry| {
        let bytes = fs.read(&entry.file).ok()?;
        let doc = snapshot::parse_stored(cipher, &entry.file, &bytes).ok()?;
        good(&doc).then_some((entry.file, doc))
    })
}
