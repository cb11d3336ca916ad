//! Key feeds: which keys changed, for followers of the whole store (the renderer bridge).
//!
//! A watcher (`Engine::watch`) keeps the value its key had before a change, so that it can
//! report `(new, old)`; watching the root that way costs a copy and a comparison of the
//! whole store per delivery. A feed keeps only the *paths* that changed, and the
//! follower reads their values when the change is delivered. Following every change
//! then costs what changed, not the size of the store.
//!
//! Deliveries carry absolute values (the value at each path now), so a follower that
//! applies them in any order ends up with the store as it is now; a value delivered
//! twice is harmless.

use super::document::Node;
use super::path::{KeyPath, Segment, INTERNAL_KEY};
use std::collections::HashSet;
use std::sync::Arc;

/// The paths that changed since the last delivery, for one follower.
#[derive(Debug, Default)]
pub struct KeyFeed {
    /// Invariant: never holds a path under `__internal__` (bookkeeping is not the
    /// store's content). Paths below another in the set are dropped when taken.
    changed: HashSet<KeyPath>,
}

impl KeyFeed {
    pub fn new() -> KeyFeed {
        KeyFeed::default()
    }

    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
    }

    /// Records that the value at `path` changed. Returns whether the feed was empty
    /// before (a delivery must be scheduled). A root path is refined by
    /// [`KeyFeed::note_replaced`] instead.
    pub fn note(&mut self, path: &KeyPath) -> bool {
        let was_empty = self.changed.is_empty();
        // Covered by an ancestor (or itself) already: nothing to add. O(depth) lookups.
        if path.is_internal() || (0..=path.len()).any(|n| self.changed.contains(&path.prefix(n))) {
            return false;
        }
        self.changed.insert(path.clone());
        was_empty
    }

    /// Records the difference between two whole documents (a replaced store, a
    /// rollback, another program's edit): the outermost paths whose values differ,
    /// descending into objects on both sides. Shared subtrees are skipped at once.
    pub fn note_replaced(&mut self, old: &Node, new: &Node) -> bool {
        let was_empty = self.changed.is_empty();
        let mut paths = Vec::new();
        changed_paths(old, new, &KeyPath::root(), &mut paths);
        for path in &paths {
            self.note(path);
        }
        was_empty && !self.changed.is_empty()
    }

    /// The paths noted since the last call, outermost only, shortest first.
    pub fn take(&mut self) -> Vec<KeyPath> {
        let changed = std::mem::take(&mut self.changed);
        let mut paths: Vec<KeyPath> = changed
            .iter()
            .filter(|p| (0..p.len()).all(|n| !changed.contains(&p.prefix(n))))
            .cloned()
            .collect();
        paths.sort_by_cached_key(|p| (p.len(), p.to_string()));
        paths
    }
}

/// The outermost path a change at `path` can alter in `before` (the document before it):
/// `path` itself where all its ancestors are containers already, else the first ancestor
/// that is missing or not a container, since the change creates or replaces it whole.
/// A follower that was told only `a.b.c` would miss that `a.b` went from `"text"` to
/// an object.
pub fn affected(before: &Node, path: &KeyPath) -> KeyPath {
    let mut node = before;
    for (depth, segment) in path.segments().iter().enumerate() {
        if depth + 1 == path.len() {
            break;
        }
        match node.child(segment) {
            Some(child @ (Node::Object(_) | Node::Array(_))) => node = child,
            _ => return path.prefix(depth + 1),
        }
    }
    path.clone()
}

/// Whether two nodes are the same value, comparing shared containers by pointer first.
pub fn same(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Object(x), Node::Object(y)) => {
            Arc::ptr_eq(x, y)
                || (x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy)))
        }
        (Node::Array(x), Node::Array(y)) => {
            Arc::ptr_eq(x, y)
                || (x.len() == y.len() && x.iter().zip(y.iter()).all(|(vx, vy)| same(vx, vy)))
        }
        _ => a == b,
    }
}

/// Appends to `out` the outermost paths at or below `at` where `old` and `new` differ.
/// Objects are compared key by key; anything else that differs is one path. The root's
/// `__internal__` bookkeeping is left out.
fn changed_paths(old: &Node, new: &Node, at: &KeyPath, out: &mut Vec<KeyPath>) {
    match (old, new) {
        (Node::Object(a), Node::Object(b)) => {
            if Arc::ptr_eq(a, b) {
                return;
            }
            let bookkeeping = |name: &str| at.is_root() && name == INTERNAL_KEY;
            for (name, value) in a.iter().filter(|(name, _)| !bookkeeping(name)) {
                let path = at.child(Segment::Key(name.to_string()));
                match b.get(name) {
                    Some(other) => changed_paths(value, other, &path, out),
                    None => out.push(path),
                }
            }
            for (name, _) in b.iter().filter(|(name, _)| !bookkeeping(name)) {
                if !a.contains_key(name) {
                    out.push(at.child(Segment::Key(name.to_string())));
                }
            }
        }
        _ if same(old, new) => {}
        _ => out.push(at.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }

    fn doc(text: &str) -> Node {
        Node::from_json(text).unwrap()
    }

    fn names(paths: &[KeyPath]) -> Vec<String> {
        paths.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_path_under_a_noted_ancestor_adds_nothing_and_ancestors_absorb_descendants() {
        let mut feed = KeyFeed::new();
        assert!(feed.note(&p("a.b")), "the first note asks for a delivery");
        assert!(!feed.note(&p("a.b.c")));
        assert!(!feed.note(&p("x")));
        assert!(!feed.note(&p("a")));
        assert_eq!(names(&feed.take()), ["a", "x"]);
        assert!(feed.is_empty());
        assert!(feed.note(&p("a")), "after a take the next note asks again");
    }

    #[test]
    fn bookkeeping_is_never_fed() {
        let mut feed = KeyFeed::new();
        assert!(!feed.note(&p("__internal__.migrations.version")));
        assert!(feed.is_empty());
        feed.note_replaced(
            &doc(r#"{"__internal__":{"v":1},"a":1}"#),
            &doc(r#"{"__internal__":{"v":2},"a":1}"#),
        );
        assert!(feed.is_empty());
    }

    #[test]
    fn a_replaced_document_feeds_only_what_differs() {
        let mut feed = KeyFeed::new();
        let old = doc(r#"{"a":{"b":1,"c":[1,2]},"d":"x","gone":true}"#);
        let new = doc(r#"{"a":{"b":2,"c":[1,2]},"d":"x","new":null}"#);
        assert!(feed.note_replaced(&old, &new));
        assert_eq!(names(&feed.take()), ["gone", "new", "a.b"]);
        // Arrays and values of another type are one path.
        feed.note_replaced(&doc(r#"{"l":[1,2]}"#), &doc(r#"{"l":[1,3]}"#));
        feed.note_replaced(&doc(r#"{"o":{"k":1}}"#), &doc(r#"{"o":"text"}"#));
        assert_eq!(names(&feed.take()), ["l", "o"]);
        // Nothing differs: nothing fed, no delivery asked for.
        assert!(!feed.note_replaced(&old, &old.clone()));
        assert!(feed.is_empty());
    }

    #[test]
    fn a_change_below_a_missing_or_plain_ancestor_affects_that_ancestor() {
        let before = doc(r#"{"a":{"b":"text","c":{"d":1}},"l":[{"x":1}]}"#);
        assert_eq!(affected(&before, &p("a.c.d")).to_string(), "a.c.d");
        assert_eq!(
            affected(&before, &p("a.b.z")).to_string(),
            "a.b",
            "a string replaced"
        );
        assert_eq!(
            affected(&before, &p("a.new.x.y")).to_string(),
            "a.new",
            "created"
        );
        assert_eq!(affected(&before, &p("gone.x")).to_string(), "gone");
        assert_eq!(affected(&before, &p("l[0].x")).to_string(), "l[0].x");
        assert_eq!(affected(&before, &p("a")).to_string(), "a");
    }

    #[test]
    fn shared_subtrees_are_skipped_without_comparing() {
        let big = doc(&format!(
            "{{{}}}",
            (0..1000)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        ));
        let mut old = Node::empty_object();
        old.set(&p("big"), big.clone()).unwrap();
        old.set(&p("small"), Node::Bool(true)).unwrap();
        let mut new = old.clone();
        new.set(&p("small"), Node::Bool(false)).unwrap();
        let mut out = Vec::new();
        changed_paths(&old, &new, &KeyPath::root(), &mut out);
        assert_eq!(names(&out), ["small"]);
        assert!(same(
            old.get(&p("big")).unwrap(),
            new.get(&p("big")).unwrap()
        ));
    }
}
