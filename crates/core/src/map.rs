//! The object map of the document: keys in insertion order, as JS keeps them, and small.
//!
//! Settings documents are mostly many small objects, so the map is a plain vector that
//! is scanned, with a hash index only once it grows past [`INDEX_FROM`] keys. That keeps
//! a 10 MiB document under ~40 MB in memory (an `IndexMap` per object took 62 MB).

use compact_str::CompactString;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Maps with at least this many keys get a hash index; smaller ones are scanned.
const INDEX_FROM: usize = 12;

/// An ordered map from keys to `V` (the document's `Node`: generic so that this file
/// does not depend on the document, which depends on it).
#[derive(Clone)]
pub struct Map<V> {
    entries: Vec<(Key, V)>,
    /// Positions in `entries` by key hash. Invariant: `Some` exactly when
    /// `entries.len() >= INDEX_FROM`, and then it indexes every entry.
    index: Option<Box<HashTable<usize>>>,
}

/// A key: inline up to 24 bytes (every key of a typical settings file), so most keys
/// cost no allocation of their own.
pub type Key = CompactString;

fn hash(key: &str) -> u64 {
    // A fixed seed keeps maps small (no hasher state per map). foldhash hashes a short
    // key in a few nanoseconds, SipHash in tens: opening a 10 MiB store hashes every key
    // of every wide object. Neither resists chosen collisions once its seed is known, and
    // SipHash's fixed keys were as public as this seed; what bounds a hostile writer is
    // the renderer policy's limits, not the hasher.
    foldhash::fast::FixedState::with_seed(0x7ad5_7013).hash_one(key)
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map {
            entries: Vec::new(),
            index: None,
        }
    }
}

impl<V> Map<V> {
    pub fn new() -> Map<V> {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Map<V> {
        Map {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index
                .find(hash(key), |&i| self.entries[i].0 == key)
                .copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key`, keeping its position if present. Returns the previous value.
    pub fn insert(&mut self, key: impl AsRef<str> + Into<Key>, value: V) -> Option<V> {
        if let Some(i) = self.position(key.as_ref()) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        self.push(key.into(), value);
        None
    }

    /// The value at `key`, inserting `make()` at the end first if absent.
    pub fn get_or_insert_with(
        &mut self,
        key: impl AsRef<str> + Into<Key>,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let i = match self.position(key.as_ref()) {
            Some(i) => i,
            None => {
                self.push(key.into(), make());
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    fn push(&mut self, key: Key, value: V) {
        let at = self.entries.len();
        let h = hash(&key);
        self.entries.push((key, value));
        match &mut self.index {
            Some(index) => {
                let entries = &self.entries;
                index.insert_unique(h, at, |&i| hash(&entries[i].0));
            }
            None if self.entries.len() >= INDEX_FROM => self.rebuild_index(),
            None => {}
        }
    }

    fn rebuild_index(&mut self) {
        if self.entries.len() < INDEX_FROM {
            self.index = None;
            return;
        }
        let mut index = HashTable::with_capacity(self.entries.len());
        for (i, (k, _)) in self.entries.iter().enumerate() {
            let entries = &self.entries;
            index.insert_unique(hash(k), i, |&j| hash(&entries[j].0));
        }
        self.index = Some(Box::new(index));
    }

    /// Removes `key`, keeping the order of the others. Returns its value.
    pub fn shift_remove(&mut self, key: &str) -> Option<V> {
        self.shift_remove_full(key).map(|(_, value)| value)
    }

    /// Removes `key`, keeping the order of the others. Returns its position and value.
    /// The last key goes in O(1); any other shifts those after it.
    pub fn shift_remove_full(&mut self, key: &str) -> Option<(usize, V)> {
        let i = self.position(key)?;
        let (_, value) = self.entries.remove(i);
        match &mut self.index {
            Some(index) if self.entries.len() >= INDEX_FROM => {
                // The index keeps its hashes: drop this key's slot and move every later
                // position down by one, without hashing a key again.
                if let Ok(entry) = index.find_entry(hash(key), |&j| j == i) {
                    entry.remove();
                }
                for position in index.iter_mut().filter(|p| **p > i) {
                    *position -= 1;
                }
            }
            Some(_) => self.index = None,
            None => {}
        }
        Some((i, value))
    }

    /// Inserts `key` (absent) at `position` (at most the length): where
    /// [`Map::shift_remove_full`] took it from, to take a removal back.
    pub fn insert_at(&mut self, position: usize, key: impl Into<Key>, value: V) {
        if position >= self.entries.len() {
            return self.push(key.into(), value);
        }
        self.entries.insert(position, (key.into(), value));
        self.rebuild_index();
    }

    /// Drops spare capacity (after a parse, where the final size was unknown).
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<V: PartialEq> PartialEq for Map<V> {
    /// Same keys, in the same order, with equal values (the order shows in the file).
    fn eq(&self, other: &Map<V>) -> bool {
        self.entries == other.entries
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> std::ops::Index<&str> for Map<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        self.get(key).expect("key present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Node;

    type Map = super::Map<Node>;

    fn n(i: u64) -> Node {
        Node::Number(i.into())
    }

    #[test]
    fn small_and_large_maps_behave_the_same() {
        for size in [3usize, INDEX_FROM - 1, INDEX_FROM, 100] {
            let mut map = Map::new();
            for i in 0..size {
                assert_eq!(map.insert(format!("k{i}"), n(i as u64)), None);
            }
            assert_eq!(map.index.is_some(), size >= INDEX_FROM, "size {size}");
            for i in 0..size {
                assert_eq!(map.get(&format!("k{i}")), Some(&n(i as u64)));
            }
            assert_eq!(
                map.insert("k0", n(99)),
                Some(n(0)),
                "replace keeps position"
            );
            assert_eq!(map.iter().next().unwrap().0, "k0");
            assert_eq!(map.shift_remove("k1"), Some(n(1)));
            assert_eq!(map.get("k1"), None);
            assert_eq!(map.len(), size - 1);
            let keys: Vec<_> = map.iter().map(|(k, _)| k.to_string()).collect();
            let mut expected: Vec<_> = (0..size)
                .filter(|&i| i != 1)
                .map(|i| format!("k{i}"))
                .collect();
            expected[0] = "k0".into();
            assert_eq!(keys, expected, "order kept after removal");
            for i in (0..size).filter(|&i| i != 1) {
                assert!(
                    map.contains_key(&format!("k{i}")),
                    "size {size}: k{i} after removal"
                );
            }
        }
    }

    #[test]
    fn get_or_insert_appends_once() {
        let mut map = Map::new();
        *map.get_or_insert_with("a", || n(1)) = n(2);
        map.get_or_insert_with("a", || n(5));
        assert_eq!(map.get("a"), Some(&n(2)));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn a_removal_taken_back_restores_order_and_every_lookup() {
        for size in [INDEX_FROM - 1, INDEX_FROM, INDEX_FROM + 1, 200] {
            let keys: Vec<String> = (0..size).map(|i| format!("k{i}")).collect();
            let mut map = Map::new();
            for (i, k) in keys.iter().enumerate() {
                map.insert(k.clone(), n(i as u64));
            }
            for at in [0, size / 2, size - 1] {
                let (position, value) = map.shift_remove_full(&keys[at]).unwrap();
                assert_eq!((position, &value), (at, &n(at as u64)));
                assert_eq!(
                    map.index.is_some(),
                    map.len() >= INDEX_FROM,
                    "the invariant"
                );
                for (i, k) in keys.iter().enumerate().filter(|(i, _)| *i != at) {
                    assert_eq!(
                        map.get(k),
                        Some(&n(i as u64)),
                        "size {size}, removed {at}: {k}"
                    );
                }
                map.insert_at(position, keys[at].clone(), value);
                let order: Vec<&str> = map.iter().map(|(k, _)| k).collect();
                assert_eq!(order, keys.iter().map(String::as_str).collect::<Vec<_>>());
                for (i, k) in keys.iter().enumerate() {
                    assert_eq!(map.get(k), Some(&n(i as u64)));
                }
            }
        }
    }
}
