//! The in-memory JSON document and the edits made to it.
//!
//! Containers are reference-counted and copied on write (`Arc::make_mut`), so a clone of
//! the whole document is O(1). The committer serialises a snapshot from such a
//! clone while the JS thread keeps writing; a write then copies only the containers on
//! its own path, never the whole tree.

use super::error::{Result, StoreError};
use super::path::{check_property_name, KeyPath, Segment, MAX_DEPTH};
use compact_str::CompactString;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::fmt;

/// The entries of a JSON object whose keys are key paths (`set(object)`, `defaults`):
/// dotted paths, or with `literal` each key one top-level property
/// (`accessPropertiesByDotNotation: false`). Refused when an entry would nest deeper than
/// [`MAX_DEPTH`].
pub fn object_entries(json: &str, literal: bool) -> Result<Vec<(KeyPath, Node)>> {
    let node = parse_value(&KeyPath::root(), json)?;
    let Some(map) = node.as_object() else {
        return Err(StoreError::invalid_value(
            "",
            "expected an object of keys and values",
        ));
    };
    map.iter()
        .map(|(k, v)| {
            let path = if literal {
                KeyPath::literal(k)?
            } else {
                KeyPath::parse(k)?
            };
            if path.len() + v.depth() > MAX_DEPTH {
                return Err(StoreError::invalid_value(
                    k,
                    format!("it is nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            Ok((path, v.clone()))
        })
        .collect()
}
use std::sync::Arc;

/// A JSON object: keys in insertion order.
pub type Map = super::map::Map<Node>;

/// A JSON array: one vector, or chunks once it is large (see [`super::items`]).
pub type Items = super::items::Items<Node>;

/// A JSON value. Object keys keep their insertion order, as `JSON.stringify` does.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Node {
    #[default]
    Null,
    Bool(bool),
    Number(serde_json::Number),
    /// Inline up to 24 bytes: most values of a settings file need no allocation.
    String(CompactString),
    Array(Arc<Items>),
    Object(Arc<Map>),
}

impl Node {
    pub fn empty_object() -> Node {
        Node::Object(Arc::new(Map::new()))
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Node::Object(map) => Some(map),
            _ => None,
        }
    }

    /// Parses JSON text. Errors carry serde_json's position, not the text itself, so a
    /// secret in a broken file never ends up in a message.
    pub fn from_json(text: &str) -> std::result::Result<Node, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Compact JSON, the form values cross to JS in.
    pub fn to_json(&self) -> String {
        // Serialising a Node cannot fail: keys are strings and numbers are finite.
        serde_json::to_string(self).expect("a Node always serialises")
    }

    /// electron-store's file format: `JSON.stringify(store, undefined, '\t')`.
    pub fn to_pretty_json(&self) -> Vec<u8> {
        self.to_pretty_json_sized(4096)
    }

    /// [`Node::to_pretty_json`] into a buffer of `capacity` to start with: given the
    /// text's likely size (the last snapshot's), the buffer is never grown by copying, so
    /// a 10 MiB snapshot does not briefly need twice its size.
    pub fn to_pretty_json_sized(&self, capacity: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(capacity);
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut ser).expect("a Node always serialises");
        out
    }

    /// The value at `path`, if there is one. An index reaches into arrays and a name into
    /// objects, as in dot-prop; a bracket index on an object reads the property of that
    /// number's name, and a name that is a number (`list.0`) reads an array's item, as
    /// JS property access does.
    pub fn get(&self, path: &KeyPath) -> Option<&Node> {
        path.segments()
            .iter()
            .try_fold(self, |node, segment| node.child(segment))
    }

    /// The child one segment down, if there is one.
    pub fn child(&self, segment: &Segment) -> Option<&Node> {
        match (self, segment) {
            (Node::Object(map), Segment::Key(name)) => map.get(name),
            (Node::Object(map), Segment::Index(i)) => map.get(&i.to_string()),
            (Node::Array(items), segment) => items.get(index_of(segment)?),
            _ => None,
        }
    }

    /// Nesting depth: 0 for a scalar, 1 for `{}` or `[]` of scalars, and so on.
    pub fn depth(&self) -> usize {
        match self {
            Node::Array(items) => 1 + items.iter().map(Node::depth).max().unwrap_or(0),
            Node::Object(map) => 1 + map.values().map(Node::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Refuses object keys that would reach a prototype in JS, anywhere in the value.
    /// `at` names the key the value is being written to, for the message.
    pub fn check_keys(&self, at: &KeyPath) -> Result<()> {
        match self {
            Node::Object(map) => {
                for (name, child) in map.iter() {
                    let child_path = at.child(Segment::Key(name.to_string()));
                    check_property_name(&child_path.to_string(), name)?;
                    child.check_keys(&child_path)?;
                }
                Ok(())
            }
            Node::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    child.check_keys(&at.child(Segment::Index(i)))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Sets the value at `path`, creating objects along the way as dot-prop does and
    /// replacing scalars that stand in the way. Returns the previous value.
    ///
    /// Refused, leaving `self` untouched: a name segment through an array (dot-prop's
    /// "Cannot use string index"), and an index past the end of an array, which would
    /// leave holes that JSON turns into `null`.
    pub fn set(&mut self, path: &KeyPath, value: Node) -> Result<Option<Node>> {
        check_writable(self, path)?;
        let segments = path.segments();
        let Some((last, parents)) = segments.split_last() else {
            return Ok(Some(std::mem::replace(self, value)));
        };
        let mut node = self;
        for segment in parents {
            node = child_for_write(node, segment, true);
        }
        Ok(match (node, index_of(last)) {
            (Node::Array(items), Some(i)) => {
                let items = Arc::make_mut(items);
                if i == items.len() {
                    items.push(value);
                    None
                } else {
                    Some(std::mem::replace(&mut items[i], value))
                }
            }
            (node, _) => {
                if !matches!(node, Node::Object(_)) {
                    *node = Node::empty_object();
                }
                let Node::Object(map) = node else {
                    unreachable!()
                };
                Arc::make_mut(map).insert(segment_name(last), value)
            }
        })
    }

    /// Fails exactly when `set(path, _)` would, without changing anything.
    pub fn check_set(&self, path: &KeyPath) -> Result<()> {
        check_writable(self, path)
    }

    /// Removes the value at `path`. Returns it, or `None` when nothing was there (then
    /// nothing is copied or changed). An array item is removed with its slot, as
    /// conf's `delete` splices.
    pub fn delete(&mut self, path: &KeyPath) -> Option<Node> {
        if path.is_root() {
            return Some(std::mem::replace(self, Node::empty_object()));
        }
        self.delete_full(path).map(|(_, value)| value)
    }

    /// The container holding `path`'s last segment, for a write there, and that segment.
    /// The containers on the way must exist (checked by the caller, or recorded by an
    /// undo); `None` for the root.
    fn parent_for_write<'p>(&mut self, path: &'p KeyPath) -> Option<(&mut Node, &'p Segment)> {
        let (last, parents) = path.segments().split_last()?;
        let mut node = self;
        for segment in parents {
            node = child_for_write(node, segment, false);
        }
        Some((node, last))
    }

    /// [`Node::delete`] below the root, also returning where the value was among its
    /// siblings, so [`Node::insert_at`] can put it back in its place.
    pub fn delete_full(&mut self, path: &KeyPath) -> Option<(usize, Node)> {
        self.get(path)?;
        match self.parent_for_write(path)? {
            (Node::Array(items), last) => {
                let i = index_of(last)?;
                Some((i, Arc::make_mut(items).remove(i)))
            }
            (Node::Object(map), last) => Arc::make_mut(map).shift_remove_full(&segment_name(last)),
            _ => None,
        }
    }

    /// Drops the tombstones a removal left in the object holding `path`'s last member,
    /// once they outnumber its keys (see [`Map::compact`]). For when no position from
    /// [`Node::delete_full`] is held any more: after a change, or a removal nothing will
    /// take back. Copies nothing when there is nothing to drop.
    pub fn compact_parent(&mut self, path: &KeyPath) {
        let sparse = path
            .parent()
            .and_then(|parent| self.get(&parent)?.as_object().map(|map| map.is_sparse()));
        if sparse == Some(true) {
            if let Some((Node::Object(map), _)) = self.parent_for_write(path) {
                Arc::make_mut(map).compact();
            }
        }
    }

    /// Puts `value` back at `path`, at `position` among its siblings (what
    /// [`Node::delete_full`] returned). The parent must exist.
    pub fn insert_at(&mut self, path: &KeyPath, position: usize, value: Node) {
        match self.parent_for_write(path) {
            None => *self = value,
            Some((Node::Array(items), _)) => {
                let items = Arc::make_mut(items);
                items.insert(position.min(items.len()), value);
            }
            Some((Node::Object(map), last)) => {
                Arc::make_mut(map).insert_at(position, segment_name(last), value);
            }
            Some(_) => {}
        }
    }

    /// Puts `value` back at `path`, which exists (taking a replacement back): the member
    /// keeps its place, and nothing is checked or created.
    pub fn put_back(&mut self, path: &KeyPath, value: Node) {
        match self.parent_for_write(path) {
            None => *self = value,
            Some((Node::Array(items), last)) => {
                if let Some(item) = index_of(last).and_then(|i| Arc::make_mut(items).get_mut(i)) {
                    *item = value;
                }
            }
            Some((Node::Object(map), last)) => {
                Arc::make_mut(map).insert(segment_name(last), value);
            }
            Some(_) => {}
        }
    }

    /// Cuts the array at `path` back to `len` items (takes appends back).
    pub fn truncate(&mut self, path: &KeyPath, len: usize) {
        let mut node = self;
        for segment in path.segments() {
            node = child_for_write(node, segment, false);
        }
        if let Node::Array(items) = node {
            Arc::make_mut(items).truncate(len);
        }
    }

    /// Appends to the array at `path`, creating it when absent.
    pub fn append(&mut self, path: &KeyPath, value: Node) -> Result<()> {
        match self.get(path) {
            None => self
                .set(path, Node::Array(Arc::new(Items::from(vec![value]))))
                .map(|_| ()),
            Some(Node::Array(items)) => {
                let at = path.child(Segment::Index(items.len()));
                self.set(&at, value).map(|_| ())
            }
            Some(_) => Err(StoreError::TypeConflict {
                key: path.to_string(),
                reason: "it is already set to a non-array value".into(),
            }),
        }
    }
}

/// The array index a segment names: a bracket index, or a name that is a decimal number
/// written as JS writes one (`0`, `12`; not `01`, `+1`, `1.0`), which dot-prop (and so
/// electron-store) reads and writes as the item it names.
fn index_of(segment: &Segment) -> Option<usize> {
    match segment {
        Segment::Index(i) => Some(*i),
        Segment::Key(name) => {
            let canonical = !name.is_empty()
                && name.len() <= 15
                && name.bytes().all(|b| b.is_ascii_digit())
                && (name == "0" || !name.starts_with('0'));
            canonical.then(|| name.parse().ok()).flatten()
        }
    }
}

fn segment_name(segment: &Segment) -> String {
    match segment {
        Segment::Key(name) => name.clone(),
        Segment::Index(i) => i.to_string(),
    }
}

/// Checks, without changing anything, that `set(path, _)` will succeed.
fn check_writable(root: &Node, path: &KeyPath) -> Result<()> {
    let mut node = Some(root);
    for (depth, segment) in path.segments().iter().enumerate() {
        let refuse = |reason: &str| {
            Err(StoreError::TypeConflict {
                key: path.to_string(),
                reason: reason.to_string(),
            })
        };
        node = match (node, segment) {
            (Some(Node::Array(items)), segment) => match index_of(segment) {
                Some(i) if i > items.len() => {
                    return refuse(&format!(
                        "index {i} is past the end of the array at segment {depth} (length {})",
                        items.len()
                    ));
                }
                Some(i) => items.get(i),
                None => {
                    return refuse(&format!(
                        "`{}` is not an index of the array it names",
                        segment_name(segment)
                    ));
                }
            },
            (Some(Node::Object(map)), segment) => map.get(&segment_name(segment)),
            // A scalar or nothing: the write creates objects from here on.
            _ => None,
        };
    }
    Ok(())
}

/// The child a write goes through, copied if shared. With `create`, a missing or scalar
/// child is replaced by an empty object (dot-prop's behaviour).
fn child_for_write<'a>(node: &'a mut Node, segment: &Segment, create: bool) -> &'a mut Node {
    if create && !matches!(node, Node::Object(_) | Node::Array(_)) {
        *node = Node::empty_object();
    }
    match (node, index_of(segment)) {
        (Node::Array(items), Some(i)) => {
            let items = Arc::make_mut(items);
            if i == items.len() {
                items.push(Node::empty_object());
            }
            &mut items[i]
        }
        (Node::Object(map), _) => {
            let map = Arc::make_mut(map);
            map.get_or_insert_with(segment_name(segment), Node::empty_object)
        }
        // check_writable (for set) or get (for delete) ruled this out.
        _ => unreachable!("write through a path that was checked"),
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(n) => n.serialize(serializer),
            Node::String(s) => serializer.serialize_str(s),
            Node::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Node, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Node, E> {
        Ok(Node::String(v.into()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Node, E> {
        Ok(Node::String(v.into()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Node, A::Error> {
        // Items go on this thread's stack of parsed items, then into a vector of their
        // exact number: serde_json gives no size hint, and growing a vector item by item
        // (then shrinking it to fit, documents being long-lived) copied each one twice.
        let stack = Scratch::new(&PARSED_ITEMS);
        while let Some(item) = seq.next_element::<Node>()? {
            PARSED_ITEMS.with(|items| items.borrow_mut().push(item));
        }
        Ok(Node::Array(Arc::new(Items::from(stack.take()))))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Node, A::Error> {
        // As `visit_seq`: members on a stack, then one map of the exact size.
        let stack = Scratch::new(&PARSED_MEMBERS);
        // Keys as CompactString: one a parse borrows from the text costs no allocation.
        while let Some(member) = access.next_entry::<CompactString, Node>()? {
            PARSED_MEMBERS.with(|members| members.borrow_mut().push(member));
        }
        // A repeated key keeps its first position and its last value, as JSON.parse does.
        Ok(Node::Object(Arc::new(Map::from_entries(stack.take()))))
    }
}

thread_local! {
    /// What a parse on this thread has read of the arrays and objects it is inside (each
    /// level above the one below it), until each is whole.
    static PARSED_ITEMS: std::cell::RefCell<Vec<Node>> = const { std::cell::RefCell::new(Vec::new()) };
    static PARSED_MEMBERS: std::cell::RefCell<Vec<(CompactString, Node)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// One container's part of a parse stack: what was pushed above `base` is its own. It
/// takes that part with [`Scratch::take`]; dropped without (a parse error), it drops it,
/// so the stack is left as it found it.
struct Scratch<T: 'static> {
    stack: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>,
    base: usize,
}

impl<T: 'static> Scratch<T> {
    fn new(stack: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>) -> Scratch<T> {
        let base = stack.with(|s| s.borrow().len());
        Scratch { stack, base }
    }

    /// This container's part, in a vector of its exact length.
    fn take(self) -> Vec<T> {
        self.stack
            .with(|s| s.borrow_mut().drain(self.base..).collect())
    }
}

impl<T: 'static> Drop for Scratch<T> {
    fn drop(&mut self) {
        // After `take` nothing is above `base`; after an error, the part is dropped. A
        // large stack (one huge document) is not kept for the thread's lifetime.
        self.stack.with(|s| {
            let mut s = s.borrow_mut();
            s.truncate(self.base);
            if self.base == 0 && s.capacity() > 1 << 16 {
                *s = Vec::new();
            }
        });
    }
}

/// Parses a value coming from JS for `key`: refuses what cannot be stored or reloaded.
pub fn parse_value(key: &KeyPath, text: &str) -> Result<Node> {
    let node = Node::from_json(text).map_err(|e| {
        let reason = if e.to_string().contains("recursion limit") {
            format!("it is nested deeper than {MAX_DEPTH} levels")
        } else {
            format!("it is not valid JSON ({e})")
        };
        StoreError::invalid_value(&key.to_string(), reason)
    })?;
    if key.len() + node.depth() > MAX_DEPTH {
        return Err(StoreError::invalid_value(
            &key.to_string(),
            format!("it is nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    node.check_keys(key)?;
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }

    #[test]
    fn a_parse_that_fails_part_way_leaves_the_parse_stacks_as_it_found_them() {
        let depth = || {
            let items = PARSED_ITEMS.with(|s| s.borrow().len());
            let members = PARSED_MEMBERS.with(|s| s.borrow().len());
            (items, members)
        };
        for bad in [
            r#"{"a":[1,2,{"b":[3,4"#,
            r#"[{"x":1},{"y":[true,false,]}]"#,
            r#"{"a":{"b":{"c":1}},"d":[1,2,3],"e":nope}"#,
        ] {
            assert!(Node::from_json(bad).is_err(), "{bad}");
            assert_eq!(depth(), (0, 0), "after {bad}");
        }
        // Nested containers each get their own members, in order, repeats resolved.
        let text = r#"{"a":[1,[2,3],{"k":[4],"k":[5]}],"b":{},"c":[],"a2":{"x":{"y":[[]]}}}"#;
        let node = Node::from_json(text).unwrap();
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(node.to_json(), value.to_string());
        assert_eq!(
            node.to_json(),
            r#"{"a":[1,[2,3],{"k":[5]}],"b":{},"c":[],"a2":{"x":{"y":[[]]}}}"#
        );
        assert_eq!(depth(), (0, 0));
    }
    fn j(s: &str) -> Node {
        Node::from_json(s).unwrap()
    }

    #[test]
    fn set_creates_objects_along_the_path() {
        let mut doc = Node::empty_object();
        assert_eq!(doc.set(&p("a.b.c"), j("1")).unwrap(), None);
        assert_eq!(doc.to_json(), r#"{"a":{"b":{"c":1}}}"#);
        assert_eq!(doc.set(&p("a.b.c"), j("2")).unwrap(), Some(j("1")));
    }

    #[test]
    fn set_replaces_a_scalar_in_the_way() {
        let mut doc = j(r#"{"a":5}"#);
        doc.set(&p("a.b"), j("true")).unwrap();
        assert_eq!(doc.to_json(), r#"{"a":{"b":true}}"#);
    }

    #[test]
    fn set_keeps_key_order() {
        let mut doc = j(r#"{"z":1,"a":2}"#);
        doc.set(&p("z"), j("3")).unwrap();
        doc.set(&p("m"), j("4")).unwrap();
        assert_eq!(doc.to_json(), r#"{"z":3,"a":2,"m":4}"#);
    }

    #[test]
    fn arrays_take_indices_and_numbers_not_names() {
        let mut doc = j(r#"{"l":[1,2]}"#);
        doc.set(&p("l[1]"), j("9")).unwrap();
        doc.set(&p("l[2]"), j("10")).unwrap();
        assert_eq!(doc.to_json(), r#"{"l":[1,9,10]}"#);
        assert_eq!(
            doc.set(&p("l[9]"), j("0")).unwrap_err().code(),
            "TYPE_CONFLICT"
        );
        assert_eq!(
            doc.set(&p("l.x"), j("0")).unwrap_err().code(),
            "TYPE_CONFLICT"
        );
        assert_eq!(
            doc.to_json(),
            r#"{"l":[1,9,10]}"#,
            "a refused write changes nothing"
        );
        assert_eq!(doc.get(&p("l[0]")), Some(&j("1")));
        // A name that is a number names the item, as JS (and dot-prop) reads it.
        assert_eq!(doc.get(&p("l.0")), Some(&j("1")));
        doc.set(&p("l.0"), j("7")).unwrap();
        assert_eq!(doc.delete(&p("l.2")), Some(j("10")));
        assert_eq!(doc.to_json(), r#"{"l":[7,9]}"#);
        for not_an_index in ["l.01", "l.+1", "l.1.0x", "l.-1"] {
            assert_eq!(doc.get(&p(not_an_index)), None, "{not_an_index}");
        }
        assert_eq!(
            doc.set(&p("l.01"), j("0")).unwrap_err().code(),
            "TYPE_CONFLICT"
        );
    }

    #[test]
    fn delete_removes_and_reports() {
        let mut doc = j(r#"{"a":{"b":1,"c":2},"l":[1,2,3]}"#);
        assert_eq!(doc.delete(&p("a.b")), Some(j("1")));
        assert_eq!(doc.delete(&p("a.zz")), None);
        assert_eq!(doc.delete(&p("l[1]")), Some(j("2")));
        assert_eq!(doc.to_json(), r#"{"a":{"c":2},"l":[1,3]}"#);
    }

    #[test]
    fn append_creates_or_extends_arrays() {
        let mut doc = Node::empty_object();
        doc.append(&p("x"), j("1")).unwrap();
        doc.append(&p("x"), j("2")).unwrap();
        assert_eq!(doc.to_json(), r#"{"x":[1,2]}"#);
        doc.set(&p("s"), j(r#""str""#)).unwrap();
        assert_eq!(
            doc.append(&p("s"), j("1")).unwrap_err().code(),
            "TYPE_CONFLICT"
        );
    }

    #[test]
    fn clones_share_until_written() {
        let mut doc = j(r#"{"big":{"a":1},"other":{"b":2}}"#);
        let before = doc.clone();
        doc.set(&p("big.a"), j("5")).unwrap();
        assert_eq!(before.to_json(), r#"{"big":{"a":1},"other":{"b":2}}"#);
        let (Node::Object(old), Node::Object(new)) = (&before, &doc) else {
            panic!()
        };
        let (Node::Object(o1), Node::Object(o2)) = (&old["other"], &new["other"]) else {
            panic!()
        };
        assert!(
            Arc::ptr_eq(o1, o2),
            "an untouched branch is shared, not copied"
        );
    }

    #[test]
    fn pretty_output_matches_json_stringify_with_tabs() {
        let doc = j(r#"{"a":[1,{"b":null}],"e":{},"f":[]}"#);
        let text = String::from_utf8(doc.to_pretty_json()).unwrap();
        assert_eq!(
            text,
            "{\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": null\n\t\t}\n\t],\n\t\"e\": {},\n\t\"f\": []\n}"
        );
    }

    #[test]
    fn values_with_prototype_keys_are_refused() {
        let err = parse_value(&p("x"), r#"{"ok":{"__proto__":{"polluted":true}}}"#).unwrap_err();
        assert_eq!(err.code(), "INVALID_KEY");
        assert_eq!(err.key(), Some("x.ok.__proto__"));
        assert_eq!(
            parse_value(&p("x"), r#"[{"constructor":1}]"#)
                .unwrap_err()
                .code(),
            "INVALID_KEY"
        );
    }

    #[test]
    fn values_too_deep_to_reload_are_refused() {
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(
            parse_value(&p("a"), &deep).unwrap_err().code(),
            "INVALID_VALUE"
        );
        let deeper = format!("{}1{}", "[".repeat(500), "]".repeat(500));
        assert_eq!(
            parse_value(&p("a"), &deeper).unwrap_err().code(),
            "INVALID_VALUE"
        );
        let fits = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse_value(&p("a"), &fits).is_ok());
    }

    #[test]
    fn lone_surrogates_are_refused() {
        assert_eq!(
            parse_value(&p("a"), r#""\ud800""#).unwrap_err().code(),
            "INVALID_VALUE"
        );
    }

    #[test]
    fn object_entries_read_paths_or_literal_names() {
        let dotted = object_entries(r#"{"a.b": 1, "c": [2]}"#, false).unwrap();
        assert_eq!(dotted[0].0, KeyPath::parse("a.b").unwrap());
        assert_eq!(dotted[0].0.len(), 2);
        let literal = object_entries(r#"{"a.b": 1}"#, true).unwrap();
        assert_eq!(literal[0].0.len(), 1);
        assert_eq!(
            object_entries("[1]", false).err().unwrap().code(),
            "INVALID_VALUE"
        );
        let deep = format!(
            "{{\"k\": {}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert!(object_entries(&deep, false).is_err());
    }
}
