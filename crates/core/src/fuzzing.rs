//! The checks the fuzz targets run (`fuzz/fuzz_targets/*.rs`), shared with the corpus
//! replay test below, so every saved input, and every crash ever found, runs in
//! `cargo test` too. Each check panics only when an invariant breaks.

use super::document::Node;
use super::history;
use super::journal;
use super::path::KeyPath;
use std::path::Path;

/// Key paths: parsing never panics, and what parses prints back to the same path.
pub fn key_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = KeyPath::parse(text) {
        let again = KeyPath::parse(&path.to_string()).expect("a printed path parses");
        assert_eq!(again, path, "round trip of {text:?}");
    }
}

/// Loading a document: never panics; what loads writes out and loads back the same.
pub fn load_document(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(node) = Node::from_json(text) {
        let pretty = node.to_pretty_json();
        let again = Node::from_json(std::str::from_utf8(&pretty).expect("UTF-8"))
            .expect("our output loads");
        assert_eq!(again, node);
    }
}

/// History entries: applying any bytes as an entry never panics, and a result always
/// matches the entry's recorded hash (so damage is an error, never a wrong state).
pub fn history_apply(data: &[u8]) {
    let split = data.first().map_or(0, |b| *b as usize).min(data.len());
    let (base, entry) = data.split_at(split);
    if let Ok(old) = history::apply(Path::new("fuzz"), entry, base) {
        let header =
            history::decode_header(Path::new("fuzz"), entry).expect("applied, so it decodes");
        assert_eq!(journal::SnapshotId::of(&old), header.old);
    }
}

/// Journal replay: any bytes replay without panic to whole records only.
pub fn journal_replay(data: &[u8]) {
    if let Some(replay) = journal::replay(data) {
        assert!(replay.valid_len <= data.len());
        assert!(replay.valid_len >= journal::HEADER_LEN);
    }
}

/// Recovery: a store directory holding any snapshot and journal bytes opens or fails
/// with a typed error, never panics, and what opens is a readable document.
pub fn recovery(data: &[u8]) {
    use super::sim_fs::{Image, SimFs};
    use super::{Engine, EngineOptions};
    let split = data.first().map_or(0, |b| *b as usize * 4).min(data.len());
    let (snapshot_bytes, journal_bytes) = data.split_at(split);
    let store = std::path::PathBuf::from("/fuzz/config.json");
    let image = Image::from([
        (store.clone(), snapshot_bytes.to_vec()),
        (
            super::store_files::StoreFiles::of(&store).journal(),
            journal_bytes.to_vec(),
        ),
    ]);
    for clear in [false, true] {
        let fs = SimFs::from_image(&image);
        let mut options = EngineOptions::new(&store, std::sync::Arc::new(fs));
        options.clear_invalid_config = clear;
        options.checkpoint.idle = std::time::Duration::from_secs(3600);
        if let Ok(mut engine) = Engine::open(options) {
            engine.store_json().expect("an open store reads");
            engine.close_blocking().expect("an open store closes");
        }
    }
}

/// A check: panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every target, by the directory name of its corpus.
pub const TARGETS: &[(&str, Check)] = &[
    ("key_path", key_path),
    ("load_document", load_document),
    ("history_apply", history_apply),
    ("journal_replay", journal_replay),
    ("recovery", recovery),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// CI replays each target's saved corpus as ordinary tests.
    #[test]
    fn fuzz_corpus_replays() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("fuzz")
            .join("corpus");
        let mut ran = 0;
        for (name, check) in TARGETS {
            let dir = root.join(name);
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| check(&data));
                assert!(
                    outcome.is_ok(),
                    "{name}: {} breaks an invariant",
                    path.display()
                );
                ran += 1;
            }
        }
        assert!(ran >= TARGETS.len(), "a corpus is empty");
    }

    /// Writes valid seeds the fuzzer mutates from: `cargo test write_seeds -- --ignored`.
    #[test]
    #[ignore]
    fn write_seeds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("..")
            .join("fuzz")
            .join("corpus");
        let (new, old) = (
            br#"{"a":2,"b":[1,2,3]}"#.to_vec(),
            br#"{"a":1,"b":[1,2]}"#.to_vec(),
        );
        let entry = history::encode(1, &new, &old).unwrap();
        let seed = [&[new.len() as u8][..], &new, &entry].concat();
        std::fs::write(root.join("history_apply").join("valid-entry"), seed).unwrap();
        let mut bytes = journal::header(journal::SnapshotId::of(b"{}"));
        let key = crate::path::KeyPath::parse("a.b").unwrap();
        bytes.extend(journal::encode(&journal::Batch {
            seq: 1,
            ops: vec![journal::Op::Set {
                key,
                value: Node::from_json("[1,{\"x\":null}]").unwrap(),
            }],
        }));
        std::fs::write(
            root.join("journal_replay").join("one-record"),
            bytes.clone(),
        )
        .unwrap();
        let snapshot = b"{}";
        let seed = [&[1u8][..], &snapshot[..], &[b' '][..], &bytes].concat();
        std::fs::write(root.join("recovery").join("snapshot-and-journal"), seed).unwrap();
    }
}
