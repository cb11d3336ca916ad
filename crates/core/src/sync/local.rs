//! What a syncing store keeps on its own device, beside its file, in
//! `<dir>/<name>.sync/`:
//!
//! | file | what |
//! | --- | --- |
//! | `actor` | the store's Automerge actor on this device (hex), made once: a device that changed actor would look like a new one |
//! | `log` | every change the mirror holds, as change-file envelopes appended one after another; a torn tail (a crash mid-append) is dropped at open |
//! | `sent` | how far into the log everything is in the folder too (bytes, as text): what lies after it goes out at the next look, so a change logged just before a crash or a close still reaches the folder |
//! | `status.json` | the last sync status (see [`super::status`]), with the subtrees in conflict: read at open and by `tad-store sync status` |
//!
//! The log keeps the mirror across restarts, independent of the folder (which may be
//! offline, or emptied by a service). Its contract, kept by the engine: it never holds a
//! change whose effect on the store is not durable yet. So at open, whatever the store
//! holds that the mirror does not is a local change to record, never a remote one lost;
//! and a log that lost its tail in a crash loses nothing (it is appended without fsync).

use super::folder::{envelope, open_envelope};
use crate::error::{Result, StoreError};
use crate::fs::{Fs, FsFile};
use crate::snapshot::write_atomic;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The local sync directory of the store whose file is `store`.
pub fn dir_of(store: &Path) -> PathBuf {
    crate::store_files::StoreFiles::of(store).sync_dir()
}

/// A syncing store's files on this device.
pub struct LocalState {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    /// The actor, 16 random bytes.
    pub actor: Vec<u8>,
    /// Open for appending; `None` until the first append, and after a failure (the next
    /// append reopens it, after cutting what a failed write may have left).
    log: Option<Box<dyn FsFile>>,
    /// Bytes of whole envelopes in the log.
    log_len: u64,
    /// Envelopes in the log: past [`LocalState::wants_compaction`]'s bound, the engine
    /// rewrites it as one.
    pub log_entries: usize,
    /// Bytes of the log whose changes are in the folder too (see [`LocalState::sent`]).
    sent: u64,
}

/// What the log held at open.
pub struct Logged {
    /// Every payload, in order: the mirror as it was.
    pub payloads: Vec<Vec<u8>>,
    /// How many of the last of them may not be in the folder yet.
    pub unsent: usize,
}

impl LocalState {
    /// Opens (or makes) the directory and returns it with the payloads the log holds, in
    /// order. A log whose tail is torn is cut back to its whole envelopes.
    pub fn open(fs: Arc<dyn Fs>, store: &Path) -> Result<(LocalState, Logged)> {
        let dir = dir_of(store);
        fs.create_dir_all(&dir)
            .map_err(|e| StoreError::io("create directory", &dir, &e))?;
        let actor_path = dir.join("actor");
        let actor = match fs.read(&actor_path) {
            Ok(text) => parse_hex(&text).filter(|a| a.len() == 16),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(StoreError::io("read", &actor_path, &e)),
        };
        let actor = match actor {
            Some(actor) => actor,
            None => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes).map_err(|e| StoreError::InvalidOption {
                    option: "sync".into(),
                    reason: format!("no randomness for the device's actor: {e}"),
                })?;
                write_atomic(&*fs, &actor_path, hex(&bytes).as_bytes(), 0o600)?;
                bytes.to_vec()
            }
        };
        let log_path = dir.join("log");
        let bytes = match fs.read(&log_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::io("read", &log_path, &e)),
        };
        let (payloads, whole) = split_log(&bytes);
        // Missing or unreadable: everything may be unsent (sending twice is harmless).
        let sent = fs
            .read(&dir.join("sent"))
            .ok()
            .and_then(|t| std::str::from_utf8(&t).ok()?.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(whole as u64);
        let unsent = payloads.iter().rev().scan(whole as u64, |end, p| {
            *end -= (p.len() + 48) as u64;
            Some(*end)
        });
        let unsent = unsent.take_while(|start| *start >= sent).count();
        let mut state = LocalState {
            fs,
            dir,
            actor,
            log: None,
            log_len: whole as u64,
            log_entries: payloads.len(),
            sent,
        };
        if whole < bytes.len() {
            let mut file = state
                .fs
                .open_append(&log_path)
                .map_err(|e| StoreError::io("open", &log_path, &e))?;
            file.set_len(whole as u64)
                .and_then(|_| file.sync())
                .map_err(|e| StoreError::io("truncate", &log_path, &e))?;
            state.log = Some(file);
        }
        let payloads = payloads.into_iter().map(<[u8]>::to_vec).collect();
        Ok((state, Logged { payloads, unsent }))
    }

    /// Notes that everything logged so far is in the folder. Not fsynced: if the note is
    /// lost, the changes after the older one are sent again, which is harmless.
    pub fn sent(&mut self) {
        if self.sent == self.log_len {
            return;
        }
        let path = self.dir.join("sent");
        let written = self
            .fs
            .create(&path, 0o600)
            .and_then(|mut f| f.write_all(self.log_len.to_string().as_bytes()));
        if written.is_ok() {
            self.sent = self.log_len;
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn actor_hex(&self) -> String {
        hex(&self.actor)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Appends `payload` to the log, without an fsync: a log that loses its tail in a
    /// crash loses nothing the store does not hold durably (the changes it held are
    /// recorded again from the store at the next open, and the folder has them), so it
    /// costs a commit no second fsync.
    pub fn append(&mut self, payload: &[u8]) -> Result<()> {
        let path = self.log_path();
        let file = match self.log.as_mut() {
            Some(file) => file,
            None => {
                let mut file = match self.fs.len(&path) {
                    Ok(_) => self.fs.open_append(&path),
                    Err(_) => self.fs.create(&path, 0o600),
                }
                .map_err(|e| StoreError::io("open", &path, &e))?;
                file.set_len(self.log_len)
                    .map_err(|e| StoreError::io("truncate", &path, &e))?;
                self.log.insert(file)
            }
        };
        let (_, bytes) = envelope(payload);
        let written = file
            .write_all(&bytes)
            .map_err(|e| StoreError::io("write", &path, &e));
        if written.is_err() {
            self.log = None; // cut back and reopened by the next append
            return written;
        }
        self.log_len += bytes.len() as u64;
        self.log_entries += 1;
        Ok(())
    }

    /// Whether the log has grown past what one envelope of the whole mirror would be.
    pub fn wants_compaction(&self) -> bool {
        self.log_entries > 256
    }

    /// Replaces the log by one envelope holding `whole` (the saved mirror).
    pub fn compact(&mut self, whole: &[u8]) -> Result<()> {
        let (_, bytes) = envelope(whole);
        self.log = None;
        write_atomic(&*self.fs, &self.log_path(), &bytes, 0o600)?;
        self.log_len = bytes.len() as u64;
        self.log_entries = 1;
        // The compacted log is one envelope of everything: taken as sent only once the
        // folder has caught up (the engine compacts only with nothing waiting to go).
        self.sent = 0;
        self.sent();
        Ok(())
    }

    /// The last status written, if any (JSON).
    pub fn read_status(&self) -> Option<Vec<u8>> {
        self.fs.read(&self.dir.join("status.json")).ok()
    }

    pub fn write_status(&self, json: &[u8]) -> Result<()> {
        write_atomic(&*self.fs, &self.dir.join("status.json"), json, 0o600)
    }
}

/// The payloads of the whole envelopes at the start of `bytes`, and how many bytes they
/// take: a torn or damaged envelope ends the log.
fn split_log(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + 48) {
        let len = u64::from_le_bytes(header[40..48].try_into().expect("8 bytes"));
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| (at + 48).checked_add(len))
            .filter(|end| *end <= bytes.len())
        else {
            break;
        };
        let Some((_, payload)) = open_envelope(&bytes[at..end]) else {
            break;
        };
        out.push(payload);
        at = end;
    }
    (out, at)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?.trim();
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fs::SimFs;

    #[test]
    fn the_actor_is_made_once_and_the_log_keeps_whole_envelopes_only() {
        let fs: Arc<dyn Fs> = Arc::new(SimFs::new());
        let store = Path::new("/d/config.json");
        let (mut local, logged) = LocalState::open(fs.clone(), store).unwrap();
        assert!(logged.payloads.is_empty());
        let actor = local.actor.clone();
        local.append(b"one").unwrap();
        local.sent();
        local.append(b"two").unwrap();
        drop(local);
        let (local, logged) = LocalState::open(fs.clone(), store).unwrap();
        assert_eq!(local.actor, actor, "the same actor after a restart");
        assert_eq!(logged.payloads, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(logged.unsent, 1, "two was logged after the folder had one");
        // A crash mid-append: half an envelope at the end.
        let log = dir_of(store).join("log");
        let mut bytes = fs.read(&log).unwrap();
        let (_, third) = envelope(b"three");
        bytes.extend_from_slice(&third[..third.len() / 2]);
        write_atomic(&*fs, &log, &bytes, 0o600).unwrap();
        drop(local);
        let (mut local, logged) = LocalState::open(fs.clone(), store).unwrap();
        assert_eq!(logged.payloads.len(), 2, "the torn tail is dropped");
        local.append(b"four").unwrap();
        drop(local);
        let (mut local, logged) = LocalState::open(fs.clone(), store).unwrap();
        assert_eq!(
            logged.payloads,
            vec![b"one".to_vec(), b"two".to_vec(), b"four".to_vec()]
        );
        assert_eq!(logged.unsent, 2, "two and four");
        local.compact(b"all").unwrap();
        let (_, logged) = LocalState::open(fs, store).unwrap();
        assert_eq!(logged.payloads, vec![b"all".to_vec()]);
        assert_eq!(logged.unsent, 0);
    }
}
