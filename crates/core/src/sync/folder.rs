//! The folder a sync service replicates (Dropbox, iCloud Drive, OneDrive, Syncthing, a
//! network share): how devices exchange changes through it without a server, and
//! without trusting the service to copy files whole, once, in order, or under their name.
//!
//! Layout: `<folder>/<store>/<device>/<hash>.tadsync`. Each device writes only its own
//! directory; each file is immutable once written (temp + fsync + rename, the temp file
//! hidden by a leading dot), and named by the hash of what it carries. A file holds
//! `TADSYNC1`, the BLAKE3 hash of its payload, the payload's length, and the payload (a
//! run of Automerge changes). A reader takes any file, whatever its name, whose payload
//! matches the hash it carries: a partial copy does not (it is looked at again when it
//! grows), a duplicate or a "conflicted copy" does, and is merged at most once by hash
//! (Automerge would ignore the repeat anyway). Dot files (temp files, a service's own
//! bookkeeping) are never read. A device compacts its own directory by writing one file
//! with the whole document, then removing its older files; it never removes another's.

use crate::error::{Result, StoreError};
use crate::fs::Fs;
use crate::snapshot::write_atomic;
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The extension of a change file.
pub const EXTENSION: &str = "tadsync";
const MAGIC: &[u8; 8] = b"TADSYNC1";
/// Magic, hash, length.
const HEADER: usize = 8 + 32 + 8;

/// A change file's name and contents for `payload`.
pub fn envelope(payload: &[u8]) -> (String, Vec<u8>) {
    let hash = blake3::hash(payload);
    let mut bytes = Vec::with_capacity(HEADER + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(hash.as_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(payload);
    (format!("{}.{EXTENSION}", hash.to_hex()), bytes)
}

/// The payload of a change file and its hash, if the file is whole and unaltered.
pub fn open_envelope(bytes: &[u8]) -> Option<([u8; 32], &[u8])> {
    let (header, payload) = bytes.split_at_checked(HEADER)?;
    let (magic, rest) = header.split_at(8);
    let (hash, len) = rest.split_at(32);
    let len = u64::from_le_bytes(len.try_into().ok()?);
    let hash: [u8; 32] = hash.try_into().ok()?;
    (magic == MAGIC && len == payload.len() as u64 && *blake3::hash(payload).as_bytes() == hash)
        .then_some((hash, payload))
}

/// A device's directory name for `name` (a host name, say): letters, digits, `-`, `_`
/// and `.` kept, anything else `_`, never hidden, at most 64 bytes.
pub fn device_dir_name(name: &str) -> String {
    let mut dir: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .take(64)
        .collect();
    if dir.is_empty() || dir.starts_with('.') {
        dir.insert(0, '_');
    }
    dir
}

/// A payload read from the folder.
#[derive(Debug)]
pub struct Arrival {
    /// The directory it was found in (the device that wrote it, unless a service moved it).
    pub device: String,
    pub file: PathBuf,
    pub payload: Vec<u8>,
}

/// One store's directory in the sync folder, as one device sees it.
pub struct SyncFolder {
    fs: Arc<dyn Fs>,
    /// `<folder>/<store>`: a directory per device below it.
    root: PathBuf,
    /// This device's directory name: the only one it writes to or removes from.
    own: String,
    /// Files read, by path, with the length they had: one is read again only when its
    /// length changes (a partial copy that grew, a name reused).
    looked: HashMap<PathBuf, u64>,
    /// Hashes of payloads taken or written: a copy is not merged twice.
    taken: HashSet<[u8; 32]>,
    /// A file in this device's directory did not hold a whole change: a write the
    /// device did not finish (it was killed), or a service that copied a broken file
    /// over one of its own. Its changes may be nowhere else, so the device writes them
    /// again ([`SyncFolder::compact`]) when it sees this.
    own_damaged: bool,
    /// The device directories the last scan found.
    seen: Vec<String>,
}

impl SyncFolder {
    /// The store `store`'s directory in `folder`, for the device whose directory is
    /// `own` (see [`device_dir_name`]). Touches nothing on disk.
    pub fn new(fs: Arc<dyn Fs>, folder: &Path, store: &str, own: &str) -> SyncFolder {
        SyncFolder {
            fs,
            root: folder.join(device_dir_name(store)),
            own: own.to_string(),
            looked: HashMap::new(),
            taken: HashSet::new(),
            own_damaged: false,
            seen: Vec::new(),
        }
    }

    pub fn own_dir(&self) -> PathBuf {
        self.root.join(&self.own)
    }

    /// Writes `payload` as a change file in this device's directory. Durable when it
    /// returns `Ok`; the same payload twice is one file.
    pub fn write(&mut self, payload: &[u8]) -> Result<PathBuf> {
        let dir = self.own_dir();
        self.fs
            .create_dir_all(&dir)
            .map_err(|e| StoreError::io("create directory", &dir, &e))?;
        let (name, bytes) = envelope(payload);
        let path = dir.join(name);
        if !matches!(self.fs.len(&path), Ok(len) if len == bytes.len() as u64) {
            write_atomic(&*self.fs, &path, &bytes, 0o644)?;
        }
        self.taken.insert(*blake3::hash(payload).as_bytes());
        self.looked.insert(path.clone(), bytes.len() as u64);
        Ok(path)
    }

    /// The device directories, this one's among them once it has written.
    pub fn devices(&self) -> Vec<String> {
        let mut names = self.list(&self.root);
        names.retain(|name| self.fs.is_dir(&self.root.join(name)));
        names
    }

    /// The names in `dir`, dot files left out; none when it cannot be listed (the folder
    /// is offline, or not made yet: then there is nothing to read).
    fn list(&self, dir: &Path) -> Vec<String> {
        let mut names = self.fs.list(dir).unwrap_or_default();
        names.retain(|name| !name.starts_with('.'));
        names.sort();
        names
    }

    /// The payloads in the folder not taken yet, from every device's directory (this
    /// one's too: after a reinstall, its own past changes are there). A file that cannot
    /// be read now, or is not whole yet, is looked at again later.
    pub fn scan(&mut self) -> Vec<Arrival> {
        let mut arrivals = Vec::new();
        self.seen = self.devices();
        for device in self.seen.clone() {
            let dir = self.root.join(&device);
            for name in self.list(&dir) {
                let file = dir.join(&name);
                let Ok(len) = self.fs.len(&file) else {
                    continue;
                };
                if self.looked.get(&file) == Some(&len) {
                    continue;
                }
                let Ok(bytes) = self.fs.read(&file) else {
                    continue;
                };
                self.looked.insert(file.clone(), bytes.len() as u64);
                let Some((hash, payload)) = open_envelope(&bytes) else {
                    self.own_damaged |= device == self.own;
                    continue;
                };
                if self.taken.insert(hash) {
                    arrivals.push(Arrival {
                        device: device.clone(),
                        file,
                        payload: payload.to_vec(),
                    });
                }
            }
        }
        arrivals
    }

    /// The device directories the last [`SyncFolder::scan`] found (none before one).
    pub fn devices_seen(&self) -> &[String] {
        &self.seen
    }

    /// Whether a scan found a broken file in this device's directory since the last
    /// [`SyncFolder::compact`], which writes every change again and removes it.
    pub fn own_damaged(&self) -> bool {
        self.own_damaged
    }

    /// This device's change files.
    pub fn own_files(&self) -> Vec<PathBuf> {
        let dir = self.own_dir();
        let suffix = format!(".{EXTENSION}");
        self.list(&dir)
            .into_iter()
            .filter(|name| name.ends_with(&suffix))
            .map(|name| dir.join(name))
            .collect()
    }

    /// Replaces this device's files by one holding `whole` (the whole document, which
    /// holds every change the older files held): written durably first, the others
    /// removed after. Returns how many were removed.
    pub fn compact(&mut self, whole: &[u8]) -> Result<usize> {
        let kept = self.write(whole)?;
        self.own_damaged = false;
        let mut removed = 0;
        for file in self.own_files() {
            if file == kept {
                continue;
            }
            match self.fs.remove(&file) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", &file, &e)),
            }
            self.looked.remove(&file);
        }
        Ok(removed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tad-sync-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_envelope_opens_only_whole_and_unaltered() {
        let (name, bytes) = envelope(b"changes");
        assert_eq!(
            name,
            format!("{}.tadsync", blake3::hash(b"changes").to_hex())
        );
        assert_eq!(open_envelope(&bytes).map(|(_, p)| p), Some(&b"changes"[..]));
        for cut in 0..bytes.len() {
            assert!(open_envelope(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut altered = bytes.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(open_envelope(&altered).is_none());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(open_envelope(&longer).is_none());
    }

    #[test]
    fn device_directory_names_are_plain_and_never_hidden() {
        assert_eq!(device_dir_name("Anna's MacBook Pro"), "Anna_s_MacBook_Pro");
        assert_eq!(device_dir_name(".hidden"), "_.hidden");
        assert_eq!(device_dir_name(""), "_");
        assert_eq!(device_dir_name("../../etc"), "_.._.._etc");
        assert_eq!(device_dir_name(&"x".repeat(300)).len(), 64);
    }

    #[test]
    fn copies_partial_files_and_conflicted_copies_are_harmless() {
        let dir = temp_dir("folder");
        let fs = crate::fs::platform();
        let mut laptop = SyncFolder::new(fs.clone(), &dir, "config", "laptop");
        let mut desktop = SyncFolder::new(fs.clone(), &dir, "config", "desktop");
        let written = laptop.write(b"one").unwrap();
        assert_eq!(
            laptop.write(b"one").unwrap(),
            written,
            "one file per payload"
        );
        assert!(laptop.scan().is_empty(), "its own writes are taken already");
        let laptop_dir = laptop.own_dir();
        let bytes = std::fs::read(&written).unwrap();
        // What a sync service may leave: a conflicted copy, a partial copy of another
        // file, a temp file, a stray file.
        std::fs::copy(
            &written,
            laptop_dir.join("x (conflicted copy 2026-12-01).tadsync"),
        )
        .unwrap();
        let (name, two) = envelope(b"two");
        std::fs::write(laptop_dir.join(&name), &two[..two.len() - 3]).unwrap();
        std::fs::write(laptop_dir.join(".tmp-whole"), envelope(b"hidden").1).unwrap();
        std::fs::write(laptop_dir.join("notes.txt"), b"hello").unwrap();
        let got: Vec<Vec<u8>> = desktop.scan().into_iter().map(|a| a.payload).collect();
        assert_eq!(got, vec![b"one".to_vec()], "once, whole, never hidden");
        assert!(desktop.scan().is_empty(), "nothing new");
        // The partial copy completes.
        std::fs::write(laptop_dir.join(&name), &two).unwrap();
        let got: Vec<Vec<u8>> = desktop.scan().into_iter().map(|a| a.payload).collect();
        assert_eq!(got, vec![b"two".to_vec()]);
        assert_eq!(bytes, std::fs::read(&written).unwrap(), "never rewritten");
        // The laptop sees the broken file in its own directory: it must write again.
        std::fs::write(laptop_dir.join(format!("x{name}")), &two[..9]).unwrap();
        assert!(!laptop.own_damaged());
        laptop.scan();
        assert!(laptop.own_damaged());
        assert!(!desktop.own_damaged(), "not its own");
        // Compaction replaces the laptop's files, and only its own.
        desktop.write(b"desktop's").unwrap();
        let removed = laptop.compact(b"one+two").unwrap();
        assert_eq!(
            removed, 4,
            "its two change files, the conflicted copy, the broken one"
        );
        assert!(!laptop.own_damaged());
        let own: Vec<PathBuf> = laptop.own_files();
        assert_eq!(own.len(), 1);
        assert_eq!(
            desktop.own_files().len(),
            1,
            "another's files are never removed"
        );
        assert_eq!(
            laptop.devices(),
            vec!["desktop".to_string(), "laptop".to_string()]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_offline_folder_reads_as_empty() {
        let fs = crate::fs::platform();
        let mut folder = SyncFolder::new(fs, Path::new("/nonexistent/tad-sync"), "config", "me");
        assert!(folder.scan().is_empty());
        assert!(folder.devices().is_empty());
    }
}
