//! The snapshot, `config.json`: loading it, and replacing it atomically.

use super::document::Node;
use super::error::{Result, StoreError};
use super::file_cipher::FileCipher;
use super::fs::Fs;
use super::journal::SnapshotId;
use super::store_files::{Aside, StoreFiles};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A name beside `path` no other writer in this or another process is using.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    StoreFiles::of(path).temp(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A loaded snapshot.
pub struct Loaded {
    pub doc: Node,
    pub id: SnapshotId,
    /// The file's size in bytes.
    pub len: usize,
}

/// electron-store's `serialize` option: the document, as compact JSON text, to the
/// file's text. Runs on the committer (a pool thread) whenever a snapshot is written.
pub type Serializer = Arc<dyn Fn(String) -> std::result::Result<String, String> + Send + Sync>;

/// electron-store's `deserialize` option: the file's text to the document as JSON text.
/// Runs on the caller's thread, during open.
pub type Deserializer<'a> = &'a mut dyn FnMut(String) -> std::result::Result<String, String>;

/// From this size a snapshot is hashed beside its parse, not before it (a thread's start
/// costs tens of microseconds).
const PARALLEL_HASH_FROM: usize = 1 << 20;

/// Reads and parses the snapshot. `Ok(None)` when there is no file.
///
/// A UTF-8 byte order mark is skipped, as conf skips it. Anything that is not a JSON
/// object is `CORRUPT_FILE`; the error never quotes the file's content.
pub fn load(
    fs: &dyn Fs,
    path: &Path,
    deserialize: Option<Deserializer<'_>>,
    cipher: Option<&FileCipher>,
) -> Result<Option<Loaded>> {
    let bytes = match fs.read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", path, &e)),
    };
    let parsed = |bytes: &[u8]| match cipher {
        Some(cipher) => parse(path, &cipher.decrypt(path, bytes)?, deserialize),
        None => parse(path, bytes, deserialize),
    };
    // A large file is hashed on a thread of its own while it is parsed here (the parse
    // stays on this thread: `deserialize` is the app's JS): 3 ms of a 10 MiB open.
    let (doc, id) = if bytes.len() >= PARALLEL_HASH_FROM {
        std::thread::scope(|scope| {
            let hashing = scope.spawn(|| SnapshotId::of(&bytes));
            let doc = parsed(&bytes);
            let id = hashing.join().unwrap_or_else(|_| SnapshotId::of(&bytes));
            (doc, id)
        })
    } else {
        (parsed(&bytes), SnapshotId::of(&bytes))
    };
    Ok(Some(Loaded {
        doc: doc?,
        id,
        len: bytes.len(),
    }))
}

/// The snapshot's bytes as they are on disk; nothing at all when there is no file.
pub fn read_or_empty(fs: &dyn Fs, path: &Path) -> Result<Vec<u8>> {
    match fs.read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io("read", path, &e)),
    }
}

/// Parses a snapshot's bytes (as `load` reads them). Anything that is not a JSON object
/// is `CORRUPT_FILE`; the error never quotes the content.
pub fn parse(path: &Path, bytes: &[u8], deserialize: Option<Deserializer<'_>>) -> Result<Node> {
    let corrupt = |reason: String| StoreError::CorruptFile {
        file: path.to_path_buf(),
        reason,
    };
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(body)
        .map_err(|e| corrupt(format!("it is not UTF-8 (at byte {})", e.valid_up_to())))?;
    let decoded;
    let text = match deserialize {
        Some(deserialize) => {
            decoded = deserialize(text.to_string())
                .map_err(|e| corrupt(format!("`deserialize` failed: {e}")))?;
            decoded.as_str()
        }
        None => text,
    };
    if text.trim().is_empty() {
        return Err(corrupt("it is empty".into()));
    }
    let doc = Node::from_json(text).map_err(|e| {
        corrupt(format!(
            "it is not valid JSON ({:?} at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    if doc.as_object().is_none() {
        return Err(corrupt("its top level is not a JSON object".into()));
    }
    Ok(doc)
}

/// Replaces the file at `path` with `bytes`, atomically and durably: a temporary file in
/// the same directory, every byte written, fsync, rename over `path`, fsync of the
/// directory. Durable when it returns `Ok`. On any error the old file is untouched and
/// the temporary file is removed.
pub fn write_atomic(fs: &dyn Fs, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let temp = write_temp(fs, path, bytes, mode)?;
    if let Err(e) = fs.rename(&temp, path) {
        return Err(discard_temp(fs, &temp, StoreError::io("rename", path, &e)));
    }
    sync_dir_of(fs, path)
}

/// How often [`write_atomic_unless`] looks again when the file keeps appearing and
/// disappearing under it, before it answers [`Replacement::Refused`].
const SWAP_TURNS: usize = 8;

/// What [`write_atomic_unless`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Replacement {
    /// `path` holds the new bytes; what it replaced was the caller's.
    Done,
    /// Another program had changed the file: nothing was replaced.
    Refused,
    /// `path` holds the new bytes, but what they replaced was another program's edit that
    /// landed after the check: that file is kept, whole, at the returned path (beside
    /// `path`), for the caller to apply or move aside. Nothing was lost.
    Displaced(PathBuf),
}

/// Whether the file at `path` holds exactly the bytes `id` names: its length first, then
/// its hash, read in pieces so that a large file is never whole in memory beside the
/// snapshot replacing it.
fn holds(fs: &dyn Fs, path: &Path, id: SnapshotId) -> io::Result<bool> {
    if fs.len(path)? != id.len {
        return Ok(false);
    }
    let mut hasher = blake3::Hasher::new();
    let mut len = 0;
    fs.read_each(path, &mut |piece| {
        hasher.update(piece);
        len += piece.len() as u64;
    })?;
    Ok(SnapshotId {
        len,
        hash: *hasher.finalize().as_bytes(),
    } == id)
}

/// [`write_atomic`], replacing the file at `path` only while it holds the bytes `ours`
/// names, the ones the caller last read or wrote (a missing file counts as ours: there
/// is nothing to lose). The check before the swap refuses an edit already there; the swap
/// itself is an atomic exchange (onto a missing file, a rename that never replaces), so
/// an edit that lands between check and swap is not overwritten but handed back
/// ([`Replacement::Displaced`]) or looked at again. Where there is no exchange (Windows,
/// some network filesystems) a plain rename leaves that window open, microseconds wide.
pub fn write_atomic_unless(
    fs: &dyn Fs,
    path: &Path,
    bytes: &[u8],
    mode: u32,
    ours: SnapshotId,
) -> Result<Replacement> {
    let temp = write_temp(fs, path, bytes, mode)?;
    let refused = |temp: &Path| match fs.remove(temp) {
        Ok(()) => Ok(Replacement::Refused),
        Err(e) => Err(StoreError::io("remove", temp, &e)),
    };
    // Each turn checks, then swaps (or, onto nothing, renames without replacing); a turn
    // is taken again only when another program created or removed the file in between.
    let mut turns = 0;
    let outcome = loop {
        turns += 1;
        if turns > SWAP_TURNS {
            return refused(&temp); // the caller reads what is there and tries again
        }
        let there = match holds(fs, path, ours) {
            Ok(false) => return refused(&temp),
            Ok(true) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(discard_temp(fs, &temp, StoreError::io("read", path, &e))),
        };
        let swapped = if there {
            fs.exchange(&temp, path)
        } else {
            fs.rename_new(&temp, path)
        };
        match swapped {
            Ok(()) if !there => break Replacement::Done,
            Ok(()) => match holds(fs, &temp, ours) {
                Ok(true) => match fs.remove(&temp) {
                    Ok(()) => break Replacement::Done,
                    // The new bytes are in place; only a stale copy of the old ones is
                    // left, which the next open removes.
                    Err(e) => return Err(StoreError::io("remove", &temp, &e)),
                },
                Ok(_) => break Replacement::Displaced(temp),
                Err(e) => return Err(StoreError::io("read", &temp, &e)),
            },
            // Removed (exchange) or created (rename_new) meanwhile: look again.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::AlreadyExists
                ) =>
            {
                continue
            }
            // No such operation here: a plain rename, the best this platform allows.
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                if let Err(e) = fs.rename(&temp, path) {
                    return Err(discard_temp(fs, &temp, StoreError::io("rename", path, &e)));
                }
                break Replacement::Done;
            }
            Err(e) => return Err(discard_temp(fs, &temp, StoreError::io("rename", path, &e))),
        }
    };
    sync_dir_of(fs, path)?;
    Ok(outcome)
}

/// A new temporary file beside `path` holding `bytes`, fsynced. On error, nothing is left.
fn write_temp(fs: &dyn Fs, path: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf> {
    let temp = temp_path(path);
    let written = (|| {
        let mut file = fs
            .create(&temp, mode)
            .map_err(|e| StoreError::io("create", &temp, &e))?;
        file.write_all(bytes)
            .map_err(|e| StoreError::io("write", &temp, &e))?;
        file.sync().map_err(|e| StoreError::io("fsync", &temp, &e))
    })();
    match written {
        Ok(()) => Ok(temp),
        Err(err) => Err(discard_temp(fs, &temp, err)),
    }
}

/// Removes the temporary file after `err`; says so in the error when that fails too (the
/// next open cleans it up).
fn discard_temp(fs: &dyn Fs, temp: &Path, err: StoreError) -> StoreError {
    match fs.remove(temp) {
        Ok(()) => err,
        Err(e) if e.kind() == io::ErrorKind::NotFound => err,
        Err(e) => match err {
            StoreError::Io {
                op,
                file,
                message,
                errno,
            } => StoreError::Io {
                op,
                file,
                message: format!("{message}; removing the temporary file also failed: {e}"),
                errno,
            },
            other => other,
        },
    }
}

fn sync_dir_of(fs: &dyn Fs, path: &Path) -> Result<()> {
    let dir = StoreFiles::of(path).dir();
    fs.sync_dir(&dir)
        .map_err(|e| StoreError::io("fsync directory", &dir, &e))
}

/// Writes `doc` as the snapshot: electron-store's tab-indented JSON, or what
/// `serialize` makes of it. Returns the id of the bytes written.
pub fn write(
    fs: &dyn Fs,
    path: &Path,
    doc: &Node,
    mode: u32,
    serialize: Option<&Serializer>,
) -> Result<SnapshotId> {
    let bytes = encode(path, doc, serialize, None)?;
    write_atomic(fs, path, &bytes, mode)?;
    Ok(SnapshotId::of(&bytes))
}

/// The bytes a snapshot of `doc` holds.
///
/// With a `cipher` (electron-store's `encryptionKey`), the whole file is encrypted.
pub fn encode(
    path: &Path,
    doc: &Node,
    serialize: Option<&Serializer>,
    cipher: Option<&FileCipher>,
) -> Result<Vec<u8>> {
    encode_sized(path, doc, serialize, cipher, 0)
}

/// [`encode`] for a snapshot likely to be about `likely_len` bytes (the last one's):
/// its text is written into a buffer of that size and a little more, never grown by
/// copying (see [`Node::to_pretty_json_sized`]).
pub fn encode_sized(
    path: &Path,
    doc: &Node,
    serialize: Option<&Serializer>,
    cipher: Option<&FileCipher>,
    likely_len: u64,
) -> Result<Vec<u8>> {
    let likely_len = likely_len as usize;
    let bytes = match serialize {
        None => doc.to_pretty_json_sized(4096 + likely_len + likely_len / 8),
        Some(serialize) => serialize(doc.to_json())
            .map_err(|reason| StoreError::Serialize {
                file: path.to_path_buf(),
                reason,
            })?
            .into_bytes(),
    };
    match cipher {
        Some(cipher) => cipher.encrypt(&bytes),
        None => Ok(bytes),
    }
}

/// Moves a bad file aside as `<name>.<why>-<timestamp>`, never deleting it. Returns the
/// new path.
pub fn quarantine(fs: &dyn Fs, path: &Path, why: Aside) -> Result<PathBuf> {
    quarantine_as(fs, path, path, why)
}

/// Moves the file at `from` aside under a name derived from `store` (`<store>.<why>-…`).
pub fn quarantine_as(fs: &dyn Fs, from: &Path, store: &Path, why: Aside) -> Result<PathBuf> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let files = StoreFiles::of(store);
    let mut attempt = 0;
    let mut aside = files.aside(why, millis, attempt);
    while fs.read(&aside).is_ok() {
        attempt += 1;
        aside = files.aside(why, millis, attempt);
    }
    fs.rename(from, &aside)
        .map_err(|e| StoreError::io("rename", from, &e))?;
    sync_dir_of(fs, store)?;
    Ok(aside)
}

/// Removes temporary files an interrupted write left beside `path`.
pub fn remove_stale_temps(fs: &dyn Fs, path: &Path) -> Result<usize> {
    let dir = StoreFiles::of(path).dir();
    let prefix = StoreFiles::of(path).temp_prefix();
    let names = match fs.list(&dir) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io("list", &dir, &e)),
    };
    let mut removed = 0;
    for name in names.iter().filter(|n| n.starts_with(&prefix)) {
        let stale = dir.join(name);
        match fs.remove(&stale) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove", &stale, &e)),
        }
    }
    Ok(removed)
}

/// A stored file's document: decrypted first when the store encrypts whole files.
pub fn parse_stored(cipher: Option<&FileCipher>, path: &Path, bytes: &[u8]) -> Result<Node> {
    match cipher {
        Some(cipher) => parse(path, &cipher.decrypt(path, bytes)?, None),
        None => parse(path, bytes, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fs::{CrashMode, Fault, Image, SimFs};

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn a_replacement_happens_only_over_the_file_it_was_made_from() {
        let path = p("/d/config.json");
        let ours = b"{\"v\":1}".to_vec();
        let id = SnapshotId::of(&ours);
        let only = |fs: &SimFs| fs.image().into_keys().collect::<Vec<_>>();
        // Ours: replaced, nothing left beside it.
        let fs = SimFs::from_image(&Image::from([(path.clone(), ours.clone())]));
        let done = write_atomic_unless(&fs, &path, b"{\"v\":2}", 0o600, id).unwrap();
        assert_eq!(done, Replacement::Done);
        assert_eq!(fs.read(&path).unwrap(), b"{\"v\":2}");
        assert_eq!(only(&fs), vec![path.clone()]);
        // Another program's edit of the same length (the hash tells it apart) or of
        // another length (the length does): refused, the edit kept, nothing left.
        for edit in [b"{\"v\":9}".to_vec(), b"{\"v\":10}".to_vec()] {
            let fs = SimFs::from_image(&Image::from([(path.clone(), edit.clone())]));
            let refused = write_atomic_unless(&fs, &path, b"{\"v\":2}", 0o600, id).unwrap();
            assert_eq!(refused, Replacement::Refused);
            assert_eq!(fs.read(&path).unwrap(), edit);
            assert_eq!(only(&fs), vec![path.clone()]);
        }
        // No file: nothing to lose.
        let fs = SimFs::new();
        let done = write_atomic_unless(&fs, &path, b"{}", 0o600, id).unwrap();
        assert_eq!(done, Replacement::Done);
        assert_eq!(fs.read(&path).unwrap(), b"{}");
    }

    #[test]
    fn every_crash_point_of_a_write_leaves_old_or_new() {
        let path = p("/d/config.json");
        let fs = SimFs::from_image(&Image::from([(path.clone(), b"{\"v\":1}".to_vec())]));
        write_atomic(&fs, &path, b"{\"v\":2}", 0o600).unwrap();
        for point in 0..=fs.op_count() {
            for mode in [
                CrashMode::DurableOnly,
                CrashMode::Everything,
                CrashMode::DataNotNames,
                CrashMode::NamesNotData,
            ] {
                let image = fs.crash_image(point, mode);
                let content = image.get(&path).map(|b| b.as_slice());
                assert!(
                    content == Some(b"{\"v\":1}") || content == Some(b"{\"v\":2}"),
                    "point {point} {mode:?}: {content:?}"
                );
            }
        }
        let done = fs.crash_image(fs.op_count(), CrashMode::DurableOnly);
        assert_eq!(done[&path], b"{\"v\":2}", "durable once it returned");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_no_temp() {
        let path = p("/d/config.json");
        for at in 0..4 {
            let fs = SimFs::from_image(&Image::from([(path.clone(), b"{\"v\":1}".to_vec())]));
            fs.set_fault(Some(Fault {
                at,
                errno: libc::ENOSPC,
                sticky: false,
            }));
            let err = write_atomic(&fs, &path, b"{\"v\":2}", 0o600).unwrap_err();
            assert_eq!(err.code(), "DISK_FULL", "fault at {at}");
            let image = fs.image();
            assert_eq!(image[&path], b"{\"v\":1}");
            assert_eq!(image.len(), 1, "no temp file left: {:?}", image.keys());
        }
    }

    #[test]
    fn load_refuses_what_is_not_an_object() {
        let path = p("/d/config.json");
        for bad in [
            &b""[..],
            b"   ",
            b"{\"a\":",
            b"[1,2]",
            b"null",
            b"\xff\xfe",
            b"{} trailing",
        ] {
            let fs = SimFs::from_image(&Image::from([(path.clone(), bad.to_vec())]));
            let err = load(&fs, &path, None, None).err().expect("refused");
            assert_eq!(err.code(), "CORRUPT_FILE", "{bad:?}");
        }
        let fs = SimFs::from_image(&Image::from([(
            path.clone(),
            b"\xEF\xBB\xBF{\"a\":1}".to_vec(),
        )]));
        assert_eq!(
            load(&fs, &path, None, None).unwrap().unwrap().doc.to_json(),
            r#"{"a":1}"#
        );
        assert!(load(&SimFs::new(), &path, None, None).unwrap().is_none());
    }

    #[test]
    fn corrupt_messages_do_not_quote_the_file() {
        let path = p("/d/config.json");
        let fs = SimFs::from_image(&Image::from([(
            path.clone(),
            b"{\"apiKey\": sk-SECRET}".to_vec(),
        )]));
        let err = load(&fs, &path, None, None).err().unwrap();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }

    #[test]
    fn quarantine_moves_and_never_deletes() {
        let path = p("/d/config.json");
        let fs = SimFs::from_image(&Image::from([(path.clone(), b"garbage".to_vec())]));
        let aside = quarantine(&fs, &path, Aside::Corrupt).unwrap();
        assert!(aside
            .to_string_lossy()
            .starts_with("/d/config.json.corrupt-"));
        let image = fs.image();
        assert_eq!(image[&aside], b"garbage");
        assert!(!image.contains_key(&path));
    }
}

#[cfg(test)]
mod codec_tests {
    use super::*;
    use crate::sim_fs::{Image, SimFs};

    #[test]
    fn custom_serialize_and_deserialize_round_trip() {
        let path = PathBuf::from("/d/config.yaml");
        let fs = SimFs::new();
        let doc = Node::from_json(r#"{"a":1}"#).unwrap();
        let serialize: Serializer = Arc::new(|json| Ok(format!("JSON:{json}")));
        write(&fs, &path, &doc, 0o600, Some(&serialize)).unwrap();
        assert_eq!(fs.image()[&path], b"JSON:{\"a\":1}");
        let mut deserialize = |text: String| Ok(text.trim_start_matches("JSON:").to_string());
        let loaded = load(&fs, &path, Some(&mut deserialize), None)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.doc, doc);
    }

    #[test]
    fn codec_failures_are_typed_and_keep_the_file() {
        let path = PathBuf::from("/d/config.json");
        let fs = SimFs::from_image(&Image::from([(path.clone(), b"{}".to_vec())]));
        let failing: Serializer = Arc::new(|_| Err("boom".into()));
        let err = write(&fs, &path, &Node::empty_object(), 0o600, Some(&failing)).unwrap_err();
        assert_eq!(err.code(), "SERIALIZE_FAILED");
        assert_eq!(fs.image()[&path], b"{}");
        let mut refusing = |_: String| Err("not mine".to_string());
        let err = load(&fs, &path, Some(&mut refusing), None).err().unwrap();
        assert_eq!(err.code(), "CORRUPT_FILE");
        assert!(err.to_string().contains("not mine"));
    }
}
