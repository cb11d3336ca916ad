//! Default values, as conf applies them: the `defaults` option and the schema's
//! `default`s, the option winning where both name a key.
//!
//! A default fills a key that is missing wherever its parent object exists (or is itself
//! created by a default), at open and after every change: deleting a key that has a
//! default brings the default back, as in electron-store. `reset` and `clear` restore them.

use super::document::Node;
use super::error::Result;
use super::path::{KeyPath, Segment};
use super::schema::{escape, Schema};
use serde_json::Value;
use std::sync::Arc;

pub struct Defaults {
    /// The `defaults` option, parents before children.
    option: Vec<(KeyPath, Node)>,
    /// Every default merged into one tree: what `reset(key)` restores (conf's
    /// `#defaultValues`). A default's nested schema defaults are merged into it.
    tree: Node,
    schema: Option<Arc<Schema>>,
    /// The schema's `properties`/`items` structure with its defaults, resolved once, so
    /// filling walks the document, not JSON pointers.
    plan: Plan,
}

/// One schema location that can hold defaults below it.
#[derive(Default)]
struct PlanNode {
    props: Vec<PlanProp>,
    /// The plan for every item, for an array schema with one `items` schema.
    items: Option<usize>,
}

struct PlanProp {
    name: String,
    /// The schema's own `default` for the key.
    default: Option<Node>,
    /// The plan below the key.
    child: Option<usize>,
}

#[derive(Default)]
struct Plan {
    nodes: Vec<PlanNode>,
}

impl Plan {
    /// Compiles the plan for the schema at `pointer`, memoised by resolved pointer, so
    /// recursive schemas end.
    fn build(
        schema: &Schema,
        pointer: String,
        memo: &mut std::collections::HashMap<String, usize>,
        nodes: &mut Vec<PlanNode>,
        depth: usize,
    ) -> Option<usize> {
        if depth > MAX_WALK {
            return None;
        }
        let (pointer, sub) = schema.follow_refs(pointer)?;
        if let Some(&index) = memo.get(&pointer) {
            return Some(index);
        }
        let index = nodes.len();
        nodes.push(PlanNode::default());
        memo.insert(pointer.clone(), index);
        let mut node = PlanNode::default();
        if let Some(properties) = sub.get("properties").and_then(Value::as_object) {
            for (name, child_schema) in properties {
                if child_schema == &Value::Bool(false) {
                    continue;
                }
                let child_pointer = format!("{pointer}/properties/{}", escape(name));
                let default = schema
                    .follow_refs(child_pointer.clone())
                    .and_then(|(_, s)| s.get("default").cloned())
                    .and_then(|v| serde_json::from_value::<Node>(v).ok());
                let child = Plan::build(schema, child_pointer, memo, nodes, depth + 1);
                node.props.push(PlanProp {
                    name: name.clone(),
                    default,
                    child,
                });
            }
        }
        if sub.get("items").is_some_and(Value::is_object) {
            node.items = Plan::build(schema, format!("{pointer}/items"), memo, nodes, depth + 1);
        }
        nodes[index] = node;
        Some(index)
    }

    /// The plan for the value at `key`, starting from `start`.
    fn at(&self, start: usize, key: &KeyPath) -> Option<usize> {
        let mut index = start;
        for segment in key.segments() {
            let node = &self.nodes[index];
            index = match segment {
                Segment::Key(name) => node.props.iter().find(|p| &p.name == name)?.child?,
                Segment::Index(_) => node.items?,
            };
        }
        Some(index)
    }
}

/// Deepest `$ref` chain or nesting followed when walking a schema for defaults.
const MAX_WALK: usize = 64;

impl Defaults {
    pub fn new(mut option: Vec<(KeyPath, Node)>, schema: Option<Arc<Schema>>) -> Result<Defaults> {
        option.sort_by_key(|(key, _)| key.len());
        let mut plan = Plan::default();
        if let Some(schema) = &schema {
            Plan::build(
                schema,
                "#".to_string(),
                &mut Default::default(),
                &mut plan.nodes,
                0,
            );
        }
        let mut defaults = Defaults {
            option,
            tree: Node::empty_object(),
            schema,
            plan,
        };
        // Schema defaults first, then the option over them, then the schema's nested
        // defaults again into what the option gave (conf's two capture passes).
        defaults.capture_schema();
        for (key, value) in &defaults.option {
            defaults.tree.set(key, value.clone())?;
        }
        defaults.capture_schema();
        Ok(defaults)
    }

    pub fn is_empty(&self) -> bool {
        self.option.is_empty() && self.tree.as_object().is_none_or(|m| m.is_empty())
    }

    /// The default `reset(key)` restores, if the key has one.
    pub fn value_at(&self, key: &KeyPath) -> Option<&Node> {
        self.tree.get(key)
    }

    fn capture_schema(&mut self) {
        let Some(schema) = self.schema.clone() else {
            return;
        };
        let mut tree = std::mem::take(&mut self.tree);
        capture(
            &schema,
            "#".to_string(),
            &KeyPath::root(),
            &mut tree,
            true,
            0,
        );
        self.tree = tree;
    }

    /// `doc` with every default it lacks filled in, as conf fills them when it opens a
    /// file.
    pub fn filled(&self, mut doc: Node) -> Result<Node> {
        for (key, value) in self.fill(&doc, &KeyPath::root()) {
            doc.set(&key, value)?;
        }
        Ok(doc)
    }

    /// The sets that fill every missing default at or below `at` in `doc`, in order.
    pub fn fill(&self, doc: &Node, at: &KeyPath) -> Vec<(KeyPath, Node)> {
        let mut scratch = doc.clone();
        let mut sets = Vec::new();
        for (key, _) in self.option.iter().filter(|(key, _)| at.is_prefix_of(key)) {
            // The option's paths are written as `set` writes them, creating parents, unless
            // a value that is not an object stands in the way (conf's `whereWriteIsBlocked`).
            if scratch.get(key).is_none() && path_is_open(&scratch, key) {
                if let Some(value) = self.tree.get(key) {
                    push_set(&mut scratch, &mut sets, key.clone(), value.clone());
                }
            }
        }
        if !self.plan.nodes.is_empty() {
            // A missing key is filled from its parent; an existing one is walked into.
            let (start, only) = match (scratch.get(at), at.last()) {
                (None, Some(last)) => (at.parent().unwrap_or_default(), Some(last)),
                _ => (at.clone(), None),
            };
            if let (Some(plan), Some(node)) = (self.plan.at(0, &start), scratch.get(&start)) {
                let mut path = start.segments().to_vec();
                let mut found = Vec::new();
                self.walk(plan, node, only, &mut path, &mut found, 0);
                for (key, value) in found {
                    push_set(&mut scratch, &mut sets, key, value);
                }
            }
        }
        sets
    }

    /// Collects the schema defaults missing in `node` (at `path`) and below it; with
    /// `only`, just for that child.
    fn walk(
        &self,
        plan: usize,
        node: &Node,
        only: Option<&Segment>,
        path: &mut Vec<Segment>,
        found: &mut Vec<(KeyPath, Node)>,
        depth: usize,
    ) {
        if depth > MAX_WALK {
            return;
        }
        let plan_node = &self.plan.nodes[plan];
        match node {
            Node::Object(map) => {
                for prop in &plan_node.props {
                    if only.is_some_and(|o| !matches!(o, Segment::Key(k) if k == &prop.name)) {
                        continue;
                    }
                    path.push(Segment::Key(prop.name.clone()));
                    match (map.get(&prop.name), &prop.default) {
                        (Some(child), _) => {
                            if let Some(child_plan) = prop.child {
                                self.walk(child_plan, child, None, path, found, depth + 1);
                            }
                        }
                        (None, Some(own)) => {
                            if let Ok(key) = KeyPath::from_segments("", path.clone()) {
                                // The tree's value also holds the option's overrides and the
                                // nested defaults; inside arrays it has none, so the walk
                                // fills the inserted value's own nested defaults.
                                let value =
                                    self.tree.get(&key).cloned().unwrap_or_else(|| own.clone());
                                found.push((key, value.clone()));
                                if let Some(child_plan) = prop.child {
                                    self.walk(child_plan, &value, None, path, found, depth + 1);
                                }
                            }
                        }
                        (None, None) => {}
                    }
                    path.pop();
                }
            }
            Node::Array(items) if only.is_none() => {
                if let Some(item_plan) = plan_node.items {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Segment::Index(i));
                        self.walk(item_plan, item, None, path, found, depth + 1);
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

fn push_set(scratch: &mut Node, sets: &mut Vec<(KeyPath, Node)>, key: KeyPath, value: Node) {
    if scratch.set(&key, value.clone()).is_ok() {
        sets.push((key, value));
    }
}

/// Whether every existing ancestor of `key` is an object.
fn path_is_open(doc: &Node, key: &KeyPath) -> bool {
    let mut node = doc;
    for segment in &key.segments()[..key.len().saturating_sub(1)] {
        if !matches!(node, Node::Object(_)) {
            return false;
        }
        match node.child(segment) {
            Some(child) => node = child,
            None => return true,
        }
    }
    matches!(node, Node::Object(_))
}

/// Records the schema's defaults along `properties` into `tree`, as conf does: below a key
/// whose parent has a default, only keys with a default of their own are descended into
/// (an optional object left out of its parent's default stays out).
fn capture(
    schema: &Schema,
    pointer: String,
    at: &KeyPath,
    tree: &mut Node,
    record: bool,
    depth: usize,
) {
    if depth > MAX_WALK {
        return;
    }
    let Some((pointer, sub)) = schema.follow_refs(pointer) else {
        return;
    };
    let Some(properties) = sub.get("properties").and_then(Value::as_object) else {
        return;
    };
    let parent_has_default = !at.is_root() && tree.get(at).is_some();
    for name in properties.keys() {
        let child = at.child(Segment::Key(name.clone()));
        let child_pointer = format!("{pointer}/properties/{}", escape(name));
        let own = schema
            .follow_refs(child_pointer.clone())
            .and_then(|(_, s)| s.get("default").cloned());
        if let (true, Some(value)) = (
            record,
            own.and_then(|v| serde_json::from_value::<Node>(v).ok()),
        ) {
            // A default already recorded (by the option, or inside a parent's default)
            // wins; one below a value that is not an object has nowhere to go.
            if tree.get(&child).is_none() && tree.check_set(&child).is_ok() {
                // Cannot fail: checked just above.
                let _checked_writable = tree.set(&child, value);
            }
        }
        let effective = tree.get(&child);
        let can_hold = matches!(effective, None | Some(Node::Object(_)));
        let record_children = record && can_hold && (!parent_has_default || effective.is_some());
        capture(
            schema,
            child_pointer,
            &child,
            tree,
            record_children,
            depth + 1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }
    fn j(s: &str) -> Node {
        Node::from_json(s).unwrap()
    }
    fn schema(v: Value) -> Option<Arc<Schema>> {
        Some(Arc::new(Schema::compile(v).unwrap()))
    }
    fn filled(d: &Defaults, doc: &str, at: &str) -> String {
        let mut doc = j(doc);
        let at = if at.is_empty() {
            KeyPath::root()
        } else {
            p(at)
        };
        for (k, v) in d.fill(&doc.clone(), &at) {
            doc.set(&k, v).unwrap();
        }
        doc.to_json()
    }

    #[test]
    fn schema_defaults_fill_where_the_parent_exists() {
        let d = Defaults::new(
            vec![],
            schema(json!({"type": "object", "properties": {
                "theme": {"type": "string", "default": "light"},
                "editor": {"type": "object", "default": {}, "properties": {"fontSize": {"default": 14}}},
                "optional": {"type": "object", "properties": {"x": {"default": 1}}}
            }})),
        )
        .unwrap();
        assert_eq!(
            filled(&d, "{}", ""),
            r#"{"theme":"light","editor":{"fontSize":14}}"#
        );
        assert_eq!(
            filled(&d, r#"{"optional":{}}"#, ""),
            r#"{"optional":{"x":1},"theme":"light","editor":{"fontSize":14}}"#
        );
        assert_eq!(d.value_at(&p("editor.fontSize")), Some(&j("14")));
        assert_eq!(
            d.value_at(&p("optional.x")),
            Some(&j("1")),
            "recorded for reset"
        );
    }

    #[test]
    fn the_option_overrides_a_schema_default_and_keeps_nested_ones() {
        let d = Defaults::new(
            vec![(p("settings"), j(r#"{"theme":"dark"}"#))],
            schema(json!({"type": "object", "properties": {
                "settings": {"type": "object", "default": {"theme": "light"}, "properties": {
                    "theme": {"default": "light"}, "language": {"default": "en"}
                }}
            }})),
        )
        .unwrap();
        assert_eq!(
            d.value_at(&p("settings")),
            Some(&j(r#"{"theme":"dark","language":"en"}"#))
        );
        assert_eq!(
            filled(&d, "{}", ""),
            r#"{"settings":{"theme":"dark","language":"en"}}"#
        );
    }

    #[test]
    fn a_deleted_key_with_a_default_comes_back() {
        let d = Defaults::new(vec![(p("a.b"), j("1"))], None).unwrap();
        assert_eq!(filled(&d, r#"{"a":{}}"#, "a.b"), r#"{"a":{"b":1}}"#);
        assert_eq!(filled(&d, r#"{"a":{"b":2}}"#, "a.b"), r#"{"a":{"b":2}}"#);
    }

    #[test]
    fn defaults_follow_refs_and_array_items() {
        let d = Defaults::new(
            vec![],
            schema(json!({"type": "object", "$defs": {"ws": {"type": "object", "properties": {"pinned": {"default": []}}}},
                "properties": {"workspaces": {"type": "array", "items": {"$ref": "#/$defs/ws"}}}})),
        )
        .unwrap();
        assert_eq!(
            filled(&d, r#"{"workspaces":[{},{"pinned":[1]}]}"#, ""),
            r#"{"workspaces":[{"pinned":[]},{"pinned":[1]}]}"#
        );
    }
}
