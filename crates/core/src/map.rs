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
///
/// A removal leaves a tombstone in its slot rather than shifting the entries after it,
/// so it costs O(1) however wide the map, and its slot (the position
/// [`Map::shift_remove_full`] returns) stays valid for [`Map::insert_at`] to take the
/// removal back. Tombstones go in [`Map::compact`], which a caller runs once no such
/// position is held (the engine: after each change); it copies the live entries only
/// when tombstones outnumber them, so removals stay O(1) amortised.
#[derive(Clone)]
pub struct Map<V> {
    /// Slots in insertion order; `None` is a tombstone.
    entries: Vec<Option<(Key, V)>>,
    /// The `Some` slots. Invariant: `live <= entries.len()`.
    live: usize,
    /// Slots in `entries` by key hash. Invariant: `Some` exactly when
    /// `entries.len() >= INDEX_FROM` (slots, tombstones included: a scan walks them),
    /// and then it indexes every live entry and nothing else.
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

/// The key of a live slot (the index holds only those).
fn key_at<V>(entries: &[Option<(Key, V)>], slot: usize) -> &str {
    entries[slot].as_ref().map_or("", |(k, _)| k.as_str())
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map {
            entries: Vec::new(),
            live: 0,
            index: None,
        }
    }
}

impl<V> Map<V> {
    pub fn new() -> Map<V> {
        Map::default()
    }

    /// The map of `entries` in their order; a repeated key keeps its first position and
    /// its last value, as `JSON.parse` does. For a parse, which knows every member before
    /// it makes the map: one allocation of the exact size, reused in place.
    pub fn from_entries(entries: Vec<(Key, V)>) -> Map<V> {
        let mut map = Map {
            live: entries.len(),
            // In place: an `Option` of the pair is the pair's size (its niche holds `None`).
            entries: entries.into_iter().map(Some).collect(),
            index: None,
        };
        let mut repeated = false;
        if map.entries.len() < INDEX_FROM {
            for i in 1..map.entries.len() {
                let key = key_at(&map.entries, i);
                // Emptied slots (repeats taken over) are skipped: their key reads as "".
                let first = (0..i).find(|&j| matches!(&map.entries[j], Some((k, _)) if k == key));
                if let Some(first) = first {
                    repeated = true;
                    map.take_over(first, i);
                }
            }
        } else {
            let mut index = HashTable::with_capacity(map.live);
            for i in 0..map.entries.len() {
                let entries = &map.entries;
                let h = hash(key_at(entries, i));
                match index.find(h, |&j| key_at(entries, j) == key_at(entries, i)) {
                    Some(&first) => {
                        repeated = true;
                        map.take_over(first, i);
                    }
                    None => {
                        index.insert_unique(h, i, |&j| hash(key_at(entries, j)));
                    }
                }
            }
            map.index = Some(Box::new(index));
        }
        if repeated {
            map.drop_tombstones();
        }
        map
    }

    /// A repeated key at slot `later`: its value goes to slot `first`, its slot empties.
    fn take_over(&mut self, first: usize, later: usize) {
        if let Some((_, value)) = self.entries[later].take() {
            *self.value_mut(first) = value;
            self.live -= 1;
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index
                .find(hash(key), |&i| key_at(&self.entries, i) == key)
                .copied(),
            None => self
                .entries
                .iter()
                .position(|slot| matches!(slot, Some((k, _)) if k == key)),
        }
    }

    fn value_mut(&mut self, slot: usize) -> &mut V {
        &mut self.entries[slot].as_mut().expect("a live slot").1
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.position(key)
            .and_then(|i| self.entries[i].as_ref().map(|(_, v)| v))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key`, keeping its position if present. Returns the previous value.
    pub fn insert(&mut self, key: impl AsRef<str> + Into<Key>, value: V) -> Option<V> {
        if let Some(i) = self.position(key.as_ref()) {
            return Some(std::mem::replace(self.value_mut(i), value));
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
        self.value_mut(i)
    }

    fn push(&mut self, key: Key, value: V) {
        let at = self.entries.len();
        let h = hash(&key);
        self.entries.push(Some((key, value)));
        self.live += 1;
        match &mut self.index {
            Some(index) => {
                let entries = &self.entries;
                index.insert_unique(h, at, |&i| hash(key_at(entries, i)));
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
        let mut index = HashTable::with_capacity(self.live);
        let entries = &self.entries;
        for (i, slot) in entries.iter().enumerate() {
            if let Some((k, _)) = slot {
                index.insert_unique(hash(k), i, |&j| hash(key_at(entries, j)));
            }
        }
        self.index = Some(Box::new(index));
    }

    /// Removes `key`, keeping the order of the others. Returns its value.
    pub fn shift_remove(&mut self, key: &str) -> Option<V> {
        self.shift_remove_full(key).map(|(_, value)| value)
    }

    /// Removes `key`, keeping the order of the others: O(1), its slot left a tombstone.
    /// Returns its slot, for [`Map::insert_at`] until the next [`Map::compact`], and its
    /// value.
    pub fn shift_remove_full(&mut self, key: &str) -> Option<(usize, V)> {
        let i = self.position(key)?;
        if let Some(index) = &mut self.index {
            if let Ok(entry) = index.find_entry(hash(key), |&j| j == i) {
                entry.remove();
            }
        }
        let (_, value) = self.entries[i].take()?;
        self.live -= 1;
        Some((i, value))
    }

    /// Inserts `key` (absent) at `position`, the slot [`Map::shift_remove_full`] took it
    /// from (no [`Map::compact`] since), to take a removal back: O(1).
    pub fn insert_at(&mut self, position: usize, key: impl Into<Key>, value: V) {
        let key = key.into();
        match self.entries.get_mut(position) {
            Some(slot @ None) => {
                let h = hash(&key);
                *slot = Some((key, value));
                self.live += 1;
                if let Some(index) = &mut self.index {
                    let entries = &self.entries;
                    index.insert_unique(h, position, |&i| hash(key_at(entries, i)));
                }
            }
            // Past the end: it was the last.
            None => self.push(key, value),
            // Not the slot it left (a caller's mistake): kept, in order, all the same.
            Some(Some(_)) => {
                self.entries.insert(position, Some((key, value)));
                self.live += 1;
                self.rebuild_index();
            }
        }
    }

    /// Drops the tombstones once they outnumber the live entries (and a few): what
    /// keeps removals O(1) amortised and a map no larger than twice its keys. Positions
    /// from [`Map::shift_remove_full`] are void after it.
    pub fn compact(&mut self) {
        if self.is_sparse() {
            self.drop_tombstones();
        }
    }

    fn drop_tombstones(&mut self) {
        self.entries.retain(Option::is_some);
        self.rebuild_index();
    }

    /// Whether [`Map::compact`] would do anything.
    pub fn is_sparse(&self) -> bool {
        self.entries.len() - self.live > self.live.max(8)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().flatten().map(|(k, v)| (k.as_str(), v))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().flatten().map(|(_, v)| v)
    }
}

impl<V: PartialEq> PartialEq for Map<V> {
    /// Same keys, in the same order, with equal values (the order shows in the file).
    fn eq(&self, other: &Map<V>) -> bool {
        self.live == other.live && self.iter().eq(other.iter())
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
    fn a_removal_moves_nothing_and_compaction_bounds_the_tombstones() {
        let size = 1000;
        let mut map = Map::new();
        for i in 0..size {
            map.insert(format!("k{i}"), n(i));
        }
        // Removals leave their slots: nothing after them moves, positions stay valid.
        let mut removed = Vec::new();
        for i in (0..size).step_by(3) {
            let (position, _) = map.shift_remove_full(&format!("k{i}")).unwrap();
            assert_eq!(position, i as usize);
            removed.push(i);
        }
        assert_eq!(map.entries.len(), size as usize, "no slot moved");
        assert_eq!(map.len(), size as usize - removed.len());
        assert!(!map.is_sparse(), "334 tombstones, 666 keys");
        map.compact();
        assert_eq!(map.entries.len(), size as usize, "not sparse: kept");
        for i in (1..size).step_by(3) {
            map.shift_remove(&format!("k{i}"));
        }
        assert!(map.is_sparse());
        map.compact();
        assert_eq!(map.entries.len(), map.len(), "compacted: only live slots");
        let keys: Vec<String> = map.iter().map(|(k, _)| k.to_string()).collect();
        let expected: Vec<String> = (2..size).step_by(3).map(|i| format!("k{i}")).collect();
        assert_eq!(keys, expected, "order kept");
        for i in 0..size {
            assert_eq!(map.get(&format!("k{i}")).is_some(), i % 3 == 2, "k{i}");
        }
        // A key removed and set again goes last, as in JS.
        map.shift_remove("k2");
        map.insert("k2", n(2));
        assert_eq!(map.iter().last().unwrap().0, "k2");
        assert_eq!(map.iter().next().unwrap().0, "k5");
    }

    #[test]
    fn tombstones_do_not_count_in_equality_length_or_small_maps() {
        let mut a = Map::new();
        let mut b = Map::new();
        for i in 0..20 {
            a.insert(format!("k{i}"), n(i));
        }
        for i in 0..20 {
            if i % 2 == 0 {
                b.insert(format!("k{i}"), n(i));
            }
        }
        for i in (1..20).step_by(2) {
            a.shift_remove(&format!("k{i}"));
        }
        assert_eq!(a.len(), 10);
        assert_eq!(a, b, "same keys in the same order");
        assert!(a.index.is_some(), "indexed by slots: 20 of them");
        // Every key of a small map removed: it still finds and refuses keys by scanning.
        let mut small = Map::new();
        small.insert("x", n(1));
        small.shift_remove("x");
        assert!(small.is_empty());
        assert_eq!(small.get("x"), None);
        small.insert("x", n(2));
        assert_eq!(small.get("x"), Some(&n(2)));
        assert_eq!(small.len(), 1);
    }

    #[test]
    fn a_tombstone_costs_no_space_of_its_own() {
        // The niche of the key (or the node) holds `None`: a slot is as small as an entry.
        assert_eq!(
            std::mem::size_of::<Option<(Key, Node)>>(),
            std::mem::size_of::<(Key, Node)>()
        );
    }

    #[test]
    fn a_map_from_parsed_members_keeps_first_positions_and_last_values() {
        let entries = |keys: &[&str]| -> Vec<(Key, Node)> {
            keys.iter()
                .enumerate()
                .map(|(i, k)| (Key::from(*k), n(i as u64)))
                .collect()
        };
        // Small (scanned) and large (indexed), with repeats, the empty key among them.
        let small = Map::from_entries(entries(&["a", "a", "", "b", "", "a"]));
        let got: Vec<_> = small
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(
            got,
            vec![("a".into(), n(5)), ("".into(), n(4)), ("b".into(), n(3))]
        );
        assert_eq!(small.len(), 3);
        let mut keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        keys.insert(30, "k3".into());
        keys.push(String::new());
        keys.push(String::new());
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let large = Map::from_entries(entries(&refs));
        assert_eq!(large.len(), 41);
        assert_eq!(large.get("k3"), Some(&n(30)), "the last value");
        assert_eq!(
            large.iter().nth(3).unwrap().0,
            "k3",
            "at the first position"
        );
        assert_eq!(large.get(""), Some(&n(42)));
        let mut inserted = Map::new();
        for (k, v) in entries(&refs) {
            inserted.insert(k, v);
        }
        assert_eq!(large, inserted, "as inserting one by one");
        assert_eq!(large.entries.len(), large.len(), "no slot left empty");
        assert!(large.index.is_some());
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
                    map.entries.len() >= INDEX_FROM,
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
