//! The mirror's flat entries gathered into one document, and the comparison of two
//! documents the mirror makes (member order aside).

use crate::document::{Map, Node};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Equal values, the order of an object's members aside (the mirror keeps no order:
/// a device that took an object from it holds its members sorted).
pub(super) fn same(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::Object(x), Node::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Node::Array(x), Node::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// The mirror's entries gathered into a document.
#[derive(Default)]
pub(super) struct Tree {
    /// A value here (an entry), or members.
    leaf: Option<Node>,
    members: BTreeMap<String, Tree>,
}

impl Tree {
    pub(super) fn put(&mut self, names: &[String], node: Node) {
        match names.split_first() {
            None => self.leaf = Some(node),
            Some((first, rest)) => self
                .members
                .entry(first.clone())
                .or_default()
                .put(rest, node),
        }
    }

    /// Members win over an entry at the same key (see [`Mirror::view`]).
    pub(super) fn into_node(self) -> Node {
        if self.members.is_empty() {
            return self.leaf.unwrap_or_else(Node::empty_object);
        }
        let members = self
            .members
            .into_iter()
            .map(|(name, tree)| (name.into(), tree.into_node()))
            .collect();
        Node::Object(Arc::new(Map::from_entries(members)))
    }
}
