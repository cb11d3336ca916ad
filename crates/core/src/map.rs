//! The object map of the document: keys in insertion order, as JS keeps them, and small.
//!
//! Settings documents are mostly many small objects, so the map is a plain vector that
//! is scanned, with a hash index only once it grows past [`INDEX_FROM`] keys. That keeps
//! a 10 MiB document under ~40 MB in memory (an `IndexMap` per object took 62 MB).
//!
//! A wide map is shared between copies piece by piece: its slots are [`Items`] (chunks of
//! about 1,024 behind `Arc` from 4,096 slots) and its index is split into shards of about
//! [`SHARD`] keys behind `Arc`. Copying one (the first write below it while the committer
//! holds the document's snapshot) copies the two lists of pointers, and a write then
//! copies the one chunk and, if it adds or removes a key, the one shard it changes: not
//! every key, which took milliseconds at 100,000 keys.

use crate::items::Items;
use compact_str::CompactString;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Maps with at least this many keys get a hash index; smaller ones are scanned.
const INDEX_FROM: usize = 12;
/// Keys per index shard, about: the most a write to a shared map copies of the index.
const SHARD: usize = 1024;

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
    /// Slots in insertion order; `None` is a tombstone. A slot keeps its number until
    /// the tombstones are dropped: keys are added at the end, and put back only where
    /// they were taken from.
    entries: Items<Option<(Key, V)>>,
    /// The `Some` slots. Invariant: `live <= entries.len()`.
    live: usize,
    /// Slots in `entries` by key hash. Invariant: `Some` exactly when
    /// `entries.len() >= INDEX_FROM` (slots, tombstones included: a scan walks them),
    /// and then it indexes every live entry and nothing else.
    index: Option<Index>,
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
fn key_at<V: Clone>(entries: &Items<Option<(Key, V)>>, slot: usize) -> &str {
    match entries.get(slot) {
        Some(Some((k, _))) => k.as_str(),
        _ => "",
    }
}

/// A map's hash index: slot numbers by key hash, in shards shared between copies.
#[derive(Clone)]
struct Index {
    /// Invariant: a power of two of them; a key with hash `h` is in `shards[shard(h)]`.
    shards: Box<[Arc<HashTable<usize>>]>,
}

impl Index {
    /// Shards for about `keys` keys, each with room for its share.
    fn for_keys(keys: usize) -> Index {
        let count = (keys / SHARD).next_power_of_two();
        let each = keys / count + 1;
        Index {
            shards: (0..count)
                .map(|_| Arc::new(HashTable::with_capacity(each)))
                .collect(),
        }
    }

    fn shard(&self, h: u64) -> usize {
        // Bits a table uses neither to place a key (the low ones) nor to tag it (the top
        // seven): within a shard, keys still spread and differ in their tags.
        (h >> 32) as usize & (self.shards.len() - 1)
    }

    fn find(&self, h: u64, eq: impl FnMut(&usize) -> bool) -> Option<usize> {
        self.shards[self.shard(h)].find(h, eq).copied()
    }

    /// Copies the shard if another copy of the map shares it.
    fn insert(&mut self, h: u64, slot: usize, rehash: impl Fn(&usize) -> u64) {
        let shard = self.shard(h);
        Arc::make_mut(&mut self.shards[shard]).insert_unique(h, slot, rehash);
    }

    /// Copies the shard if another copy of the map shares it.
    fn remove(&mut self, h: u64, slot: usize) {
        let shard = self.shard(h);
        if let Ok(entry) = Arc::make_mut(&mut self.shards[shard]).find_entry(h, |&j| j == slot) {
            entry.remove();
        }
    }

    /// Whether the shards hold twice the keys they were made for: then the index is
    /// rebuilt with twice as many, which keeps a shard (what a write copies) bounded, at
    /// O(1) amortised per key.
    fn is_outgrown(&self, keys: usize) -> bool {
        keys > 2 * SHARD * self.shards.len()
    }
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map {
            entries: Items::default(),
            live: 0,
            index: None,
        }
    }
}

impl<V: Clone> Map<V> {
    pub fn new() -> Map<V> {
        Map::default()
    }

    /// The map of `entries` in their order; a repeated key keeps its first position and
    /// its last value, as `JSON.parse` does. For a parse, which knows every member before
    /// it makes the map: one allocation of the exact size, reused in place.
    pub fn from_entries(entries: Vec<(Key, V)>) -> Map<V> {
        let mut live = entries.len();
        // In place: an `Option` of the pair is the pair's size (its niche holds `None`).
        let mut slots: Vec<Option<(Key, V)>> = entries.into_iter().map(Some).collect();
        let mut index = None;
        if slots.len() < INDEX_FROM {
            for i in 1..slots.len() {
                // Emptied slots (repeats taken over) have no key: never a match.
                if let Some(first) = (0..i).find(|&j| key(&slots, j) == key(&slots, i)) {
                    take_over(&mut slots, first, i);
                    live -= 1;
                }
            }
        } else {
            let mut shards = Index::for_keys(live);
            for i in 0..slots.len() {
                let h = hash(key(&slots, i).unwrap_or(""));
                match shards.find(h, |&j| key(&slots, j) == key(&slots, i)) {
                    Some(first) => {
                        take_over(&mut slots, first, i);
                        live -= 1;
                    }
                    None => shards.insert(h, i, |&j| hash(key(&slots, j).unwrap_or(""))),
                }
            }
            index = Some(shards);
        }
        let mut map = Map {
            entries: Items::from(slots),
            live,
            index,
        };
        if map.live < map.entries.len() {
            map.drop_tombstones();
        }
        map
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.find(hash(key), |&i| key_at(&self.entries, i) == key),
            None => self
                .entries
                .iter()
                .position(|slot| matches!(slot, Some((k, _)) if k == key)),
        }
    }

    /// Copies the slot's chunk if another copy of the map shares it.
    fn value_mut(&mut self, slot: usize) -> &mut V {
        match self.entries.get_mut(slot) {
            Some(Some((_, value))) => value,
            _ => unreachable!("a live slot"),
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        match self.entries.get(self.position(key)?) {
            Some(Some((_, value))) => Some(value),
            _ => None,
        }
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
            Some(index) if index.is_outgrown(self.live) => self.rebuild_index(),
            Some(index) => {
                let entries = &self.entries;
                index.insert(h, at, |&i| hash(key_at(entries, i)));
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
        let mut index = Index::for_keys(self.live);
        let entries = &self.entries;
        for (i, slot) in entries.iter().enumerate() {
            if let Some((k, _)) = slot {
                index.insert(hash(k), i, |&j| hash(key_at(entries, j)));
            }
        }
        self.index = Some(index);
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
            index.remove(hash(key), i);
        }
        let (_, value) = self.entries.get_mut(i)?.take()?;
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
                    index.insert(h, position, |&i| hash(key_at(entries, i)));
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
        let mut slots = std::mem::take(&mut self.entries).into_vec();
        slots.retain(Option::is_some);
        self.entries = Items::from(slots);
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

/// The key in slot `i` of a parse's slots, if not emptied.
fn key<V>(slots: &[Option<(Key, V)>], i: usize) -> Option<&str> {
    slots[i].as_ref().map(|(k, _)| k.as_str())
}

/// A repeated key at slot `later`: its value goes to slot `first`, its slot empties.
fn take_over<V>(slots: &mut [Option<(Key, V)>], first: usize, later: usize) {
    if let Some((_, value)) = slots[later].take() {
        if let Some((_, kept)) = &mut slots[first] {
            *kept = value;
        }
    }
}

impl<V: Clone + PartialEq> PartialEq for Map<V> {
    /// Same keys, in the same order, with equal values (the order shows in the file).
    fn eq(&self, other: &Map<V>) -> bool {
        self.live == other.live && self.iter().eq(other.iter())
    }
}

impl<V: Clone + std::fmt::Debug> std::fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Clone> std::ops::Index<&str> for Map<V> {
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
        // 5,000: slots in chunks; 20,000: an index grown to several shards.
        for size in [3usize, INDEX_FROM - 1, INDEX_FROM, 100, 5_000, 20_000] {
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
    fn a_map_of_a_few_keys_costs_what_a_vector_does_and_two_words() {
        // Most objects of a settings file are small: sharing wide ones adds nothing to
        // them but the pointer to a (missing) index.
        let vector = std::mem::size_of::<Vec<Option<(Key, Node)>>>();
        assert_eq!(std::mem::size_of::<Items<Option<(Key, Node)>>>(), vector);
        assert_eq!(std::mem::size_of::<Map>(), vector + 3 * 8);
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
    fn a_copy_of_a_wide_map_shares_all_but_what_a_write_changes() {
        let size = 100_000;
        let mut original = Map::new();
        for i in 0..size {
            original.insert(format!("k{i}"), n(i));
        }
        let shards = |map: &Map| map.index.as_ref().unwrap().shards.clone();
        assert!(shards(&original).len() >= 32, "{}", shards(&original).len());
        let mut copy = original.clone();
        copy.insert("k500", n(0)); // a value: its chunk
        copy.shift_remove("k70000"); // a key: its chunk and its shard
        copy.insert("new", n(1)); // a key at the end: the last chunk and a shard
        let (a, b) = (shards(&original), shards(&copy));
        let shared = a.iter().zip(b.iter()).filter(|(x, y)| Arc::ptr_eq(x, y));
        assert!(shared.count() >= a.len() - 2, "at most two shards copied");
        assert!(
            original.entries.chunks_shared_with(&copy.entries)
                >= original.entries.chunk_count() - 3,
            "at most three chunks copied"
        );
        assert_eq!(
            original.get("k500"),
            Some(&n(500)),
            "the original is untouched"
        );
        assert_eq!(original.get("k70000"), Some(&n(70000)));
        assert_eq!((original.get("new"), original.len()), (None, size as usize));
        assert_eq!(copy.get("k500"), Some(&n(0)));
        assert_eq!((copy.get("k70000"), copy.get("new")), (None, Some(&n(1))));
        assert_eq!(copy.len(), size as usize);
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
