//! Sync across devices as the committer runs it (the rooms it uses are in
//! [`crate::sync`]). Nothing here runs on the JS thread.
//!
//! - **Out.** After each commit, once the journal's fsync made the changes durable, the
//!   synced keys they wrote ([`State::sync_touched`]) are recorded in the mirror; the
//!   resulting Automerge change goes to the local log, then to the folder.
//! - **In.** When the folder changes (its watch) or the scan interval passes, what
//!   arrived is merged and the difference applied to the store as one change: validated,
//!   defaults filled, journaled, with events. A key a local change wrote since the mirror
//!   last recorded it is left out (the local write is the later one; recorded next, it
//!   supersedes the merge everywhere) and compared again next time.
//! - **Conflicts.** A merge the schema refuses is held back per synced subtree: the store
//!   keeps its last valid state there, `SYNC_CONFLICT` goes to `onError` and the
//!   status, and the subtree is compared again at every look until it applies.
//! - **Restart.** The local log never holds a remote change whose effect on the store is
//!   not durable ([`Syncer::log_waiting`]). So at the first look after open, whatever the
//!   store holds that the mirror does not is a local change (made before a crash let it
//!   be recorded) and is recorded, except in subtrees in conflict. A device that never
//!   synced first adopts what the folder holds, and records only what the folder lacks.

use super::changes::Rules;
use super::state::*;
use crate::document::Node;
use crate::error::StoreError;
use crate::fs::Fs;
use crate::history::iso;
use crate::journal::Op;
use crate::path::KeyPath;
use crate::secrets::Pattern;
use crate::sync::folder::{device_dir_name, SyncFolder};
use crate::sync::local::LocalState;
use crate::sync::mirror::Mirror;
use crate::sync::scope::{Reach, Scope};
use crate::sync::status::{Conflict, DeviceSeen, SyncStatus};
use crate::sync::SyncOptions;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A device compacts its directory in the folder once it holds this many files.
pub(super) const COMPACT_AT: usize = 64;

/// Changes committed within this long of the last folder write wait and go out together
/// in one file: a burst of commits costs the folder (and the committer) one write, not
/// one per commit.
const FOLDER_WRITE_WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One syncing store's side of the sync, owned by its committer.
pub(super) struct Syncer {
    fs: Arc<dyn Fs>,
    options: SyncOptions,
    scope: Scope,
    mirror: Mirror,
    folder: SyncFolder,
    local: LocalState,
    /// This device's directory in the folder: `<device>-<actor>`.
    own_dir: String,
    /// Changes recorded here that are not in the folder yet (it was offline, or the
    /// write failed); written, as one file, at the next chance.
    outbox: Vec<Vec<u8>>,
    /// Changes merged from the folder, with the sequence number of the store change that
    /// applied them: appended to the local log once that change is durable, never
    /// before (see the module's "Restart").
    log_waiting: Vec<(u64, Vec<u8>)>,
    /// Files in this device's directory, as far as this device wrote or found them.
    own_files: usize,
    /// Keys whose merged state was not applied yet (a local change raced it): compared
    /// again at the next look.
    recheck: Vec<KeyPath>,
    /// Subtrees in conflict, by key.
    conflicts: BTreeMap<String, Conflict>,
    /// The store was compared with the mirror since open (see the module's "Restart").
    reconciled: bool,
    /// The log was empty at open: this device has not synced this store yet.
    never_synced: bool,
    /// Keys local changes wrote before the first look, recorded then.
    unrecorded: Vec<KeyPath>,
    /// When the folder is looked at next, besides its watch.
    pub(super) next_look: Instant,
    /// The newest change time merged, by actor (hex).
    last_seen: HashMap<String, i64>,
    /// Changes merged changes wait for (see [`Mirror::missing`]), as of the last merge.
    pending_in: usize,
    reachable: bool,
    last_scan: Option<i64>,
    last_error: Option<(String, String)>,
    /// The status last written to the local directory.
    written: Option<SyncStatus>,
    /// When a change file was last written (see [`FOLDER_WRITE_WINDOW`]).
    last_write: Option<Instant>,
    /// The watch on `<folder>/<store>`, once the folder was there to watch; between
    /// looks it makes a change another device wrote arrive without waiting.
    folder_watch: Option<crate::watch::FileWatch>,
}

impl Syncer {
    /// Opens the sync of the store at `path`: its local directory, its actor, and the
    /// mirror as its log left it. Touches nothing in the folder.
    pub(super) fn open(
        fs: Arc<dyn Fs>,
        path: &Path,
        options: SyncOptions,
        sensitive: Vec<Pattern>,
    ) -> crate::error::Result<Syncer> {
        let scope = Scope::new(&options.keys, sensitive)?;
        let (local, logged) = LocalState::open(fs.clone(), path)?;
        let mut mirror = Mirror::new(&local.actor, scope.clone());
        for payload in &logged.payloads {
            mirror.merge(payload)?;
        }
        let unsent = logged.payloads.len() - logged.unsent;
        let own_dir = format!(
            "{}-{}",
            device_dir_name(&options.device),
            &local.actor_hex()[..16]
        );
        let store = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "config".into());
        let folder = SyncFolder::new(fs.clone(), &options.folder, &store, &own_dir);
        let previous: Option<SyncStatus> = local
            .read_status()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let conflicts = previous
            .map(|s| s.conflicts)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.key.clone(), c))
            .collect();
        Ok(Syncer {
            fs,
            never_synced: logged.payloads.is_empty(),
            // What a crash or a close kept from the folder goes at the first look.
            outbox: logged.payloads[unsent..].to_vec(),
            own_files: folder.own_files().len(),
            options,
            scope,
            mirror,
            folder,
            local,
            own_dir,
            log_waiting: Vec::new(),
            recheck: Vec::new(),
            conflicts,
            reconciled: false,
            unrecorded: Vec::new(),
            next_look: Instant::now(),
            last_seen: HashMap::new(),
            pending_in: 0,
            reachable: false,
            last_scan: None,
            last_error: None,
            written: None,
            last_write: None,
            folder_watch: None,
        })
    }

    /// The directory of the folder to watch: `<folder>/<store>`.
    pub(super) fn watched_dir(&self) -> std::path::PathBuf {
        self.folder
            .own_dir()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// After a commit made every change up to `upto` durable: merged changes it applied
    /// go to the log, and the synced keys `touched` (written by local changes, found in
    /// `doc`, the document at `upto`) are recorded and published.
    pub(super) fn after_commit(
        &mut self,
        shared: &Shared,
        doc: Option<&Node>,
        touched: Vec<KeyPath>,
        upto: u64,
        closing: bool,
    ) {
        let waiting = std::mem::take(&mut self.log_waiting);
        for (seq, payload) in waiting {
            if seq <= upto {
                self.append_log(shared, &payload);
            } else {
                self.log_waiting.push((seq, payload));
            }
        }
        if !self.reconciled {
            self.unrecorded.extend(touched);
            return;
        }
        if let Some(doc) = doc {
            for key in touched {
                self.record(shared, doc, &key);
            }
        }
        self.publish(shared);
        if closing {
            self.flush_outbox(shared); // no look comes after the last commit
        }
    }

    /// Whether a change at `key` can reach the mirror.
    pub(super) fn syncs(&self, key: &KeyPath) -> bool {
        self.scope.reach(key.segments()) != Reach::Outside
    }

    fn record(&mut self, shared: &Shared, doc: &Node, key: &KeyPath) {
        if !self.syncs(key) {
            return;
        }
        if let Err(e) = self.mirror.record(doc, key.segments()) {
            shared.report(&e);
        }
    }

    fn append_log(&mut self, shared: &Shared, payload: &[u8]) {
        if let Err(e) = self.local.append(payload) {
            shared.report(&e);
        }
    }

    /// Seals what was recorded as one change: to the log (the store holds it durably
    /// already), then to the folder.
    fn publish(&mut self, shared: &Shared) {
        if let Some(bytes) = self.mirror.commit(now_ms()) {
            self.append_log(shared, &bytes);
            self.outbox.push(bytes);
            match self.last_write.map(|at| at + FOLDER_WRITE_WINDOW) {
                // Written at the look due then, with whatever else comes meanwhile.
                Some(due) if due > Instant::now() => self.next_look = self.next_look.min(due),
                _ => self.flush_outbox(shared),
            }
        }
    }

    /// Writes the changes waiting to go out as one file, if the folder is there (an
    /// unmounted share is never created on the local disk).
    fn flush_outbox(&mut self, shared: &Shared) {
        if self.outbox.is_empty() || !self.fs.is_dir(&self.options.folder) {
            return;
        }
        let payload = self.outbox.concat();
        match self.folder.write(&payload) {
            Ok(_) => {
                self.outbox.clear();
                self.local.sent();
                self.own_files += 1;
                self.last_write = Some(Instant::now());
            }
            Err(e) => {
                self.last_error = Some((e.code().into(), e.to_string()));
                shared.report(&e);
            }
        }
    }

    /// Looks at the folder: writes what waits to go out, merges what arrived, applies
    /// the difference to the store, compacts this device's files, publishes the status.
    /// Skipped while a transaction holds the store (a migration): looked at next time.
    pub(super) fn look(&mut self, rules: &Rules, owner: &Arc<Shared>) {
        let shared = rules.shared;
        self.next_look = Instant::now() + self.options.scan_interval;
        {
            let st = shared.lock();
            if st.hold.is_some() || st.closing {
                return;
            }
        }
        self.reachable = self.fs.is_dir(&self.options.folder);
        self.last_scan = Some(now_ms());
        // A device that synced before compares the store with the mirror as its log left
        // it, before anything new is merged: a difference then can only be a change made
        // here (see the module's "Restart").
        if !self.reconciled && !self.never_synced {
            self.reconcile(rules, Vec::new());
        }
        let mut merged = Vec::new();
        if self.reachable {
            self.flush_outbox(shared);
            if self.folder_watch.is_none() {
                self.folder_watch = watch_folder(&*self.fs, &self.watched_dir(), owner);
            }
            let heads = self.mirror.heads();
            for arrival in self.folder.scan() {
                if arrival.device == self.own_dir {
                    self.own_files = self.own_files.max(1);
                }
                match self.mirror.merge(&arrival.payload) {
                    Ok(_) => merged.push(arrival.payload),
                    // Whole (its hash matched) but not Automerge: another program's
                    // file, or a later format. Reported; the rest goes on.
                    Err(e) => shared.report(&e),
                }
            }
            // Both walk the mirror's history: only after something arrived.
            if !merged.is_empty() {
                for (actor, time) in self.mirror.changes_since(&heads) {
                    let seen = self.last_seen.entry(actor).or_insert(time);
                    *seen = (*seen).max(time);
                }
                self.pending_in = self.mirror.missing();
            }
            self.last_error = None;
        }
        if !self.reconciled {
            if !self.reachable {
                // A device joining adopts what the folder holds first: it waits for it.
                return self.publish_status(shared);
            }
            self.reconcile(rules, std::mem::take(&mut merged));
        }
        self.apply(rules, merged);
        let folder_due =
            self.reachable && (self.folder.own_damaged() || self.own_files > COMPACT_AT);
        // The log is compacted only when all it holds is durable in the store and in the
        // folder: the compacted log counts as sent (see `LocalState::compact`).
        let log_due =
            self.log_waiting.is_empty() && self.outbox.is_empty() && self.local.wants_compaction();
        if folder_due || log_due {
            let whole = self.mirror.save(); // once, for both
            if folder_due {
                match self.folder.compact(&whole) {
                    Ok(_) => self.own_files = 1,
                    Err(e) => shared.report(&e),
                }
            }
            if log_due {
                if let Err(e) = self.local.compact(&whole) {
                    shared.report(&e);
                }
            }
        }
        self.publish_status(shared);
    }

    /// The first look after open (see the module's "Restart"): what the store holds and
    /// the mirror does not is recorded, or, on a device that never synced, adopted from
    /// the mirror (which holds what the folder held, `merged`) where the folder has it.
    fn reconcile(&mut self, rules: &Rules, merged: Vec<Vec<u8>>) {
        let shared = rules.shared;
        let doc = shared.lock().doc.clone();
        let mut adopt = Vec::new();
        // The first difference compares everything, and starts the mirror's diff cursor.
        for op in self.mirror.difference(&doc) {
            let key = op.key().clone();
            if self.in_conflict(&key) {
                continue;
            }
            let written_here = self.unrecorded.iter().any(|t| t.overlaps(&key));
            match op {
                Op::Set { .. } if self.never_synced && !written_here => adopt.push(op),
                _ => self.record(shared, &doc, &key),
            }
        }
        for key in std::mem::take(&mut self.unrecorded) {
            self.record(shared, &doc, &key);
        }
        self.reconciled = true;
        self.publish(shared);
        self.commit_remote(rules, adopt, merged);
    }

    fn in_conflict(&self, key: &KeyPath) -> bool {
        self.conflicts
            .keys()
            .any(|k| KeyPath::parse(k).is_ok_and(|k| k.overlaps(key)))
    }

    /// Applies what the merges changed, and what earlier looks left (raced keys, subtrees
    /// in conflict), as one change. `merged` goes to the log once that change is durable.
    fn apply(&mut self, rules: &Rules, merged: Vec<Vec<u8>>) {
        let doc = rules.shared.lock().doc.clone();
        let mut ops = self.mirror.difference(&doc);
        let mut again = std::mem::take(&mut self.recheck);
        again.extend(self.conflicts.keys().filter_map(|k| KeyPath::parse(k).ok()));
        if !again.is_empty() {
            for op in self.mirror.difference_at(&doc, &again) {
                if !ops.iter().any(|o| o.key().overlaps(op.key())) {
                    ops.push(op);
                }
            }
        }
        // A subtree in conflict that no longer differs was resolved here (a local write,
        // or a change that brought the merge back to what this device holds).
        let differing: Vec<KeyPath> = ops.iter().map(|op| op.key().clone()).collect();
        let resolved: Vec<String> = self
            .conflicts
            .keys()
            .filter(|k| KeyPath::parse(k).is_ok_and(|k| !differing.iter().any(|d| d.overlaps(&k))))
            .cloned()
            .collect();
        for key in resolved {
            self.conflicts.remove(&key);
        }
        self.commit_remote(rules, ops, merged);
    }

    /// The subtree `key` belongs to, as its key.
    fn subtree(&self, key: &KeyPath) -> KeyPath {
        let n = self.scope.subtree_len(key.segments());
        KeyPath::from_segments("", key.segments()[..n].to_vec()).unwrap_or_else(|_| key.clone())
    }

    /// Commits `ops`, merged from other devices, as one change, holding back the subtrees
    /// whose merged state the schema refuses and the keys local changes wrote meanwhile.
    fn commit_remote(&mut self, rules: &Rules, mut ops: Vec<Op>, merged: Vec<Vec<u8>>) {
        let shared = rules.shared;
        let mut newly_conflicted: Vec<(String, Vec<crate::violation::Violation>)> = Vec::new();
        let mut seq = None;
        while !ops.is_empty() {
            let st = shared.lock();
            if st.closing {
                // Merged, not applied: not logged either (see the module's "Restart"); the
                // folder still holds them for the next open.
                return;
            }
            // A key written here since the mirror last recorded: the local write wins.
            let touched = st.sync_touched.as_deref().unwrap_or_default();
            let (raced, kept): (Vec<Op>, Vec<Op>) = ops
                .drain(..)
                .partition(|op| touched.iter().any(|t| t.overlaps(op.key())));
            self.recheck.extend(raced.iter().map(|op| op.key().clone()));
            if kept.is_empty() {
                break;
            }
            match rules.commit_locked(st, kept.clone(), true, true, true) {
                Ok(receipt) => {
                    seq = Some(receipt.seq);
                    if receipt.schedule_delivery {
                        shared.notify_delivery();
                    }
                    break;
                }
                Err(StoreError::SchemaViolation { violations, .. }) => {
                    // Hold back the subtrees the violations name; all of them when one
                    // names none (a rule about the whole store).
                    let subtrees: Vec<KeyPath> =
                        kept.iter().map(|op| self.subtree(op.key())).collect();
                    let mut named: Vec<KeyPath> = Vec::new();
                    for v in &violations {
                        let hit: Vec<&KeyPath> = match KeyPath::parse(&v.key) {
                            Ok(at) if !at.is_root() => {
                                subtrees.iter().filter(|s| s.overlaps(&at)).collect()
                            }
                            _ => Vec::new(),
                        };
                        if hit.is_empty() {
                            named = subtrees.clone();
                            break;
                        }
                        named.extend(hit.into_iter().cloned());
                    }
                    for (op, subtree) in kept.into_iter().zip(subtrees) {
                        if named.contains(&subtree) {
                            let key = subtree.to_string();
                            if !self.conflicts.contains_key(&key)
                                && !newly_conflicted.iter().any(|(k, _)| *k == key)
                            {
                                newly_conflicted.push((key, violations.clone()));
                            }
                        } else {
                            ops.push(op);
                        }
                    }
                }
                Err(e) => {
                    shared.report(&e);
                    self.recheck.extend(kept.iter().map(|op| op.key().clone()));
                    break;
                }
            }
        }
        match seq {
            Some(seq) => self
                .log_waiting
                .extend(merged.into_iter().map(|payload| (seq, payload))),
            // Nothing of them reached the store (nothing differed, or all is held back):
            // they are the mirror's alone, and may be logged now.
            None => {
                for payload in merged {
                    self.append_log(shared, &payload);
                }
            }
        }
        if !newly_conflicted.is_empty() {
            let since = iso(now_ms().max(0) as u64);
            let keys: Vec<String> = newly_conflicted.iter().map(|(k, _)| k.clone()).collect();
            let violations = newly_conflicted[0].1.clone();
            for (key, violations) in newly_conflicted {
                let message = crate::violation::describe(&violations);
                self.conflicts.insert(
                    key.clone(),
                    Conflict {
                        key,
                        message,
                        since: since.clone(),
                    },
                );
            }
            shared.report(&StoreError::SyncConflict { keys, violations });
        }
    }

    /// The status as it stands.
    pub(super) fn status(&mut self) -> SyncStatus {
        let mut devices: Vec<DeviceSeen> = self
            .folder
            .devices_seen()
            .iter()
            .cloned()
            .map(|directory| {
                let (device, actor) = directory
                    .rsplit_once('-')
                    .map_or((directory.as_str(), ""), |(d, a)| (d, a));
                let last = self
                    .last_seen
                    .iter()
                    .filter(|(hex, _)| !actor.is_empty() && hex.starts_with(actor))
                    .map(|(_, t)| *t)
                    .max();
                DeviceSeen {
                    device: device.to_string(),
                    this_device: directory == self.own_dir,
                    last_change: last.map(|t| iso(t.max(0) as u64)),
                    directory,
                }
            })
            .collect();
        devices.sort_by(|a, b| a.directory.cmp(&b.directory));
        SyncStatus {
            device: self.options.device.clone(),
            directory: self.own_dir.clone(),
            folder: self.watched_dir(),
            keys: self.options.keys.clone(),
            reachable: self.reachable,
            devices,
            pending_out: self.outbox.len(),
            pending_in: self.pending_in,
            conflicts: self.conflicts.values().cloned().collect(),
            last_scan: self.last_scan.map(|t| iso(t.max(0) as u64)),
            last_error: self.last_error.clone(),
        }
    }

    /// Publishes the status to `syncStatus()`, and to the local directory when it changed
    /// (the CLI reads it there).
    fn publish_status(&mut self, shared: &Shared) {
        let status = self.status();
        *shared.sync_status.lock().unwrap_or_else(|e| e.into_inner()) = Some(status.clone());
        let mut comparable = status.clone();
        comparable.last_scan = None;
        if self.written.as_ref() != Some(&comparable) {
            let json = serde_json::to_vec_pretty(&status).expect("a status serialises");
            match self.local.write_status(&json) {
                Ok(()) => self.written = Some(comparable),
                Err(e) => shared.report(&e),
            }
        }
    }
}

/// Watches the store's directory in the folder (made if the folder is there): a change
/// there makes the committer look soon. `None` where it cannot be watched (a simulated
/// disk, a file system without notifications): the scan interval still finds changes.
fn watch_folder(fs: &dyn Fs, dir: &Path, owner: &Arc<Shared>) -> Option<crate::watch::FileWatch> {
    fs.create_dir_all(dir).ok()?;
    let shared = Arc::downgrade(owner);
    let changed = move || {
        shared
            .upgrade()
            .is_some_and(|shared| shared.hand_to_committer(|st| st.sync_due = true))
    };
    crate::watch::watch_tree(dir, Arc::new(changed)).ok()
}

impl Engine {
    /// The sync's status as the committer last published it; `None` without `sync`, or
    /// before the first look at the folder (right after open).
    pub fn sync_status(&self) -> Option<SyncStatus> {
        self.shared
            .sync_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Looks at the sync folder soon, without waiting for its watch or the interval.
    pub fn sync_now(&self) {
        self.shared.lock().sync_due = true;
        self.shared.wake();
    }
}
