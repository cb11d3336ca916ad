//! The synced subtrees of a store mirrored in an Automerge document, both ways.
//!
//! The mirror is flat: every value of a synced object that is not itself an object is
//! one entry of the document's root map, keyed by its path (`["settings","theme"]`), and
//! an empty object is an entry holding an empty map. Concurrent edits of different keys
//! therefore never touch the same Automerge object, and no two devices can create "the
//! same" object concurrently (where Automerge would keep one and hide the other's
//! members): a set of `settings.theme` on one device and of `settings.fontSize` on
//! another both survive, and two sets of one key resolve by Automerge's rule, the same
//! on every device. An array is one entry holding an Automerge list (its items, and the
//! objects and arrays inside them, as Automerge maps and lists), so items added on two
//! devices are both kept.
//!
//! Local changes go in with [`Mirror::record`], remote ones with [`Mirror::merge`]
//! (Automerge holds a change until its dependencies arrive); [`Mirror::difference`] then
//! says what the store must change to hold the merged result. Both ways go through the
//! [`Scope`]: what does not sync, or is sensitive, is never put in the mirror and never
//! taken from it, whatever another device put there. A string is one value (the last
//! write wins), not collaborative text.

use super::scope::{Reach, Scope};
use super::tree::{same, Tree};
use crate::document::{Map, Node};
use crate::error::{Result, StoreError};
use crate::journal::Op;
use crate::path::{KeyPath, Segment};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, PatchAction, Prop, ReadDoc, ScalarValue,
    Value, ROOT,
};
use std::sync::Arc;

/// The Automerge document of one store's synced subtrees, on one device.
pub struct Mirror {
    doc: AutoCommit,
    scope: Scope,
}

fn sync_error(what: &str, e: automerge::AutomergeError) -> StoreError {
    StoreError::InvalidValue {
        key: String::new(),
        reason: format!("sync: {what}: {e}"),
    }
}

/// The root key of the entry at the object path `names`.
fn entry_key(names: &[String]) -> String {
    serde_json::to_string(names).expect("strings serialise")
}

/// The root keys of the entries strictly below the entry key `exact`, in key order:
/// `["a","b"` then `,` starts each of them.
fn strictly_below(exact: &str) -> std::ops::Range<String> {
    let start = format!("{},", &exact[..exact.len() - 1]);
    let mut end = start.clone();
    end.push(char::MAX);
    start..end
}

/// The scalar a store value is mirrored as (`None` for an object or array).
fn scalar_of(node: &Node) -> Option<ScalarValue> {
    Some(match node {
        Node::Null => ScalarValue::Null,
        Node::Bool(b) => ScalarValue::Boolean(*b),
        Node::String(s) => ScalarValue::Str(s.as_str().into()),
        Node::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => ScalarValue::Int(i),
            (None, Some(u)) => ScalarValue::Uint(u),
            _ => ScalarValue::F64(n.as_f64().unwrap_or(0.0)),
        },
        Node::Array(_) | Node::Object(_) => return None,
    })
}

/// The store value of a mirrored scalar. Kinds only another program could write
/// (bytes, values of a later Automerge) read as null.
fn node_of(scalar: &ScalarValue) -> Node {
    match scalar {
        ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Node::Null,
        ScalarValue::Boolean(b) => Node::Bool(*b),
        ScalarValue::Str(s) => Node::String(s.as_str().into()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Node::Number((*i).into()),
        ScalarValue::Uint(u) => Node::Number((*u).into()),
        ScalarValue::Counter(c) => Node::Number(i64::from(c).into()),
        ScalarValue::F64(f) => serde_json::Number::from_f64(*f).map_or(Node::Null, Node::Number),
    }
}

/// The names of `path`'s segments (an index as its digits): an entry's object path.
fn names_of(path: &[Segment]) -> Vec<String> {
    path.iter()
        .map(|s| match s {
            Segment::Key(name) => name.clone(),
            Segment::Index(i) => i.to_string(),
        })
        .collect()
}

impl Mirror {
    /// An empty mirror whose changes are signed by `actor` (one per device and store,
    /// kept by the caller: a device that changed actor would look like a new device).
    pub fn new(actor: &[u8], scope: Scope) -> Mirror {
        Mirror {
            doc: AutoCommit::new().with_actor(ActorId::from(actor)),
            scope,
        }
    }

    /// Brings the mirror at `path` to what `store` (the whole document) holds there:
    /// work in proportion to the value at `path` and the entries below it, not to the
    /// store. A key inside an array brings that array's list over.
    pub fn record(&mut self, store: &Node, path: &[Segment]) -> Result<()> {
        // The object path down to the first array on the way (an array is one entry).
        let mut node = Some(store);
        let mut depth = 0;
        while depth < path.len() {
            match node {
                Some(Node::Object(_)) => {
                    node = node.and_then(|n| n.child(&path[depth]));
                    depth += 1;
                }
                _ => break,
            }
        }
        let at: Vec<Segment> = path[..depth].to_vec();
        match node {
            Some(Node::Array(_)) if depth < path.len() => {
                // The array at `at` holds the changed key.
                self.sync_entry(&at, node)
            }
            _ => self.sync_subtree(&at, node),
        }?;
        self.fix_empty_ancestors(store, &at)
    }

    /// Makes the entries at and below the object path `at` those of `value`.
    fn sync_subtree(&mut self, at: &[Segment], value: Option<&Node>) -> Result<()> {
        let names = names_of(at);
        let mut stale: Vec<String> = self.entries_below(&names);
        let mut leaves = Vec::new();
        self.leaves(&mut at.to_vec(), value, &mut leaves);
        for (path, leaf) in &leaves {
            let key = entry_key(&names_of(path));
            stale.retain(|k| *k != key);
            self.sync_entry(path, Some(leaf))?;
        }
        for key in stale {
            self.doc
                .delete(ROOT, key.as_str())
                .map_err(|e| sync_error("delete", e))?;
        }
        Ok(())
    }

    /// The root keys of the entries at the object path `names` and below it.
    fn entries_below(&self, names: &[String]) -> Vec<String> {
        let exact = entry_key(names);
        if names.is_empty() {
            return self.doc.keys(ROOT).collect();
        }
        let mut keys: Vec<String> = self
            .doc
            .map_range(ROOT, strictly_below(&exact))
            .map(|item| item.key.to_string())
            .collect();
        if self.doc.get(ROOT, exact.as_str()).ok().flatten().is_some() {
            keys.push(exact);
        }
        keys
    }

    /// The synced entries of `value` at `path`: each non-object, and each empty object.
    fn leaves<'a>(
        &self,
        path: &mut Vec<Segment>,
        value: Option<&'a Node>,
        out: &mut Vec<(Vec<Segment>, &'a Node)>,
    ) {
        let reach = if path.is_empty() {
            Reach::Above
        } else {
            self.scope.reach(path)
        };
        match (reach, value) {
            (Reach::Outside, _) | (_, None) => {}
            (_, Some(Node::Object(map))) if !map.is_empty() => {
                for (name, child) in map.iter() {
                    path.push(Segment::Key(name.to_string()));
                    self.leaves(path, Some(child), out);
                    path.pop();
                }
            }
            (Reach::Inside, Some(leaf)) => out.push((path.clone(), leaf)),
            (Reach::Above, Some(_)) => {}
        }
    }

    /// Makes the entry at the object path `path` hold `value` (an empty object, an
    /// array or a scalar; `None` removes it).
    fn sync_entry(&mut self, path: &[Segment], value: Option<&Node>) -> Result<()> {
        let key = entry_key(&names_of(path));
        self.sync_at(&ROOT, Prop::Map(key), &mut path.to_vec(), value)
    }

    /// Makes `(obj, prop)`, the value at `path`, hold `value` with the fewest operations;
    /// what is outside the scope at `path` (a sensitive key) is held as absent.
    fn sync_at(
        &mut self,
        obj: &ObjId,
        prop: Prop,
        path: &mut Vec<Segment>,
        value: Option<&Node>,
    ) -> Result<()> {
        let value = value.filter(|_| self.scope.reach(path) == Reach::Inside);
        let err = |e| sync_error("write", e);
        let current = self.doc.get(obj, prop.clone()).map_err(err)?;
        match value {
            None => {
                if current.is_some() {
                    match prop {
                        // An item left out (sensitive) keeps its index, as null.
                        Prop::Seq(i) => self.doc.put(obj, i, ScalarValue::Null).map_err(err)?,
                        Prop::Map(_) => self.doc.delete(obj, prop).map_err(err)?,
                    }
                }
            }
            Some(Node::Object(map)) => {
                let id = match current {
                    Some((Value::Object(ObjType::Map), id)) => id,
                    _ => self.doc.put_object(obj, prop, ObjType::Map).map_err(err)?,
                };
                for (name, child) in map.iter() {
                    path.push(Segment::Key(name.to_string()));
                    self.sync_at(&id, Prop::Map(name.to_string()), path, Some(child))?;
                    path.pop();
                }
                let gone: Vec<String> = self
                    .doc
                    .keys(&id)
                    .filter(|k| !map.contains_key(k))
                    .collect();
                for name in gone {
                    self.doc.delete(&id, name.as_str()).map_err(err)?;
                }
            }
            Some(Node::Array(items)) => {
                let id = match current {
                    Some((Value::Object(ObjType::List), id)) => id,
                    _ => self.doc.put_object(obj, prop, ObjType::List).map_err(err)?,
                };
                let have = self.doc.length(&id);
                for i in have..items.len() {
                    self.doc.insert(&id, i, ScalarValue::Null).map_err(err)?;
                }
                for i in (items.len()..have).rev() {
                    self.doc.delete(&id, i).map_err(err)?;
                }
                for (i, item) in items.iter().enumerate() {
                    path.push(Segment::Index(i));
                    self.sync_at(&id, Prop::Seq(i), path, Some(item))?;
                    path.pop();
                }
            }
            Some(scalar) => {
                let same = matches!(&current, Some((Value::Scalar(s), _)) if node_of(s) == *scalar);
                if !same {
                    let value = scalar_of(scalar).expect("a scalar");
                    self.doc.put(obj, prop, value).map_err(err)?;
                }
            }
        }
        Ok(())
    }

    /// After a change at the object path `at`: an ancestor object the store now holds
    /// empty gets its entry, and one that holds members loses it.
    fn fix_empty_ancestors(&mut self, store: &Node, at: &[Segment]) -> Result<()> {
        for depth in 1..=at.len() {
            let path = &at[..depth];
            if self.scope.reach(path) != Reach::Inside {
                continue;
            }
            let node = KeyPath::from_segments("", path.to_vec())
                .ok()
                .and_then(|p| store.get(&p).cloned());
            let empty = matches!(&node, Some(Node::Object(map)) if map.is_empty());
            let key = entry_key(&names_of(path));
            let has_entry = self.doc.get(ROOT, key.as_str()).ok().flatten().is_some();
            if empty || (has_entry && matches!(node, Some(Node::Object(_)))) {
                self.sync_entry(path, node.as_ref().filter(|_| empty))?;
            }
        }
        Ok(())
    }

    /// Seals what was recorded since the last commit as one Automerge change, and
    /// returns the bytes of the changes made since the last call (to write to the
    /// folder), or `None` if nothing changed.
    pub fn commit(&mut self, time_ms: i64) -> Option<Vec<u8>> {
        self.doc
            .commit_with(CommitOptions::default().with_time(time_ms))?;
        Some(self.doc.save_incremental())
    }

    /// Merges changes another device wrote (any number, in Automerge's binary form;
    /// duplicates are ignored, changes whose dependencies are missing wait for them).
    /// Returns how many operations were applied.
    pub fn merge(&mut self, bytes: &[u8]) -> Result<usize> {
        self.doc
            .load_incremental(bytes)
            .map_err(|e| sync_error("merge", e))
    }

    /// The whole mirror, every change in it, compressed: what a device compacting its
    /// files writes.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The actor and time (ms since the epoch, as its author's clock read) of every
    /// change merged or committed since `heads` (from [`Mirror::heads`]).
    pub fn changes_since(&mut self, heads: &[ChangeHash]) -> Vec<(String, i64)> {
        self.doc
            .get_changes(heads)
            .iter()
            .map(|c| (c.actor_id().to_hex_string(), c.timestamp()))
            .collect()
    }

    /// How many changes merged changes depend on that have not arrived: they wait.
    pub fn missing(&mut self) -> usize {
        self.doc.get_missing_deps(&[]).len()
    }

    /// The mirror's heads: equal on two devices exactly when they merged the same changes.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The mirror's synced subtrees as one document. Where two devices' entries
    /// disagree on a key's kind (one set `a` to a number while another set `a.b`), the
    /// object wins, on every device alike; a key that is not one a store could hold
    /// (`__proto__`, a malformed path) is left out.
    pub fn view(&self) -> Node {
        let keys: Vec<String> = self.doc.keys(ROOT).collect();
        self.tree_of(&[], keys).unwrap_or_else(Node::empty_object)
    }

    /// The value the entries `keys`, at or below the object path `at`, make there (see
    /// [`Mirror::view`]); `None` when none of them counts.
    fn tree_of(&self, at: &[String], keys: Vec<String>) -> Option<Node> {
        let mut tree = Tree::default();
        let mut any = false;
        for key in keys {
            let Ok(names) = serde_json::from_str::<Vec<String>>(&key) else {
                continue;
            };
            let path: Vec<Segment> = names.iter().cloned().map(Segment::Key).collect();
            if names.is_empty()
                || !names.starts_with(at)
                || KeyPath::from_segments("", path.clone()).is_err()
                || self.scope.reach(&path) != Reach::Inside
            {
                continue;
            }
            if let Ok(Some(value)) = self.doc.get(ROOT, key.as_str()) {
                let node = self.node_of_value(&mut path.clone(), &value);
                tree.put(&names[at.len()..], node);
                any = true;
            }
        }
        any.then(|| tree.into_node())
    }

    /// Whether the mirror holds an object at the object path `names`: entries below it,
    /// or the entry of an empty object.
    fn is_object_at(&self, names: &[String]) -> bool {
        if names.is_empty() {
            return true;
        }
        let exact = entry_key(names);
        self.doc
            .map_range(ROOT, strictly_below(&exact))
            .next()
            .is_some()
            || matches!(
                self.doc.get(ROOT, exact.as_str()),
                Ok(Some((Value::Object(ObjType::Map), _)))
            )
    }

    /// What the store must change to hold the mirror's synced subtrees: each set or
    /// delete at the highest key where the two differ, nothing outside the scope. The
    /// caller applies every one (after a refusal, it compares everything again with
    /// [`Mirror::difference_all`]). Work in proportion to the entries changed since the
    /// last call, not to the store; the first call compares everything.
    pub fn difference(&mut self, store: &Node) -> Vec<Op> {
        // Automerge's diff cursor marks the heads the store was last brought to; from
        // there it keeps an index of what changes, so the next diff reads only that.
        if self.doc.diff_cursor().is_empty() {
            let ops = self.difference_all(store);
            self.doc.update_diff_cursor();
            return ops;
        }
        let patches = self.doc.diff_incremental();
        self.difference_of(patches, store)
    }

    /// [`Mirror::difference`] over every entry.
    pub fn difference_all(&self, store: &Node) -> Vec<Op> {
        let mut out = Vec::new();
        self.differ(&mut Vec::new(), Some(&self.view()), Some(store), &mut out);
        out
    }

    /// [`Mirror::difference`] over the entries `patches` changed.
    fn difference_of(&self, patches: Vec<automerge::Patch>, store: &Node) -> Vec<Op> {
        let mut touched = std::collections::BTreeSet::new();
        for patch in patches {
            let key = match (patch.path.first(), patch.action) {
                (Some((_, Prop::Map(key))), _) => key.clone(),
                (None, PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key }) => key,
                (
                    None,
                    PatchAction::Conflict {
                        prop: Prop::Map(key),
                    },
                ) => key,
                _ => continue,
            };
            if let Ok(names) = serde_json::from_str::<Vec<String>>(&key) {
                touched.insert(names);
            }
        }
        self.difference_at_names(touched, store)
    }

    /// What the store must change at and below each of `keys` (and on the way down to
    /// them) to hold the mirror there: [`Mirror::difference`] for those keys only,
    /// whatever changed. For a key whose earlier difference was not applied (a change
    /// made here meanwhile, a merge the schema refused).
    pub fn difference_at(&self, store: &Node, keys: &[KeyPath]) -> Vec<Op> {
        let touched: std::collections::BTreeSet<Vec<String>> = keys
            .iter()
            .map(|key| {
                // An array is one entry: a key inside one is that array's.
                let names = key.segments().iter().map_while(|s| match s {
                    Segment::Key(name) => Some(name.clone()),
                    Segment::Index(_) => None,
                });
                names.collect()
            })
            .collect();
        self.difference_at_names(touched, store)
    }

    fn difference_at_names(
        &self,
        touched: std::collections::BTreeSet<Vec<String>>,
        store: &Node,
    ) -> Vec<Op> {
        let mut out: Vec<Op> = Vec::new();
        for names in touched {
            let mut ops = Vec::new();
            self.differ_at(&names, store, &mut ops);
            // One touched key's change may hold another's (an ancestor set whole).
            for op in ops {
                if !out
                    .iter()
                    .any(|done| op_key(done).is_prefix_of(op_key(&op)))
                {
                    out.push(op);
                }
            }
        }
        out
    }

    /// [`Mirror::differ`] for the object path `names` only: down from the root while
    /// both sides hold objects, then whole.
    fn differ_at(&self, names: &[String], store: &Node, out: &mut Vec<Op>) {
        let mut path: Vec<Segment> = Vec::new();
        let mut node = Some(store);
        for depth in 0..=names.len() {
            let reach = if depth == 0 {
                Reach::Above
            } else {
                self.scope.reach(&path)
            };
            if reach == Reach::Outside {
                return;
            }
            let store_walks = match reach {
                Reach::Inside => matches!(node, Some(Node::Object(_))),
                _ => !matches!(node, Some(n) if !matches!(n, Node::Object(_))),
            };
            let at = &names[..depth];
            if depth == names.len() || !store_walks || !self.is_object_at(at) {
                let mirrored = self.tree_of(at, self.entries_below(at));
                self.differ(&mut path, mirrored.as_ref(), node, out);
                return;
            }
            path.push(Segment::Key(names[depth].clone()));
            node = node.and_then(|n| n.child(&path[depth]));
        }
    }

    fn differ(
        &self,
        path: &mut Vec<Segment>,
        mirrored: Option<&Node>,
        store: Option<&Node>,
        out: &mut Vec<Op>,
    ) {
        let reach = if path.is_empty() {
            Reach::Above
        } else {
            self.scope.reach(path)
        };
        let key = |path: &[Segment]| KeyPath::from_segments("", path.to_vec()).ok();
        match (reach, mirrored, store) {
            (Reach::Outside, ..) => {}
            // An object gone from the mirror that holds what never syncs here (a
            // sensitive key) loses its synced members only.
            (Reach::Above, _, _)
            | (Reach::Inside, Some(Node::Object(_)), Some(Node::Object(_))) => {
                let (a, b) = (object_of(mirrored), object_of(store));
                let mut names: Vec<String> = a
                    .iter()
                    .flat_map(|m| m.iter().map(|(k, _)| k.to_string()))
                    .collect();
                if let Some(b) = b {
                    names.extend(
                        b.iter()
                            .filter(|(k, _)| !a.is_some_and(|a| a.contains_key(k)))
                            .map(|(k, _)| k.to_string()),
                    );
                }
                for name in names {
                    let (m, s) = (a.and_then(|a| a.get(&name)), b.and_then(|b| b.get(&name)));
                    path.push(Segment::Key(name));
                    self.differ(path, m, s, out);
                    path.pop();
                }
            }
            (Reach::Inside, None, Some(node)) if self.holds_unsynced(path, node) => {
                let Node::Object(map) = node else {
                    return;
                };
                for (name, child) in map.iter() {
                    path.push(Segment::Key(name.to_string()));
                    self.differ(path, None, Some(child), out);
                    path.pop();
                }
            }
            (Reach::Inside, None, Some(_)) => out.extend(key(path).map(|key| Op::Delete { key })),
            (Reach::Inside, Some(m), s) if !s.is_some_and(|s| same(s, m)) => {
                out.extend(key(path).map(|key| Op::Set {
                    key,
                    value: m.clone(),
                }))
            }
            (Reach::Inside, ..) => {}
        }
    }

    /// Whether an object at `path` holds a key outside the scope (a sensitive one).
    /// Arrays are synced whole: what is inside them never counts.
    fn holds_unsynced(&self, path: &mut Vec<Segment>, node: &Node) -> bool {
        let Node::Object(map) = node else {
            return false;
        };
        map.iter().any(|(name, child)| {
            path.push(Segment::Key(name.to_string()));
            let held = self.scope.reach(path) == Reach::Outside || self.holds_unsynced(path, child);
            path.pop();
            held
        })
    }

    /// A mirrored value at `path` as a store value, without what is outside the scope
    /// below it (a key another device syncs, or a key sensitive here).
    fn node_of_value(&self, path: &mut Vec<Segment>, value: &(Value<'_>, ObjId)) -> Node {
        match value {
            (Value::Scalar(s), _) => node_of(s),
            (Value::Object(ObjType::Map), id) => {
                let mut members = Vec::new();
                for name in self.doc.keys(id) {
                    path.push(Segment::Key(name.clone()));
                    if self.scope.reach(path) == Reach::Inside
                        && crate::path::check_property_name("", &name).is_ok()
                    {
                        if let Ok(Some(child)) = self.doc.get(id, name.as_str()) {
                            members.push((name.as_str().into(), self.node_of_value(path, &child)));
                        }
                    }
                    path.pop();
                }
                Node::Object(Arc::new(Map::from_entries(members)))
            }
            (Value::Object(_), id) => {
                let mut items = Vec::new();
                for i in 0..self.doc.length(id) {
                    path.push(Segment::Index(i));
                    let item = match self.doc.get(id, i) {
                        Ok(Some(child)) if self.scope.reach(path) == Reach::Inside => {
                            self.node_of_value(path, &child)
                        }
                        _ => Node::Null,
                    };
                    items.push(item);
                    path.pop();
                }
                Node::Array(Arc::new(items.into()))
            }
        }
    }
}

fn op_key(op: &Op) -> &KeyPath {
    match op {
        Op::Set { key, .. } | Op::Delete { key } | Op::Append { key, .. } => key,
    }
}

fn object_of(node: Option<&Node>) -> Option<&Arc<Map>> {
    match node {
        Some(Node::Object(map)) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::secrets::Pattern;

    pub(crate) fn doc(json: &str) -> Node {
        Node::from_json(json).unwrap()
    }

    fn key(text: &str) -> KeyPath {
        KeyPath::parse(text).unwrap()
    }

    pub(crate) fn mirror(actor: u8, keys: &[&str], sensitive: &[&str]) -> Mirror {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let sensitive = sensitive
            .iter()
            .map(|p| Pattern::parse(p).unwrap())
            .collect();
        Mirror::new(&[actor; 16], Scope::new(&keys, sensitive).unwrap())
    }

    /// Applies to `store` what `mirror` says differs.
    /// Every difference is checked against the whole comparison: applying the one made
    /// from the changed entries must give what applying the whole one gives.
    pub(crate) fn take(mirror: &mut Mirror, store: &mut Node) {
        let (mut whole, ops) = (store.clone(), mirror.difference_all(store));
        apply(&mut whole, ops);
        let ops = mirror.difference(store);
        apply(store, ops);
        assert!(same(store, &whole), "{store:?}\n{whole:?}");
    }

    fn apply(store: &mut Node, ops: Vec<Op>) {
        for op in ops {
            match op {
                Op::Set { key, value } => {
                    store.set(&key, value).unwrap();
                }
                Op::Delete { key } => {
                    store.delete(&key);
                }
                Op::Append { .. } => unreachable!("a difference never appends"),
            }
        }
    }

    /// Sends every change of `from` not yet sent to each of `to`.
    fn send(from: &mut Mirror, time: i64, to: &mut [&mut Mirror]) {
        if let Some(bytes) = from.commit(time) {
            for m in to {
                m.merge(&bytes).unwrap();
            }
        }
    }

    const KEYS: &[&str] = &["settings", "ai.request", "list"];

    #[test]
    fn a_store_reaches_another_device_without_what_does_not_sync() {
        let mut a = mirror(1, KEYS, &["ai.request.apiKey"]);
        let store_a = doc(
            r#"{"settings":{"theme":"light","editor":{"fontSize":12},"empty":{}},
               "ai":{"request":{"model":"m","apiKey":"CANARY-SECRET"},"other":1},
               "profile":{"name":"a"},"list":[1,{"x":"y"}]}"#,
        );
        a.record(&store_a, &[]).unwrap();
        let bytes = a.commit(1).unwrap();
        assert!(
            !bytes.windows(13).any(|w| w == b"CANARY-SECRET"),
            "a sensitive value never reaches the mirror"
        );
        let mut b = mirror(2, KEYS, &["ai.request.apiKey"]);
        b.merge(&bytes).unwrap();
        let mut store_b = doc(r#"{"profile":{"name":"b"},"ai":{"apiKeyElsewhere":2}}"#);
        take(&mut b, &mut store_b);
        let expected = doc(
            r#"{"profile":{"name":"b"},"ai":{"apiKeyElsewhere":2,"request":{"model":"m"}},
               "settings":{"editor":{"fontSize":12},"empty":{},"theme":"light"},"list":[1,{"x":"y"}]}"#,
        );
        assert!(same(&store_b, &expected), "{store_b:?}");
        assert!(
            b.difference_all(&store_b).is_empty(),
            "nothing left to change"
        );
        assert_eq!(a.view(), b.view());
    }

    #[test]
    fn concurrent_sets_of_two_keys_both_survive_and_of_one_key_agree() {
        let mut a = mirror(1, KEYS, &[]);
        let mut b = mirror(2, KEYS, &[]);
        let mut store_a = doc(r#"{"settings":{"theme":"light","fontSize":12}}"#);
        a.record(&store_a, &[]).unwrap();
        send(&mut a, 1, &mut [&mut b]);
        let mut store_b = doc("{}");
        take(&mut b, &mut store_b);
        // Concurrently: a key each, then one key both.
        store_a
            .set(&key("settings.theme"), doc(r#""dark""#))
            .unwrap();
        a.record(&store_a, key("settings.theme").segments())
            .unwrap();
        store_b.set(&key("settings.fontSize"), doc("14")).unwrap();
        b.record(&store_b, key("settings.fontSize").segments())
            .unwrap();
        store_a.set(&key("settings.tab"), doc("2")).unwrap();
        a.record(&store_a, key("settings.tab").segments()).unwrap();
        store_b.set(&key("settings.tab"), doc("4")).unwrap();
        b.record(&store_b, key("settings.tab").segments()).unwrap();
        let (bytes_a, bytes_b) = (a.commit(2).unwrap(), b.commit(2).unwrap());
        a.merge(&bytes_b).unwrap();
        b.merge(&bytes_a).unwrap();
        take(&mut a, &mut store_a);
        take(&mut b, &mut store_b);
        assert_eq!(a.heads(), b.heads());
        let settings = |s: &Node| s.get(&key("settings")).cloned().unwrap();
        let (sa, sb) = (settings(&store_a), settings(&store_b));
        assert_eq!(sa.get(&key("theme")), Some(&doc(r#""dark""#)));
        assert_eq!(sa.get(&key("fontSize")), Some(&doc("14")));
        assert_eq!(
            sa.get(&key("tab")),
            sb.get(&key("tab")),
            "one winner, everywhere"
        );
        assert!(a.difference_all(&store_a).is_empty() && b.difference_all(&store_b).is_empty());
    }

    #[test]
    fn deletes_empty_objects_and_array_items_merge() {
        let mut a = mirror(1, KEYS, &[]);
        let mut b = mirror(2, KEYS, &[]);
        let mut store_a = doc(r#"{"settings":{"editor":{"fontSize":12}},"list":["x"]}"#);
        a.record(&store_a, &[]).unwrap();
        send(&mut a, 1, &mut [&mut b]);
        let mut store_b = doc("{}");
        take(&mut b, &mut store_b);
        // The last member deleted: the object stays, empty.
        store_a.delete(&key("settings.editor.fontSize"));
        a.record(&store_a, key("settings.editor.fontSize").segments())
            .unwrap();
        send(&mut a, 2, &mut [&mut b]);
        take(&mut b, &mut store_b);
        assert_eq!(
            store_b.get(&key("settings")),
            Some(&doc(r#"{"editor":{}}"#))
        );
        // A member again: no empty-object entry left behind.
        store_b
            .set(&key("settings.editor.wrap"), doc("true"))
            .unwrap();
        b.record(&store_b, key("settings.editor.wrap").segments())
            .unwrap();
        send(&mut b, 3, &mut [&mut a]);
        take(&mut a, &mut store_a);
        assert_eq!(
            store_a.get(&key("settings")),
            Some(&doc(r#"{"editor":{"wrap":true}}"#))
        );
        // Items added on both devices at once are both kept.
        store_a.append(&key("list"), doc(r#""from a""#)).unwrap();
        a.record(&store_a, key("list").segments()).unwrap();
        store_b.append(&key("list"), doc(r#""from b""#)).unwrap();
        b.record(&store_b, key("list").segments()).unwrap();
        let (bytes_a, bytes_b) = (a.commit(4).unwrap(), b.commit(4).unwrap());
        a.merge(&bytes_b).unwrap();
        b.merge(&bytes_a).unwrap();
        take(&mut a, &mut store_a);
        take(&mut b, &mut store_b);
        let list = store_a.get(&key("list")).unwrap();
        assert_eq!(list, store_b.get(&key("list")).unwrap());
        let Node::Array(items) = list else {
            panic!("an array")
        };
        assert_eq!(items.len(), 3, "{list:?}");
        // A whole subtree deleted.
        store_a.delete(&key("settings"));
        a.record(&store_a, key("settings").segments()).unwrap();
        send(&mut a, 5, &mut [&mut b]);
        take(&mut b, &mut store_b);
        assert_eq!(store_b.get(&key("settings")), None);
    }

    #[test]
    fn what_another_device_syncs_or_a_hostile_one_writes_is_not_taken() {
        // A device that syncs more (and calls nothing sensitive) writes `ai.request.apiKey`,
        // `profile` and a prototype key; this device takes none of them.
        let mut wide = mirror(1, &["settings", "ai", "profile"], &[]);
        let store = doc(
            r#"{"settings":{"a":1,"__proto__":{"polluted":true}},"ai":{"request":{"apiKey":"k","model":"m"}},"profile":{"n":1}}"#,
        );
        wide.record(&store, &[]).unwrap();
        let mut narrow = mirror(2, KEYS, &["ai.request.apiKey"]);
        narrow.merge(&wide.commit(1).unwrap()).unwrap();
        let mut mine = doc(r#"{"ai":{"request":{"apiKey":"mine"}}}"#);
        take(&mut narrow, &mut mine);
        assert_eq!(
            mine,
            doc(r#"{"ai":{"request":{"apiKey":"mine","model":"m"}},"settings":{"a":1}}"#)
        );
    }

    #[test]
    fn a_synced_object_deleted_elsewhere_keeps_the_sensitive_keys_held_here() {
        let mut a = mirror(1, KEYS, &["ai.request.apiKey"]);
        let mut b = mirror(2, KEYS, &["ai.request.apiKey"]);
        let mut store_a = doc(r#"{"ai":{"request":{"model":"m","apiKey":"a's"}}}"#);
        a.record(&store_a, &[]).unwrap();
        send(&mut a, 1, &mut [&mut b]);
        let mut store_b = doc(r#"{"ai":{"request":{"apiKey":"b's"}}}"#);
        take(&mut b, &mut store_b);
        store_a.delete(&key("ai.request"));
        a.record(&store_a, key("ai.request").segments()).unwrap();
        send(&mut a, 2, &mut [&mut b]);
        take(&mut b, &mut store_b);
        assert_eq!(store_b, doc(r#"{"ai":{"request":{"apiKey":"b's"}}}"#));
        // Without a sensitive key below it, the object goes whole.
        let mut store_c = doc(r#"{"ai":{"request":{"model":"m"}}}"#);
        let mut c = mirror(3, KEYS, &["ai.request.apiKey"]);
        c.merge(&a.save()).unwrap();
        take(&mut c, &mut store_c);
        assert_eq!(store_c, doc(r#"{"ai":{}}"#));
    }

    #[test]
    fn a_record_below_an_array_brings_the_array_over() {
        let mut a = mirror(1, KEYS, &[]);
        let mut store = doc(r#"{"list":[{"n":1},{"n":2}]}"#);
        a.record(&store, &[]).unwrap();
        a.commit(1);
        store.set(&key("list[1].n"), doc("3")).unwrap();
        a.record(&store, key("list[1].n").segments()).unwrap();
        assert_eq!(a.view(), store);
        // Members of an item in another order are the same value: nothing to change.
        let reordered = doc(r#"{"list":[{"n":1},{"n":3}]}"#);
        assert!(a.difference_all(&reordered).is_empty());
        // A change outside the scope changes nothing in the mirror.
        store.set(&key("local.x"), doc("1")).unwrap();
        a.commit(2);
        a.record(&store, key("local.x").segments()).unwrap();
        assert_eq!(a.commit(3), None);
    }
}
