//! Change tracking: watchers of one key (with old and new values, coalesced per
//! delivery) and key feeds (the paths that changed), marked by each change and turned
//! into events when the binding asks.

use super::state::*;
use crate::document::Node;
use crate::path::{KeyPath, INTERNAL_KEY};
use crate::{feed, secrets};
use std::sync::Arc;

impl Engine {
    /// Wakes event delivery when a change comes from another thread (the file watch).
    pub fn set_notifier(&self, notifier: Option<Arc<dyn Fn() + Send + Sync>>) {
        *self
            .shared
            .notifier
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = notifier;
    }

    /// Starts reporting changes to `key` (the root for the whole store).
    pub fn watch(&self, key: KeyPath) -> u64 {
        let mut st = self.shared.lock();
        let id = st.next_watch_id;
        st.next_watch_id += 1;
        st.watchers.push(Watcher {
            id,
            path: key,
            old: None,
        });
        id
    }

    /// Starts a key feed: every change is reported as the paths it changed, with their
    /// values at delivery and no old values (see [`feed`]). For followers of the whole
    /// store, which would otherwise pay a copy of it per change. Stopped by `unwatch`.
    pub fn follow(&self) -> u64 {
        let mut st = self.shared.lock();
        let id = st.next_watch_id;
        st.next_watch_id += 1;
        st.feeds.push((id, feed::KeyFeed::new()));
        id
    }

    /// Stops a watcher or a key feed.
    pub fn unwatch(&self, id: u64) {
        let mut st = self.shared.lock();
        st.watchers.retain(|w| w.id != id);
        st.feeds.retain(|(feed_id, _)| *feed_id != id);
    }

    /// The delivery a receipt asked for could not be scheduled: the next change asks again.
    pub fn delivery_failed(&self) {
        self.shared.lock().delivery_scheduled = false;
    }

    /// The changes since the last call, one per watcher whose value really differs, in
    /// the order the watchers were registered. Each carries the value before the first
    /// undelivered change and the value now.
    pub fn take_events(&self) -> Vec<ChangeEvent> {
        let mut st = self.shared.lock();
        st.delivery_scheduled = false;
        let mut events = std::mem::take(&mut st.undelivered);
        events.extend(collect_events(&mut st, &self.shared));
        events
    }
}

/// Turns the watchers' pending changes into events, comparing each old value with the
/// value now.
pub(super) fn collect_events(st: &mut State, shared: &Shared) -> Vec<ChangeEvent> {
    let State {
        watchers,
        feeds,
        doc,
        seq,
        secrets,
        ..
    } = st;
    let mut events = Vec::new();
    for watcher in watchers.iter_mut() {
        let Some(old) = watcher.old.take() else {
            continue;
        };
        let new = visible(secrets.as_ref(), doc, &watcher.path, shared);
        let new = new.as_ref();
        let same = match (&old, new) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            _ => false,
        };
        if !same {
            events.push(ChangeEvent {
                watch_id: watcher.id,
                seq: *seq,
                path: None,
                new_json: new.map(|n| user_json(&watcher.path, n)),
                old_json: old.as_ref().map(|n| user_json(&watcher.path, n)),
            });
        }
    }
    for (id, feed) in feeds.iter_mut() {
        for path in feed.take() {
            let new = visible(secrets.as_ref(), doc, &path, shared);
            events.push(ChangeEvent {
                watch_id: *id,
                seq: *seq,
                new_json: new.map(|n| user_json(&path, &n)),
                path: Some(path),
                old_json: None,
            });
        }
    }
    events
}

/// The value at `path` as a reader sees it (sealed values opened), for change events. A
/// sealed value that does not open is reported to `onError` and shows as absent.
pub(super) fn visible(
    secrets: Option<&secrets::Secrets>,
    doc: &Node,
    path: &KeyPath,
    shared: &Shared,
) -> Option<Node> {
    match secrets {
        Some(secrets) if secrets.touches(path) => match secrets.reveal(doc, path) {
            Ok(node) => node,
            Err(err) => {
                shared.report(&err);
                None
            }
        },
        _ => doc.get(path).cloned(),
    }
}

/// A value as JS sees it: the root without conf's `__internal__` bookkeeping.
pub(super) fn user_json(key: &KeyPath, node: &Node) -> String {
    if let (true, Node::Object(map)) = (key.is_root(), node) {
        if map.contains_key(INTERNAL_KEY) {
            let mut visible = (**map).clone();
            visible.shift_remove(INTERNAL_KEY);
            return Node::Object(Arc::new(visible)).to_json();
        }
    }
    node.to_json()
}
