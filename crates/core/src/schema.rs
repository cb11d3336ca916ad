//! JSON Schema validation of the document, whole or only where a change can matter.
//!
//! The schema is compiled once (the `jsonschema` crate, formats on, drafts 4 to 2020-12
//! from `$schema`), into one validator per subschema location. The document is validated
//! in place: [`DocJson`] teaches the validator to read [`Node`]s, so nothing is converted.
//!
//! A change is validated by [`Schema::validate_change`] against the deepest subschema that
//! decides it. Walking from the root to the changed key, each schema on the way must be
//! *navigable*: its keywords constrain a child only through the child's own subschema
//! (`properties`, `additionalProperties`, `items`) or through the set of keys (`required`,
//! `maxProperties`, …). Then only the changed value, and the key set of its parent, need
//! checking. At the first schema that is not navigable (`allOf`, `if`, `uniqueItems`,
//! `dependentSchemas`, …) the whole instance under it is validated instead, which is
//! always correct and, for the usual settings schemas, rare.

use super::ajv;
use super::document::{Items, Map, Node};
use super::error::{Result, StoreError};
use super::path::{KeyPath, Segment, INTERNAL_KEY};
use super::secrets::{Pattern, PatternSegment};
pub use super::violation::{describe, Violation};
use jsonschema::json::{Array, Json, Node as JsonNode, NodeIdentity, Object};
use jsonschema::types::JsonType;
use jsonschema::{Validator, ValidatorMap};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::sync::{Arc, Mutex};

/// Teaches the validator to read the engine's [`Node`] tree directly.
pub struct DocJson;

impl Json for DocJson {
    type Node<'a> = &'a Node;
    type PreparedKey = String;
    type StringBuffer = Node;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>(buffer: &mut Node, string: &str, f: impl FnOnce(&Node) -> T) -> T {
        *buffer = Node::String(string.into());
        f(buffer)
    }
}

impl<'a> JsonNode<'a, DocJson> for &'a Node {
    type Object = &'a Map;
    type Array = &'a Items;
    type Number = &'a serde_json::Number;

    fn as_object(&self) -> Option<&'a Map> {
        match self {
            Node::Object(map) => Some(map.as_ref()),
            _ => None,
        }
    }
    fn as_array(&self) -> Option<&'a Items> {
        match self {
            Node::Array(items) => Some(items.as_ref()),
            _ => None,
        }
    }
    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            Node::String(s) => Some(Cow::Borrowed(s)),
            _ => None,
        }
    }
    fn as_number(&self) -> Option<&'a serde_json::Number> {
        match self {
            Node::Number(n) => Some(n),
            _ => None,
        }
    }
    fn as_boolean(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }
    fn json_type(&self) -> JsonType {
        match self {
            Node::Null => JsonType::Null,
            Node::Bool(_) => JsonType::Boolean,
            Node::Number(_) => JsonType::Number,
            Node::String(_) => JsonType::String,
            Node::Array(_) => JsonType::Array,
            Node::Object(_) => JsonType::Object,
        }
    }
    /// `enum` and `const` land here for every value they check: compare in place
    /// rather than through the default, which converts the node first.
    fn equals_value(&self, expected: &Value) -> bool {
        node_equals_value(self, expected)
    }
    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(serde_json::to_value(*self).expect("a Node always converts"))
    }
    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref::<Node>(self) as usize))
    }
}

pub struct Members<'a>(Box<dyn Iterator<Item = (&'a str, &'a Node)> + 'a>);

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, &'a Node);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

impl<'a> Object<'a, DocJson> for &'a Map {
    type Node = &'a Node;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        Map::len(self)
    }
    fn get(&self, key: &String) -> Option<&'a Node> {
        Map::get(self, key)
    }
    fn members(&self) -> Members<'a> {
        Members(Box::new(self.iter()))
    }
}

impl<'a> Array<'a, DocJson> for &'a Items {
    type Node = &'a Node;
    type ElementsIter = crate::items::Iter<'a, Node>;

    fn len(&self) -> usize {
        Items::len(self)
    }
    fn elements(&self) -> crate::items::Iter<'a, Node> {
        self.iter()
    }
    /// `uniqueItems`, compared in place (the default converts every item first).
    fn is_unique(&self) -> bool {
        self.iter()
            .enumerate()
            .all(|(i, a)| self.iter().skip(i + 1).all(|b| !nodes_equal(a, b)))
    }
}

/// JSON Schema equality between a node and a schema value (numbers compare as numbers).
fn node_equals_value(node: &Node, value: &Value) -> bool {
    match (node, value) {
        (Node::Null, Value::Null) => true,
        (Node::Bool(a), Value::Bool(b)) => a == b,
        (Node::String(a), Value::String(b)) => a == b,
        (Node::Number(a), Value::Number(b)) => jsonschema::json::cmp::equal_numbers(a, b),
        (Node::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| node_equals_value(x, y))
        }
        (Node::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| node_equals_value(x, y)))
        }
        _ => false,
    }
}

/// JSON Schema equality between two nodes.
fn nodes_equal(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Number(x), Node::Number(y)) => jsonschema::json::cmp::equal_numbers(x, y),
        (Node::Array(x), Node::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| nodes_equal(p, q))
        }
        (Node::Object(x), Node::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| nodes_equal(p, q)))
        }
        _ => a == b,
    }
}

/// What a change did at its anchor: the deepest key that existed before it.
#[derive(Debug, Clone)]
pub enum Change {
    /// The value at the key was replaced (or changed type).
    Replaced(KeyPath),
    /// A new child appeared under the container at the key.
    Added(KeyPath, Segment),
    /// A child of the container at the key was removed.
    Removed(KeyPath, Segment),
}

impl Change {
    /// Describes writing `target` in `before`: its anchor is the longest prefix of
    /// `target` that existed.
    pub fn of_write(before: &Node, target: &KeyPath) -> Change {
        let mut node = before;
        for (i, segment) in target.segments().iter().enumerate() {
            if !matches!(node, Node::Object(_) | Node::Array(_)) {
                // A scalar in the way is replaced by an object: the scalar's key changed.
                return Change::Replaced(target.prefix(i));
            }
            match node.child(segment) {
                Some(child) => node = child,
                None => return Change::Added(target.prefix(i), segment.clone()),
            }
        }
        Change::Replaced(target.clone())
    }
}

/// Keywords that say nothing about the instance.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "id",
    "$anchor",
    "$dynamicAnchor",
    "$comment",
    "$defs",
    "definitions",
    "$vocabulary",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "contentMediaType",
    "contentEncoding",
];
/// Keywords of a navigable object schema: a child is constrained only by its subschema,
/// the parent only by its key set.
const OBJECT_NAVIGABLE: &[&str] = &[
    "type",
    "properties",
    "additionalProperties",
    "required",
    "minProperties",
    "maxProperties",
    "propertyNames",
];
/// Keywords of a navigable array schema (one schema for every item).
const ARRAY_NAVIGABLE: &[&str] = &["type", "items", "minItems", "maxItems"];

fn is_annotation(keyword: &str) -> bool {
    ANNOTATIONS.contains(&keyword) || keyword.starts_with("x-")
}

/// A compiled schema.
pub struct Schema {
    /// The schema as given.
    root: Value,
    /// A validator for every subschema, by URI-fragment pointer (`#/properties/a`).
    validators: ValidatorMap<DocJson>,
    /// Whether `items` may be a list (drafts before 2020-12, tuple form).
    legacy_items: bool,
    /// [`Schema::scope`] by anchor: a pure function of the schema and the path, and the
    /// walk (pointers built, `$ref`s resolved, keywords read) is most of a validated
    /// `set`. An app writes a bounded set of keys; past [`SCOPES_CACHED`] entries the
    /// cache starts over, so a store of generated keys costs memory bounded all the same.
    scopes: Mutex<HashMap<KeyPath, Arc<Scope>, BuildHasherDefault<DefaultHasher>>>,
}

/// How many anchors' scopes [`Schema::scopes`] keeps.
const SCOPES_CACHED: usize = 4096;

/// Where a walk through the schema ended up.
#[derive(Debug, PartialEq)]
enum Scope {
    /// Validate this instance location against this subschema pointer.
    Full(KeyPath, String),
    /// Navigated to the anchor, whose schema is at this pointer.
    Anchor(String),
    /// Nothing below is constrained (a `true` schema, or no schema for the key).
    Free,
}

impl Schema {
    /// Compiles `root`. A schema that cannot be compiled is `INVALID_OPTION`.
    /// [`Schema::compile`] from JSON text (the `schema` option as the shim sends it).
    pub fn from_json_text(text: &str) -> Result<Schema> {
        let root: Value = serde_json::from_str(text).map_err(|e| StoreError::InvalidOption {
            option: "schema".into(),
            reason: e.to_string(),
        })?;
        Schema::compile(root)
    }

    pub fn compile(root: Value) -> Result<Schema> {
        let invalid = |reason: String| StoreError::InvalidOption {
            option: "schema".into(),
            reason,
        };
        if !root.is_object() {
            return Err(invalid("the schema must be an object".into()));
        }
        // Defaults and examples are not constraints: compiling them as subschemas would
        // only cost time.
        let mut stripped = root.clone();
        accept_envelopes(&mut stripped);
        strip_annotations(&mut stripped);
        let validators = jsonschema::options_for::<DocJson>()
            .should_validate_formats(true)
            .build_map(&stripped)
            .map_err(|e| invalid(e.to_string()))?;
        if validators.get("#").is_none() {
            return Err(invalid("the schema did not compile".into()));
        }
        let schema_uri = root.get("$schema").and_then(Value::as_str).unwrap_or("");
        let legacy_items = !schema_uri.is_empty()
            && !schema_uri.contains("2020-12")
            && !schema_uri.contains("2019-09");
        Ok(Schema {
            root,
            validators,
            legacy_items,
            scopes: Mutex::default(),
        })
    }

    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The keys the schema marks `"x-sensitive": true`, as patterns: a property is its
    /// name; `additionalProperties`, `patternProperties` and array items are `*`.
    /// Followed through local `$ref`s and `allOf`/`anyOf`/`oneOf`.
    pub fn sensitive_patterns(&self) -> Vec<Pattern> {
        let mut found = Vec::new();
        self.collect_sensitive(&self.root, &mut Vec::new(), &mut found, 0);
        found
    }

    fn collect_sensitive(
        &self,
        schema: &Value,
        at: &mut Vec<PatternSegment>,
        found: &mut Vec<Pattern>,
        depth: usize,
    ) {
        // Deep enough for any real schema, and a stop for recursive `$ref`s.
        if depth > 32 || at.len() > 16 {
            return;
        }
        let Some(obj) = schema.as_object() else {
            return;
        };
        if is_sensitive(schema) {
            if !at.is_empty() {
                found.push(Pattern::from_segments(at.clone()));
            }
            return;
        }
        if let Some(target) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.at(r))
        {
            self.collect_sensitive(target, at, found, depth + 1);
        }
        for combinator in ["allOf", "anyOf", "oneOf"] {
            for sub in obj
                .get(combinator)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.collect_sensitive(sub, at, found, depth + 1);
            }
        }
        let mut below = |segment: PatternSegment, sub: &Value, at: &mut Vec<PatternSegment>| {
            at.push(segment);
            self.collect_sensitive(sub, at, found, depth + 1);
            at.pop();
        };
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                below(PatternSegment::Name(name.clone()), sub, at);
            }
        }
        for (_, sub) in obj
            .get("patternProperties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            below(PatternSegment::Any, sub, at);
        }
        for key in ["additionalProperties", "items"] {
            match obj.get(key) {
                Some(sub @ Value::Object(_)) => below(PatternSegment::Any, sub, at),
                Some(Value::Array(subs)) => {
                    for sub in subs {
                        below(PatternSegment::Any, sub, at);
                    }
                }
                _ => {}
            }
        }
        for sub in obj
            .get("prefixItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            below(PatternSegment::Any, sub, at);
        }
    }

    /// The subschema at a pointer (`#/properties/a`). Unlike `Value::pointer`, allocates
    /// only for a token that needs unescaping: this runs on every validated `set`.
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
        if pointer.is_empty() {
            return Some(&self.root);
        }
        let mut value = &self.root;
        for token in pointer.strip_prefix('/')?.split('/') {
            value = match value {
                Value::Object(map) if token.contains('~') => {
                    map.get(&token.replace("~1", "/").replace("~0", "~"))?
                }
                Value::Object(map) => map.get(token)?,
                Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    fn validator(&self, pointer: &str) -> Option<&Validator<DocJson>> {
        self.validators.get(pointer)
    }

    /// Every violation of the whole document. conf's `__internal__` bookkeeping is not
    /// the user's data and is not validated.
    pub fn validate_document(&self, doc: &Node) -> Vec<Violation> {
        match doc {
            Node::Object(map) if map.contains_key(INTERNAL_KEY) => {
                let mut visible = (**map).clone();
                visible.shift_remove(INTERNAL_KEY);
                self.validate_at(
                    &KeyPath::root(),
                    "#",
                    &Node::Object(std::sync::Arc::new(visible)),
                )
            }
            _ => self.validate_at(&KeyPath::root(), "#", doc),
        }
    }

    /// Every violation of `instance`, found at `at`, against the subschema at `pointer`.
    pub fn validate_at(&self, at: &KeyPath, pointer: &str, instance: &Node) -> Vec<Violation> {
        let Some(validator) = self.validator(pointer) else {
            // `true`-like locations the map left out constrain nothing.
            return Vec::new();
        };
        // The common case, valid, stops at nothing and collects nothing.
        if validator.is_valid(instance) {
            return Vec::new();
        }
        let base = self.at(pointer).unwrap_or(&Value::Bool(true));
        let resolve = |reference: &str| {
            reference
                .starts_with('#')
                .then(|| self.at(reference))
                .flatten()
        };
        // In the order ajv reports them (a stable sort keeps the validator's order
        // where ajv's walk does not tell them apart).
        let mut errors: Vec<_> = validator
            .iter_errors(instance)
            .map(|error| {
                let (order, holder) = ajv::locate(
                    base,
                    error.evaluation_path().as_str(),
                    error.instance_path().as_str(),
                    &resolve,
                );
                (order, holder, error)
            })
            .collect();
        errors.sort_by(|a, b| a.0.cmp(&b.0));
        errors
            .into_iter()
            .flat_map(|(_, holder, error)| {
                let relative = error.instance_path().as_str().to_string();
                let keyword = error.kind().keyword().to_string();
                ajv::messages(&error, holder)
                    .into_iter()
                    .map(|(property, message)| {
                        let mut found =
                            violation(at, instance, &relative, keyword.clone(), message);
                        // ajv names the key a rule about keys refuses beside the level.
                        if let Some(name) = property {
                            found.key = KeyPath::parse(&found.key)
                                .map(|p| p.child(Segment::Key(name.clone())).to_string())
                                .unwrap_or(found.key);
                            found.name = name;
                        }
                        found
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Follows local `$ref`s to the schema they name, ignoring anything beside them (for
    /// reading annotations such as `default`).
    pub(crate) fn follow_refs(&self, mut pointer: String) -> Option<(String, &Value)> {
        for _ in 0..32 {
            let sub = self.at(&pointer)?;
            match sub.get("$ref").and_then(Value::as_str) {
                Some(reference) if reference.starts_with('#') => pointer = reference.to_string(),
                _ => return Some((pointer, sub)),
            }
        }
        None
    }

    /// Resolves a chain of local `$ref`s. `None` for a reference this walk cannot
    /// follow; the caller then validates at the referring schema.
    fn resolve(&self, mut pointer: String) -> Option<(String, &Value)> {
        for _ in 0..32 {
            let schema = self.at(&pointer)?;
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                return Some((pointer, schema));
            };
            // Only a bare local reference is followed; siblings would also apply.
            let siblings = schema
                .as_object()
                .is_some_and(|o| o.keys().any(|k| k != "$ref" && !is_annotation(k)));
            if siblings || !reference.starts_with('#') {
                return None;
            }
            pointer = reference.to_string();
        }
        None
    }

    /// The pointer of the subschema for `child` under the navigable schema at `pointer`,
    /// `Ok(None)` when the child is unconstrained, `Err(())` when it cannot be told
    /// without validating the parent.
    fn child_pointer(
        &self,
        pointer: &str,
        schema: &Value,
        child: &Segment,
    ) -> std::result::Result<Option<String>, ()> {
        let Some(obj) = schema.as_object() else {
            // `true` constrains nothing below; `false` is checked at the parent.
            return if schema == &Value::Bool(true) {
                Ok(None)
            } else {
                Err(())
            };
        };
        match child {
            Segment::Key(name) => {
                if obj.get("properties").and_then(|p| p.get(name)).is_some() {
                    return Ok(Some(format!("{pointer}/properties/{}", escape(name))));
                }
                match obj.get("additionalProperties") {
                    None | Some(Value::Bool(true)) => Ok(None),
                    Some(Value::Object(_)) => Ok(Some(format!("{pointer}/additionalProperties"))),
                    Some(_) => Err(()),
                }
            }
            Segment::Index(_) => match obj.get("items") {
                None | Some(Value::Bool(true)) => Ok(None),
                Some(Value::Object(_)) => Ok(Some(format!("{pointer}/items"))),
                Some(_) => Err(()),
            },
        }
    }

    fn navigable(&self, schema: &Value, child: &Segment) -> bool {
        let Some(obj) = schema.as_object() else {
            return true;
        };
        // A sensitive value is written and validated whole (see `accept_envelopes`).
        if is_sensitive(schema) {
            return false;
        }
        let allowed = match child {
            Segment::Key(_) => OBJECT_NAVIGABLE,
            Segment::Index(_) => ARRAY_NAVIGABLE,
        };
        let tuple_items = self.legacy_items && obj.get("items").is_some_and(Value::is_array);
        !tuple_items
            && obj
                .keys()
                .all(|k| allowed.contains(&k.as_str()) || is_annotation(k))
    }

    /// [`Schema::walk`], remembered (see [`Schema::scopes`]).
    fn scope(&self, anchor: &KeyPath) -> Arc<Scope> {
        let lock = || self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(scope) = lock().get(anchor) {
            return scope.clone();
        }
        let scope = Arc::new(self.walk(anchor));
        let mut scopes = lock();
        if scopes.len() >= SCOPES_CACHED {
            scopes.clear();
        }
        scopes.insert(anchor.clone(), scope.clone());
        scope
    }

    /// Walks from the root towards `anchor`, stopping where the schema stops being
    /// navigable.
    fn walk(&self, anchor: &KeyPath) -> Scope {
        let mut pointer = "#".to_string();
        for (depth, segment) in anchor.segments().iter().enumerate() {
            let here = anchor.prefix(depth);
            let Some((resolved, schema)) = self.resolve(pointer.clone()) else {
                return Scope::Full(here, pointer);
            };
            if !self.navigable(schema, segment) {
                return Scope::Full(here, resolved);
            }
            match self.child_pointer(&resolved, schema, segment) {
                Ok(Some(child)) => pointer = child,
                Ok(None) => return Scope::Free,
                Err(()) => return Scope::Full(here, resolved),
            }
        }
        match self.resolve(pointer.clone()) {
            Some((resolved, _)) => Scope::Anchor(resolved),
            None => Scope::Full(anchor.clone(), pointer),
        }
    }

    /// Every violation a change can have caused in `doc` (the document after it).
    pub fn validate_change(&self, doc: &Node, change: &Change) -> Vec<Violation> {
        let anchor = match change {
            Change::Replaced(at) | Change::Added(at, _) | Change::Removed(at, _) => at,
        };
        let internal = |s: &Segment| matches!(s, Segment::Key(k) if k == INTERNAL_KEY);
        match change {
            Change::Replaced(at) if at.is_root() => return self.validate_document(doc),
            _ if anchor.is_internal() => return Vec::new(),
            Change::Added(at, child) | Change::Removed(at, child)
                if at.is_root() && internal(child) =>
            {
                return Vec::new()
            }
            _ => {}
        }
        let scope = self.scope(anchor);
        let pointer = match &*scope {
            Scope::Free => return Vec::new(),
            Scope::Full(at, pointer) => {
                return self.validate_at(at, pointer, doc.get(at).unwrap_or(&Node::Null))
            }
            Scope::Anchor(pointer) => pointer,
        };
        let instance = doc.get(anchor).unwrap_or(&Node::Null);
        match change {
            Change::Replaced(_) => self.validate_at(anchor, pointer, instance),
            Change::Added(_, child) | Change::Removed(_, child) => {
                let Some(schema) = self.at(pointer) else {
                    return Vec::new();
                };
                if !self.navigable(schema, child) {
                    return self.validate_at(anchor, pointer, instance);
                }
                let mut found = self.check_key_set(
                    anchor,
                    pointer,
                    schema,
                    instance,
                    child,
                    matches!(change, Change::Added(..)),
                );
                if let Change::Added(..) = change {
                    let child_path = anchor.child(child.clone());
                    match self.child_pointer(pointer, schema, child) {
                        Ok(Some(child_pointer)) => {
                            if let Some(value) = doc.get(&child_path) {
                                found.extend(self.validate_at(&child_path, &child_pointer, value));
                            }
                        }
                        Ok(None) => {}
                        // `additionalProperties: false` (or a `false` items schema).
                        Err(()) => found.extend(self.validate_at(anchor, pointer, instance)),
                    }
                }
                found
            }
        }
    }

    /// The parent-level keywords a key appearing or disappearing can break.
    fn check_key_set(
        &self,
        at: &KeyPath,
        pointer: &str,
        schema: &Value,
        instance: &Node,
        child: &Segment,
        added: bool,
    ) -> Vec<Violation> {
        let mut found = Vec::new();
        let number = |k: &str| schema.get(k).and_then(Value::as_u64);
        let mut fail = |keyword: &str, message: String| {
            found.push(violation(at, instance, "", keyword.to_string(), message))
        };
        match instance {
            Node::Object(map) => {
                let len = map.len() as u64;
                if let Some(max) = number("maxProperties").filter(|&m| len > m) {
                    fail(
                        "maxProperties",
                        format!("must NOT have more than {max} properties"),
                    );
                }
                if let Some(min) = number("minProperties").filter(|&m| len < m) {
                    fail(
                        "minProperties",
                        format!("must NOT have fewer than {min} properties"),
                    );
                }
                if let Segment::Key(name) = child {
                    let required = schema.get("required").and_then(Value::as_array);
                    if !added
                        && required.is_some_and(|r| r.iter().any(|k| k.as_str() == Some(name)))
                    {
                        fail("required", format!("must have required property '{name}'"));
                    }
                    if added && schema.get("propertyNames").is_some() {
                        let name_node = Node::String(name.as_str().into());
                        for v in
                            self.validate_at(at, &format!("{pointer}/propertyNames"), &name_node)
                        {
                            found.push(Violation {
                                keyword: "propertyNames".into(),
                                message: format!("property name '{name}' is invalid"),
                                ..v
                            });
                        }
                    }
                }
            }
            Node::Array(items) => {
                let len = items.len() as u64;
                if let Some(max) = number("maxItems").filter(|&m| len > m) {
                    fail("maxItems", format!("must NOT have more than {max} items"));
                }
                if let Some(min) = number("minItems").filter(|&m| len < m) {
                    fail("minItems", format!("must NOT have fewer than {min} items"));
                }
            }
            // The container itself was replaced: validate it whole.
            _ => found.extend(self.validate_at(at, pointer, instance)),
        }
        found
    }
}

/// A property name as a JSON pointer segment.
pub(crate) fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// A violation at `relative_pointer` inside `instance`, which sits at `at`.
fn violation(
    at: &KeyPath,
    instance: &Node,
    relative_pointer: &str,
    keyword: String,
    message: String,
) -> Violation {
    let mut path = at.clone();
    let mut node = Some(instance);
    for part in relative_pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        // A number inside an array is an index: `list[0]`, not `list.0`.
        let segment = match (node, part.parse::<usize>()) {
            (Some(Node::Array(_)), Ok(i)) => Segment::Index(i),
            _ => Segment::Key(part),
        };
        node = node.and_then(|n| n.child(&segment));
        path = path.child(segment);
    }
    let instance_path: String = path
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Key(k) => format!("/{}", escape(k)),
            Segment::Index(i) => format!("/{i}"),
        })
        .collect();
    Violation {
        key: path.to_string(),
        name: path.segment_names().pop().unwrap_or_default(),
        instance_path,
        keyword,
        message,
    }
}

fn is_sensitive(schema: &Value) -> bool {
    schema.get("x-sensitive") == Some(&Value::Bool(true))
}

/// A sensitive value is kept as an envelope (a string), so wherever the schema marks
/// one, the envelope is accepted as well as what the schema says: the plaintext is
/// validated against the original when it is written, before it is sealed.
fn accept_envelopes(schema: &mut Value) {
    if is_sensitive(schema) {
        let original = schema.take();
        *schema = serde_json::json!({
            "anyOf": [{ "type": "string", "pattern": format!("^{}", super::crypto::PREFIX) }, original]
        });
        return;
    }
    match schema {
        Value::Object(obj) => {
            for (key, value) in obj.iter_mut() {
                if !matches!(key.as_str(), "enum" | "const" | "default" | "examples") {
                    accept_envelopes(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(accept_envelopes),
        _ => {}
    }
}

/// Removes `default` and `examples` values (annotations, often large objects) before
/// compiling.
fn strip_annotations(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            obj.remove("default");
            obj.remove("examples");
            for (key, value) in obj.iter_mut() {
                // The values of these are data, not schemas.
                if !matches!(key.as_str(), "enum" | "const") {
                    strip_annotations(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_annotations),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::compile(json!({
            "type": "object",
            "properties": {
                "settings": {
                    "type": "object",
                    "properties": { "theme": { "enum": ["dark", "light"] } },
                    "additionalProperties": { "type": "number" }
                },
                "list": { "type": "array", "items": { "type": "string" }, "maxItems": 2 },
                "free": true,
                "ref": { "$ref": "#/$defs/n" }
            },
            "$defs": { "n": { "type": "number" } }
        }))
        .unwrap()
    }

    fn p(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }

    #[test]
    fn a_remembered_scope_is_the_walk_and_the_cache_is_bounded() {
        let schema = schema();
        for key in [
            "settings.theme",
            "settings.other",
            "list[1]",
            "free.x.y",
            "ref",
            "none",
        ] {
            assert_eq!(*schema.scope(&p(key)), schema.walk(&p(key)), "{key}");
            assert_eq!(
                *schema.scope(&p(key)),
                schema.walk(&p(key)),
                "{key}, remembered"
            );
        }
        for n in 0..SCOPES_CACHED + 10 {
            schema.scope(&p(&format!("settings.k{n}")));
        }
        assert!(schema.scopes.lock().unwrap().len() <= SCOPES_CACHED);
    }

    #[test]
    fn a_change_is_validated_where_it_can_matter_remembered_or_not() {
        let schema = schema();
        let doc = |v: Value| Node::from_json(&v.to_string()).unwrap();
        let bad = doc(json!({ "settings": { "theme": "blue", "size": "big" } }));
        for _ in 0..2 {
            let found = schema.validate_change(&bad, &Change::Replaced(p("settings.theme")));
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].keyword, "enum");
            let found = schema.validate_change(&bad, &Change::Replaced(p("settings.size")));
            assert_eq!(found[0].keyword, "type");
        }
        let long = doc(json!({ "list": ["a", "b", "c"] }));
        let added = Change::Added(p("list"), Segment::Index(2));
        assert_eq!(schema.validate_change(&long, &added)[0].keyword, "maxItems");
        let free = doc(json!({ "free": { "x": 1 } }));
        assert!(schema
            .validate_change(&free, &Change::Replaced(p("free.x")))
            .is_empty());
    }
}
