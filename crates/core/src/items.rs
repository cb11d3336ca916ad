//! The document's arrays: items in order, where taking one out of (or putting one back
//! into) the middle of a large array does not move every item after it.
//!
//! Most arrays of a settings file are short, and stay one vector. From [`CHUNKED_FROM`]
//! items an array is kept as chunks of about [`CHUNK`] items, with a Fenwick tree of their
//! lengths: finding index `i` is a descent of that tree, O(log chunks), and a removal or
//! insertion moves at most a chunk's items, so its cost does not grow with the array.
//! Chunks are shared between copies (`Arc`): copying a large array (the first write
//! while the committer holds the document's snapshot) copies the list of chunks, and a
//! write then copies only the chunk it changes.
//! Generic over the item (the document's `Node`), so that this file does not depend on
//! the document, which depends on it.

use std::sync::Arc;

/// From this many items an array is chunked.
const CHUNKED_FROM: usize = 4096;
/// A chunk's usual size; one grown past twice this is split in two.
const CHUNK: usize = 1024;

/// The items in order (see [`Items::iter`]).
pub type Iter<'a, T> = std::iter::Chain<
    std::slice::Iter<'a, T>,
    std::iter::FlatMap<
        std::slice::Iter<'a, Arc<Vec<T>>>,
        std::slice::Iter<'a, T>,
        fn(&'a Arc<Vec<T>>) -> std::slice::Iter<'a, T>,
    >,
>;

/// A chunk's items (a function, so that [`Iter`] can be named).
fn chunk_items<T>(chunk: &Arc<Vec<T>>) -> std::slice::Iter<'_, T> {
    chunk.iter()
}

#[derive(Clone)]
pub struct Items<T> {
    repr: Repr<T>,
}

#[derive(Clone)]
enum Repr<T> {
    Flat(Vec<T>),
    /// Boxed, so that a short array (and a map's slots, which are items too) costs one
    /// vector's size.
    Chunked(Box<Chunks<T>>),
}

/// Invariant: `lengths` is the Fenwick tree of the chunks' lengths and `len` their sum.
/// Chunks may be empty (a removal leaves one rather than moving the others); they are
/// dropped when the chunks are rebuilt, which happens once there are more than twice as
/// many as the items need, so the work stays O(1) amortised per item.
#[derive(Clone)]
struct Chunks<T> {
    chunks: Vec<Arc<Vec<T>>>,
    lengths: Vec<usize>,
    len: usize,
}

impl<T: Clone> Chunks<T> {
    /// Each write copies the one chunk it changes if another copy of the array shares it.
    fn insert(&mut self, i: usize, item: T) {
        let len = self.len;
        assert!(i <= len, "insertion index {i} past the length {len}");
        let (c, at) = if i == len {
            // After the last item: into the last chunk.
            let c = self.chunks.len() - 1;
            (c, self.chunks[c].len())
        } else {
            fenwick_find(&self.lengths, i)
        };
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        chunk.insert(at, item);
        self.len += 1;
        if chunk.len() > 2 * CHUNK {
            let tail = chunk.split_off(CHUNK);
            self.chunks.insert(c + 1, Arc::new(tail));
            self.lengths = fenwick(&self.chunks);
        } else {
            fenwick_add(&mut self.lengths, c, 1);
        }
    }

    fn remove(&mut self, i: usize) -> T {
        let len = self.len;
        assert!(i < len, "removal index {i} past the length {len}");
        let (c, at) = fenwick_find(&self.lengths, i);
        let item = Arc::make_mut(&mut self.chunks[c]).remove(at);
        self.len -= 1;
        fenwick_add(&mut self.lengths, c, -1);
        item
    }

    /// Whether there are more than twice the chunks the items need: then they are rebuilt.
    fn is_sparse(&self) -> bool {
        self.chunks.len() > 2 * (self.len / CHUNK) + 2
    }

    /// From the end, chunk by chunk: taking back an append costs what was appended.
    fn truncate(&mut self, keep: usize) {
        while self.len > keep {
            let last = self.chunks.len() - 1;
            let cut = (self.len - keep).min(self.chunks[last].len());
            let chunk = Arc::make_mut(&mut self.chunks[last]);
            chunk.truncate(chunk.len() - cut);
            self.len -= cut;
            if self.chunks[last].is_empty() && last > 0 {
                // A Fenwick tree's prefix is the tree of the prefix.
                self.chunks.pop();
                self.lengths.truncate(last);
            } else {
                fenwick_add(&mut self.lengths, last, -(cut as isize));
            }
        }
    }
}

/// The Fenwick tree of `chunks`' lengths.
fn fenwick<T>(chunks: &[Arc<Vec<T>>]) -> Vec<usize> {
    let mut tree: Vec<usize> = chunks.iter().map(|chunk| chunk.len()).collect();
    for i in 0..tree.len() {
        let parent = i | (i + 1);
        if parent < tree.len() {
            tree[parent] += tree[i];
        }
    }
    tree
}

/// Adds `delta` to chunk `c`'s length in the tree.
fn fenwick_add(tree: &mut [usize], mut c: usize, delta: isize) {
    while c < tree.len() {
        tree[c] = tree[c].wrapping_add_signed(delta);
        c |= c + 1;
    }
}

/// The chunk holding item `i` (which exists) and `i`'s offset in it.
fn fenwick_find(tree: &[usize], mut i: usize) -> (usize, usize) {
    // Binary lifting: the largest prefix of chunks whose total is at most `i`.
    let mut at = 0;
    let mut step = tree.len().next_power_of_two();
    while step > 0 {
        let next = at + step;
        if next <= tree.len() && tree[next - 1] <= i {
            i -= tree[next - 1];
            at = next;
        }
        step /= 2;
    }
    (at, i)
}

/// `items` cut into chunks of `CHUNK`.
fn chunked<T>(items: Vec<T>) -> Repr<T> {
    let len = items.len();
    let mut chunks = Vec::with_capacity(len / CHUNK + 1);
    let mut rest = items.into_iter();
    loop {
        let chunk: Vec<T> = rest.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(Arc::new(chunk));
    }
    let lengths = fenwick(&chunks);
    Repr::Chunked(Box::new(Chunks {
        chunks,
        lengths,
        len,
    }))
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items {
            repr: Repr::Flat(Vec::new()),
        }
    }
}

impl<T: Clone> From<Vec<T>> for Items<T> {
    fn from(items: Vec<T>) -> Items<T> {
        let repr = if items.len() >= CHUNKED_FROM {
            chunked(items)
        } else {
            Repr::Flat(items)
        };
        Items { repr }
    }
}

impl<T: Clone> Items<T> {
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Flat(items) => items.len(),
            Repr::Chunked(chunked) => chunked.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        match &self.repr {
            Repr::Flat(items) => items.get(i),
            Repr::Chunked(chunked) => (i < chunked.len)
                .then(|| fenwick_find(&chunked.lengths, i))
                .map(|(c, at)| &chunked.chunks[c][at]),
        }
    }

    /// Copies the chunk holding item `i` if another copy of the array shares it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        match &mut self.repr {
            Repr::Flat(items) => items.get_mut(i),
            Repr::Chunked(chunked) => (i < chunked.len)
                .then(|| fenwick_find(&chunked.lengths, i))
                .map(|(c, at)| &mut Arc::make_mut(&mut chunked.chunks[c])[at]),
        }
    }

    pub fn push(&mut self, item: T) {
        let len = self.len();
        self.insert(len, item);
    }

    /// Puts `item` at index `i` (at most the length), the later items one further.
    pub fn insert(&mut self, i: usize, item: T) {
        match &mut self.repr {
            Repr::Flat(items) => {
                items.insert(i, item);
                if items.len() >= CHUNKED_FROM {
                    self.rebuild();
                }
            }
            Repr::Chunked(chunked) => chunked.insert(i, item),
        }
    }

    /// Takes out the item at index `i` (which exists), the later items one back.
    pub fn remove(&mut self, i: usize) -> T {
        let (item, sparse) = match &mut self.repr {
            Repr::Flat(items) => (items.remove(i), false),
            Repr::Chunked(chunked) => {
                let item = chunked.remove(i);
                (item, chunked.is_sparse())
            }
        };
        if sparse {
            self.rebuild();
        }
        item
    }

    /// Keeps the first `keep` items; a chunked array cuts from its end, so taking back an
    /// append costs what was appended.
    pub fn truncate(&mut self, keep: usize) {
        match &mut self.repr {
            Repr::Flat(items) => items.truncate(keep),
            Repr::Chunked(chunked) => chunked.truncate(keep),
        }
    }

    /// The items again as `From` makes them: chunked by size, empty chunks dropped.
    fn rebuild(&mut self) {
        let items = std::mem::take(self).into_vec();
        *self = Items::from(items);
    }

    /// The items as one vector.
    pub fn into_vec(self) -> Vec<T> {
        match self.repr {
            Repr::Flat(items) => items,
            Repr::Chunked(chunked) => {
                let mut out = Vec::with_capacity(chunked.len);
                chunked
                    .chunks
                    .into_iter()
                    .for_each(|chunk| out.extend(Arc::unwrap_or_clone(chunk)));
                out
            }
        }
    }

    pub fn iter(&self) -> Iter<'_, T> {
        let (flat, chunks): (&[T], &[Arc<Vec<T>>]) = match &self.repr {
            Repr::Flat(items) => (items, &[]),
            Repr::Chunked(chunked) => (&[], &chunked.chunks),
        };
        let chunk_items: fn(&Arc<Vec<T>>) -> std::slice::Iter<'_, T> = chunk_items;
        flat.iter().chain(chunks.iter().flat_map(chunk_items))
    }
}

#[cfg(test)]
impl<T> Items<T> {
    /// How many chunks this array shares with `other` (none if either is one vector).
    pub(crate) fn chunks_shared_with(&self, other: &Items<T>) -> usize {
        match (&self.repr, &other.repr) {
            (Repr::Chunked(a), Repr::Chunked(b)) => a
                .chunks
                .iter()
                .zip(&b.chunks)
                .filter(|(x, y)| Arc::ptr_eq(x, y))
                .count(),
            _ => 0,
        }
    }

    pub(crate) fn chunk_count(&self) -> usize {
        match &self.repr {
            Repr::Flat(_) => 1,
            Repr::Chunked(chunked) => chunked.chunks.len(),
        }
    }
}

impl<T: Clone> std::ops::Index<usize> for Items<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        self.get(i).expect("an index within the array")
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for Items<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        self.get_mut(i).expect("an index within the array")
    }
}

impl<T: Clone + PartialEq> PartialEq for Items<T> {
    fn eq(&self, other: &Items<T>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Clone + std::fmt::Debug> std::fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation against a plain vector, through the switch to chunks and back.
    #[test]
    fn items_behave_as_a_vector_at_every_size() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound.max(1) as u64) as usize
        };
        let mut model: Vec<u32> = (0..5000).collect();
        let mut items = Items::from(model.clone());
        assert!(matches!(items.repr, Repr::Chunked(_)));
        for step in 0..40_000u32 {
            match next(10) {
                0..=3 if !model.is_empty() => {
                    let i = next(model.len());
                    assert_eq!(items.remove(i), model.remove(i), "step {step}");
                }
                4..=6 => {
                    let i = next(model.len() + 1);
                    items.insert(i, step);
                    model.insert(i, step);
                }
                7 => {
                    items.push(step);
                    model.push(step);
                }
                8 if !model.is_empty() => {
                    let i = next(model.len());
                    items[i] = step;
                    model[i] = step;
                }
                _ => {
                    let keep = model.len() - next(20).min(model.len());
                    items.truncate(keep);
                    model.truncate(keep);
                }
            }
            assert_eq!(items.len(), model.len());
            if step % 997 == 0 {
                assert!(items.iter().eq(model.iter()), "step {step}");
                for i in [0, model.len() / 2, model.len().saturating_sub(1)] {
                    assert_eq!(items.get(i), model.get(i));
                }
                assert_eq!(items.get(model.len()), None);
            }
        }
        assert!(items.iter().eq(model.iter()));
        assert!(items.iter().rev().eq(model.iter().rev()));
        assert_eq!(items.clone().into_vec(), model);
    }

    #[test]
    fn a_copy_shares_its_chunks_until_one_is_written() {
        let original = Items::from((0..100_000u32).collect::<Vec<_>>());
        let mut copy = original.clone();
        copy.remove(50_000);
        copy[10] = 7;
        assert_eq!(
            original.chunks_shared_with(&copy),
            original.chunk_count() - 2,
            "only the two written chunks were copied"
        );
        assert_eq!(original[50_000], 50_000, "the original is untouched");
        assert_eq!(original[10], 10);
        assert_eq!(copy[50_000], 50_001);
    }

    #[test]
    fn a_removal_from_a_large_array_moves_at_most_a_chunk() {
        let mut items = Items::from((0..100_000u32).collect::<Vec<_>>());
        for _ in 0..50_000 {
            items.remove(1000);
        }
        let Repr::Chunked(chunked) = &items.repr else {
            panic!("still chunked")
        };
        let Chunks { chunks, len, .. } = &**chunked;
        assert_eq!(*len, 50_000);
        assert!(chunks.iter().all(|c| c.len() <= 2 * CHUNK));
        assert!(
            chunks.len() <= 2 * (len / CHUNK) + 2,
            "emptied chunks dropped"
        );
        assert_eq!(items[999], 999);
        assert_eq!(items[1000], 51_000);
        // Small arrays stay one vector.
        assert!(matches!(Items::from(vec![1, 2, 3]).repr, Repr::Flat(_)));
    }
}
