//! Applying a change: one path for every write. The ops are applied to the document in
//! place, op by op, with an undo log ([`Undo`]); the defaults they removed are filled in,
//! and the result validated where the ops can matter; a refusal takes every op back, so
//! a write costs what it changes, never a copy of the objects above it. A change that
//! touches sealed values takes the same path: the values it reaches are opened for
//! writing, sealed again after validation, and kept whole (an O(1) clone each) to go
//! back on a refusal. Then its journal record is queued and watchers and key feeds
//! marked. Transactions (`begin`/`commit`/`rollback`) hold the records back.

use super::events::visible;
use super::state::*;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::journal::{self, Batch, Op};
use crate::path::{KeyPath, Segment, INTERNAL_KEY};
use crate::schema::{self, Change};
use crate::secrets::{self, Secrets};
use crate::{feed, stats};
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

impl Engine {
    /// Starts a transaction: changes apply in memory but reach the disk only on
    /// [`Engine::commit`], and [`Engine::rollback`] undoes them all. With `validate`
    /// false, changes are not validated one by one (migrations; `settle` validates).
    pub fn begin(&self, validate: bool) -> Result<()> {
        let mut st = self.shared.lock();
        if st.hold.is_some() {
            return Err(StoreError::InvalidOption {
                option: "transaction".into(),
                reason: "a transaction (or a migration) is already open".into(),
            });
        }
        st.hold = Some(Transaction {
            doc: st.doc.clone(),
            seq: st.seq,
            pending_len: st.pending.len(),
            validate,
        });
        Ok(())
    }

    /// Hands the transaction's changes to the committer.
    pub fn commit(&self) {
        let mut st = self.shared.lock();
        st.hold = None;
        drop(st);
        self.shared.wake();
    }

    /// Undoes every change since [`Engine::begin`], in memory; nothing reached the disk.
    pub fn rollback(&self) {
        self.shared.lock().roll_back();
        self.shared.wake();
    }

    /// Sets `key` to `value`. Applied when it returns; durable after a flush.
    pub fn set(&self, key: &KeyPath, value: Node) -> Result<Receipt> {
        self.set_many(vec![(key.clone(), value)])
    }

    /// Sets several keys as one change: all of them or, on error, none.
    pub fn set_many(&self, entries: Vec<(KeyPath, Node)>) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Set);
        self.set_entries(entries)
    }

    pub(super) fn set_entries(&self, entries: Vec<(KeyPath, Node)>) -> Result<Receipt> {
        let mut ops = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            refuse_internal(&key)?;
            ops.push(Op::Set { key, value });
        }
        self.commit_ops(ops, true)
    }

    /// Writes conf's migration bookkeeping under `__internal__` (refused to users).
    pub fn set_internal(&self, key: &KeyPath, value: Node) -> Result<Receipt> {
        if !key.is_internal() {
            return Err(StoreError::invalid_key(
                &key.to_string(),
                "not an `__internal__` key",
            ));
        }
        self.commit_ops(
            vec![Op::Set {
                key: key.clone(),
                value,
            }],
            false,
        )
    }

    /// Deletes `key`. Deleting an absent key changes nothing and writes nothing.
    pub fn delete(&self, key: &KeyPath) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Delete);
        refuse_internal(key)?;
        if key.is_root() {
            return Err(StoreError::invalid_key(
                "",
                "use clear() to delete everything",
            ));
        }
        if !self.contains(key)? {
            return Ok(Receipt {
                seq: self.seq(),
                schedule_delivery: false,
            });
        }
        self.commit_ops(vec![Op::Delete { key: key.clone() }], true)
    }

    /// Appends `value` to the array at `key`, creating it when absent.
    pub fn append(&self, key: &KeyPath, value: Node) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Append);
        refuse_internal(key)?;
        self.commit_ops(
            vec![Op::Append {
                key: key.clone(),
                value,
            }],
            true,
        )
    }

    /// Replaces the whole store (electron-store's `store` setter), keeping conf's
    /// `__internal__` bookkeeping and filling in defaults for keys the new store lacks.
    pub fn replace(&self, store: Node) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Replace);
        self.replace_doc(store)
    }

    pub(super) fn replace_doc(&self, mut store: Node) -> Result<Receipt> {
        let Node::Object(map) = &mut store else {
            return Err(StoreError::invalid_value("", "the store must be an object"));
        };
        let st = self.shared.lock();
        if let Some(internal) = st.doc.as_object().and_then(|m| m.get(INTERNAL_KEY)) {
            Arc::make_mut(map).insert(INTERNAL_KEY.to_string(), internal.clone());
        } else {
            Arc::make_mut(map).shift_remove(INTERNAL_KEY);
        }
        drop(st);
        self.commit_ops(
            vec![Op::Set {
                key: KeyPath::root(),
                value: store,
            }],
            true,
        )
    }

    /// Deletes every key, then restores the defaults (conf's `clear`).
    pub fn clear(&self) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Clear);
        self.replace_doc(Node::empty_object())
    }

    /// Restores each key to its default. A key with no default is left as it is (conf).
    pub fn reset(&self, keys: &[KeyPath]) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Reset);
        let mut entries = Vec::new();
        for key in keys {
            refuse_internal(key)?;
            if let Some(value) = self.defaults.value_at(key) {
                entries.push((key.clone(), value.clone()));
            }
        }
        if entries.is_empty() {
            return Ok(Receipt {
                seq: self.seq(),
                schedule_delivery: false,
            });
        }
        self.set_entries(entries)
    }

    /// Applies `ops` as one change: validated first, so an error changes nothing; then
    /// applied, its journal record queued, watchers marked, the committer woken.
    ///
    /// A `user` change also gets the defaults it removed filled back in, and is validated
    /// against the schema where it can matter (unless a migration is running).
    pub(super) fn commit_ops(&self, ops: Vec<Op>, user: bool) -> Result<Receipt> {
        self.rules().commit_ops_with(ops, user, true)
    }

    /// What applying a change needs besides the state.
    pub(super) fn rules(&self) -> Rules<'_> {
        Rules {
            shared: &self.shared,
            schema: self.schema.as_deref(),
            defaults: &self.defaults,
        }
    }
    /// Replaces the whole document, bookkeeping included, with `doc` (a rollback): one
    /// change, validated, with change events for every watched key that differs.
    ///
    /// Sealed values are restored as they were (a state from before a key rotation holds
    /// values the retired key sealed: reading them gives `DECRYPT_FAILED`). The store's
    /// id is kept, since the envelopes are bound to it.
    pub fn restore(&self, mut doc: Node) -> Result<Receipt> {
        self.shared.stats.op(stats::Op::Rollback);
        if doc.as_object().is_none() {
            return Err(StoreError::invalid_value("", "the store must be an object"));
        }
        let id_key = KeyPath::parse(secrets::STORE_ID_KEY)?;
        let id = self.shared.lock().doc.get(&id_key).cloned();
        if let Some(id) = id {
            doc.set(&id_key, id)?;
        }
        self.rules().commit_ops_with(
            vec![Op::Set {
                key: KeyPath::root(),
                value: doc,
            }],
            true,
            false,
        )
    }
}

/// What applying a change needs besides the state: the engine's schema and defaults.
/// The engine applies its callers' changes with it, the committer another device's.
pub(super) struct Rules<'a> {
    pub(super) shared: &'a Shared,
    pub(super) schema: Option<&'a crate::schema::Schema>,
    pub(super) defaults: &'a crate::defaults::Defaults,
}

impl Rules<'_> {
    /// [`Engine::commit_ops`]; with `reseal` false, envelopes the ops carry are kept as
    /// they are instead of being taken for plaintext (a rollback, a rotation).
    pub(super) fn commit_ops_with(
        &self,
        ops: Vec<Op>,
        user: bool,
        reseal: bool,
    ) -> Result<Receipt> {
        self.commit_locked(self.shared.lock(), ops, user, reseal, false)
    }

    /// [`Rules::commit_ops_with`] under the lock the caller took (it may have chosen the
    /// ops under it). A `remote` change (merged from another device) is not a local
    /// change to sync: its keys are not noted for the mirror.
    pub(super) fn commit_locked(
        &self,
        mut st: MutexGuard<'_, State>,
        ops: Vec<Op>,
        user: bool,
        reseal: bool,
        remote: bool,
    ) -> Result<Receipt> {
        if st.closing {
            return Err(StoreError::Closed {
                file: self.shared.path.clone(),
            });
        }
        if user && self.shared.read_only {
            return Err(StoreError::ReadOnly {
                file: self.shared.path.clone(),
            });
        }
        if ops.is_empty() {
            return Ok(Receipt {
                seq: st.seq,
                schedule_delivery: false,
            });
        }
        let mut batch = Batch {
            seq: st.seq + 1,
            ops,
        };
        let validate = user && self.schema.is_some() && st.hold.as_ref().is_none_or(|t| t.validate);
        let fill = user && !self.defaults.is_empty();
        let secret = st
            .secrets
            .as_ref()
            .is_some_and(|s| batch.ops.iter().any(|op| s.touches(op.key())));
        // What watchers and key feeds need from the document before the change, taken
        // now and used only once it is applied. Filled defaults lie at or below the keys
        // of the ops, so those keys are all the ways the change can reach a watcher.
        let touched: Vec<&KeyPath> = batch.ops.iter().map(Op::key).collect();
        let marks: Vec<(usize, Option<Node>)> = st
            .watchers
            .iter()
            .enumerate()
            .filter(|(_, w)| w.old.is_none() && touched.iter().any(|t| t.overlaps(&w.path)))
            .map(|(i, w)| {
                (
                    i,
                    visible(st.secrets.as_ref(), &st.doc, &w.path, self.shared),
                )
            })
            .collect();
        // Key feeds get the paths each op can alter, found in the document before it; a
        // whole-document change is refined into the paths that differ, which needs that
        // document afterwards too (an O(1) clone, taken only then: such an op replaces the
        // document rather than writing into it, so the clone forces no copy).
        let fed: Vec<KeyPath> = if st.feeds.is_empty() {
            Vec::new()
        } else {
            touched.iter().map(|t| feed::affected(&st.doc, t)).collect()
        };
        let before = fed.iter().any(KeyPath::is_root).then(|| st.doc.clone());

        match batch.ops.as_slice() {
            // A lone op with nothing to fill or validate is checked, then applied.
            [op] if !validate && !fill && !secret => {
                check_op(&st.doc, op)?;
                apply_batch(&mut st.doc, &batch)?;
            }
            _ => {
                let State { doc, secrets, .. } = &mut *st;
                let sealing = secrets.as_ref().filter(|_| secret).map(|s| (s, reseal));
                self.apply_in_place(doc, &mut batch, validate, fill, sealing)?;
            }
        }

        let mut newly_pending = !marks.is_empty();
        for (i, old) in marks {
            st.watchers[i].old = Some(old);
        }
        let State { feeds, doc, .. } = &mut *st;
        for (_, feed) in feeds.iter_mut() {
            for key in &fed {
                newly_pending |= match (&before, key.is_root()) {
                    (Some(before), true) => feed.note_replaced(before, doc),
                    _ => feed.note(key),
                };
            }
        }
        st.seq = batch.seq;
        if let Some(touched) = st.sync_touched.as_mut().filter(|_| !remote) {
            touched.extend(batch.ops.iter().map(|op| op.key().clone()));
        }
        if self.shared.read_only {
            // Defaults a reader fills in live in its memory only.
            st.durable_seq = st.seq;
        } else {
            st.pending.extend(journal::encode(&batch));
        }
        st.last_change = Instant::now();
        let schedule_delivery = newly_pending && !st.delivery_scheduled;
        if schedule_delivery {
            st.delivery_scheduled = true;
        }
        let wake = st.committer_idle;
        let seq = st.seq;
        drop(st);
        if wake {
            self.shared.wake();
        }
        Ok(Receipt {
            seq,
            schedule_delivery,
        })
    }

    /// Applies `batch` to `doc` in place, with the defaults the ops removed filled back
    /// in (appended to the batch) and the result validated where the ops can matter.
    /// Each op costs what it changes: no container is copied that the document alone
    /// holds. With `sealing`, sealed values the ops reach are opened for writing first
    /// and sealed again after validation (the ops rewritten to carry envelopes). On any
    /// error every op is taken back (an undo log, newest first; a sealed subtree goes
    /// back whole), so `doc` is as it was.
    fn apply_in_place(
        &self,
        doc: &mut Node,
        batch: &mut Batch,
        validate: bool,
        fill: bool,
        sealing: Option<(&Secrets, bool)>,
    ) -> Result<()> {
        let mut undo = Vec::with_capacity(batch.ops.len());
        let mut changes = Vec::new();
        // Sealing rewrites whole subtrees (opened for writing, sealed again): what stood
        // at each lifted key is kept (an O(1) clone) to go back whole on failure, and the
        // undo steps inside those subtrees are skipped.
        let mut saved: Vec<(KeyPath, Option<Node>)> = Vec::new();
        let mut kept = Vec::new();
        if let Some((secrets, _)) = sealing {
            let lifted: Vec<KeyPath> = batch
                .ops
                .iter()
                .filter_map(|op| secrets.lifted(op.key()))
                .collect();
            kept = secrets.to_keep(doc, &lifted);
            saved = lifted
                .into_iter()
                .map(|key| {
                    let old = doc.get(&key).cloned();
                    (key, old)
                })
                .collect();
        }
        let outcome = (|| {
            if let Some((secrets, _)) = sealing {
                secrets.open_for_write(doc, &batch.ops)?;
            }
            // The ops' keys, for the defaults they removed (cloned: filling adds ops).
            let keys: Vec<KeyPath> = match fill {
                true => batch.ops.iter().map(|op| op.key().clone()).collect(),
                false => Vec::new(),
            };
            for op in &batch.ops {
                apply_logged(doc, op, validate, &mut undo, &mut changes)?;
            }
            if fill {
                for key in keys {
                    for op in set_ops(self.defaults.fill(doc, &key)) {
                        apply_logged(doc, &op, validate, &mut undo, &mut changes)?;
                        batch.ops.push(op);
                    }
                }
            }
            if let (true, Some(schema)) = (validate, &self.schema) {
                let violations: Vec<_> = changes
                    .iter()
                    .flat_map(|change| schema.validate_change(doc, change))
                    .collect();
                if !violations.is_empty() {
                    return Err(StoreError::SchemaViolation {
                        violations: dedup(violations),
                        file: None,
                    });
                }
            }
            // Validated on the plaintext; sealed now, the ops rewritten so the journal
            // records only envelopes. Without a key nothing sealed may change.
            if let Some((secrets, reseal)) = sealing {
                secrets.seal_ops(doc, &mut batch.ops, reseal)?;
                secrets.check_kept(doc, &kept)?;
            }
            Ok(())
        })();
        // Where a member was removed (and left a tombstone), once no undo position is
        // held: compacted, so removals stay O(1) amortised (see `Map::compact`).
        let mut removed_from = Vec::new();
        if outcome.is_ok() {
            for step in &undo {
                if let Undo::Reinsert(at, ..) = step {
                    doc.compact_parent(at);
                }
            }
        } else {
            let inside_saved =
                |step: &Undo| saved.iter().any(|(key, _)| key.is_prefix_of(step.path()));
            for step in undo.into_iter().rev() {
                if !inside_saved(&step) {
                    if let Undo::Remove(at) = &step {
                        removed_from.push(at.clone());
                    }
                    step.take_back(doc);
                }
            }
            // Ancestors first: each later one then finds its parent as it first was.
            saved.sort_by_key(|(key, _)| key.len());
            for (key, old) in saved {
                match old {
                    Some(old) => doc.put_back(&key, old),
                    None => {
                        doc.delete(&key);
                        removed_from.push(key);
                    }
                }
            }
        }
        for at in removed_from {
            doc.compact_parent(&at);
        }
        outcome
    }
}

pub(super) fn refuse_internal(key: &KeyPath) -> Result<()> {
    if key.is_internal() {
        return Err(StoreError::invalid_key(
            &key.to_string(),
            "`__internal__` is reserved for migration bookkeeping",
        ));
    }
    Ok(())
}

pub(super) fn set_ops(sets: Vec<(KeyPath, Node)>) -> Vec<Op> {
    sets.into_iter()
        .map(|(key, value)| Op::Set { key, value })
        .collect()
}

/// What `op` does to `before`, for validation; `None` when it changes nothing.
pub(super) fn change_of(before: &Node, op: &Op) -> Option<Change> {
    match op {
        // An item appended to an array is a child added to it: only the item and the
        // array's own keywords are checked, not every item again.
        Op::Append { key, .. } => {
            let key = key.clone();
            match before.get(&key) {
                Some(Node::Array(items)) => Some(Change::Added(key, Segment::Index(items.len()))),
                _ => Some(Change::of_write(before, &key)),
            }
        }
        Op::Set { key, .. } => Some(Change::of_write(before, key)),
        Op::Delete { key } => {
            let key = key.clone();
            before.get(&key)?;
            Some(Change::Removed(key.parent()?, key.last()?.clone()))
        }
    }
}

/// The same violation reported by two overlapping checks, once.
pub(super) fn dedup(violations: Vec<schema::Violation>) -> Vec<schema::Violation> {
    let mut out: Vec<schema::Violation> = Vec::with_capacity(violations.len());
    for v in violations {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// How to take back one op applied in place (see [`Rules::apply_in_place`]).
enum Undo {
    /// The value at the path was replaced: put the old one back.
    Replace(KeyPath, Node),
    /// A member was added at the path (with any parents it needed): remove it.
    Remove(KeyPath),
    /// A member was removed from the path, at this position among its siblings.
    Reinsert(KeyPath, usize, Node),
    /// Items were appended to the array at the path: cut it back to this length.
    Truncate(KeyPath, usize),
}

impl Undo {
    /// The path the step puts back.
    fn path(&self) -> &KeyPath {
        match self {
            Undo::Replace(at, _)
            | Undo::Remove(at)
            | Undo::Reinsert(at, ..)
            | Undo::Truncate(at, _) => at,
        }
    }

    /// Takes the op back. Undone newest first, each finds the document as it left it.
    fn take_back(self, doc: &mut Node) {
        match self {
            // The path existed when the op ran, and everything after it is undone.
            Undo::Replace(at, old) => doc.put_back(&at, old),
            Undo::Remove(at) => {
                doc.delete(&at);
            }
            Undo::Reinsert(at, position, old) => doc.insert_at(&at, position, old),
            Undo::Truncate(at, len) => doc.truncate(&at, len),
        }
    }
}

/// Applies `op` to `doc`, logging how to take it back in `undo` and, with `validate`,
/// what it changed (found in the document just before it) in `changes`. The old value
/// kept for a replacement is an O(1) clone of what the op drops, never of a container it
/// writes into.
fn apply_logged(
    doc: &mut Node,
    op: &Op,
    validate: bool,
    undo: &mut Vec<Undo>,
    changes: &mut Vec<Change>,
) -> Result<()> {
    check_op(doc, op)?;
    if validate {
        changes.extend(change_of(doc, op));
    }
    let key = op.key();
    let appended_to = match (op, doc.get(key)) {
        (Op::Append { .. }, Some(Node::Array(items))) => Some(items.len()),
        _ => None,
    };
    let step = match (op, appended_to) {
        (Op::Delete { .. }, _) => match doc.delete_full(key) {
            Some((position, old)) => Undo::Reinsert(key.clone(), position, old),
            None => return Ok(()),
        },
        (_, Some(len)) => Undo::Truncate(key.clone(), len),
        // A write: what stood at its anchor goes back, or what it added goes.
        _ => match Change::of_write(doc, key) {
            Change::Added(at, segment) => Undo::Remove(at.child(segment)),
            Change::Replaced(at) | Change::Removed(at, _) => match doc.get(&at) {
                Some(old) => Undo::Replace(at, old.clone()),
                None => Undo::Remove(at),
            },
        },
    };
    if !matches!(op, Op::Delete { .. }) {
        apply_op(doc, op)?;
    }
    undo.push(step);
    Ok(())
}

/// Fails exactly when applying `op` to `doc` would.
pub(super) fn check_op(doc: &Node, op: &Op) -> Result<()> {
    match op {
        Op::Set { key, .. } => doc.check_set(key),
        Op::Delete { .. } => Ok(()),
        Op::Append { key, .. } => {
            let key = key.clone();
            match doc.get(&key) {
                None => doc.check_set(&key),
                Some(Node::Array(_)) => Ok(()),
                Some(_) => Err(StoreError::TypeConflict {
                    key: key.to_string(),
                    reason: "it is already set to a non-array value".into(),
                }),
            }
        }
    }
}

/// Applies every op of a batch, or fails on the first one that cannot be applied.
pub(super) fn apply_batch(doc: &mut Node, batch: &Batch) -> Result<()> {
    batch.ops.iter().try_for_each(|op| apply_op(doc, op))
}

/// Applies one op.
fn apply_op(doc: &mut Node, op: &Op) -> Result<()> {
    match op {
        Op::Set { key, value } => {
            doc.set(key, value.clone())?;
        }
        Op::Delete { key } => {
            // No undo holds a position here: the tombstone may go at once.
            doc.delete(key);
            doc.compact_parent(key);
        }
        Op::Append { key, value } => doc.append(key, value.clone())?,
    }
    Ok(())
}
