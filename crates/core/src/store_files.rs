//! Every file and directory one store uses, named in one place.
//!
//! For a store file `<dir>/config.json`:
//!
//! | path | what |
//! | --- | --- |
//! | `<dir>/config.json` | the snapshot ([`crate::snapshot`]) |
//! | `<dir>/config.json.journal` | changes since the snapshot ([`crate::journal`]) |
//! | `<dir>/config.json.lock` | the writer's lock ([`crate::lock`]) |
//! | `<dir>/.config.json.tmp-<pid>-<n>` | a snapshot being written; stale ones are removed at open |
//! | `<dir>/config.json.<why>-<millis>[-<n>]` | a file moved aside ([`Aside`]): `corrupt`, `invalid` |
//! | `<dir>/storeHistory/` | reverse diffs and `base.json` ([`crate::history`]) |
//! | `<dir>/backups/` | migration backups |
//! | `<dir>/config.key` | the opt-in key file ([`crate::keys`]) |
//! | `<dir>/audit.log` | the renderer bridge's audit log (JS, `js/audit.js`), one per directory |
//! | `<dir>/config.json.sync/` | with `sync`: this device's actor, the mirror's log, the sync status ([`crate::sync::local`]) |
//!
//! Several stores may share a directory (`name` differs): every name but the two
//! directories is derived from the store file's name, and those two hold files named
//! after it.
//!
//! The JS side (CLI, key files, `openInEditor`'s backups) asks for these through the
//! binding, so the names exist only here.

use std::path::{Path, PathBuf};

/// The paths of the store whose snapshot is at `snapshot`. Cheap: borrows the path and
/// derives each name when asked.
#[derive(Debug, Clone, Copy)]
pub struct StoreFiles<'a> {
    snapshot: &'a Path,
}

/// The history directory's name, beside the store file.
pub const HISTORY_DIR: &str = "storeHistory";
/// The migration backups' directory's name, beside the store file.
pub const BACKUPS_DIR: &str = "backups";

/// Why a file was moved aside; its tag is part of the new name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aside {
    /// It does not read (not JSON, truncated, does not decrypt).
    Corrupt,
    /// It reads but fails the schema.
    Invalid,
}

impl Aside {
    pub fn tag(self) -> &'static str {
        match self {
            Aside::Corrupt => "corrupt",
            Aside::Invalid => "invalid",
        }
    }
}

impl<'a> StoreFiles<'a> {
    pub fn of(snapshot: &'a Path) -> StoreFiles<'a> {
        StoreFiles { snapshot }
    }

    pub fn snapshot(&self) -> &'a Path {
        self.snapshot
    }

    /// The directory holding the store file (`.` for a bare file name).
    pub fn dir(&self) -> PathBuf {
        match self.snapshot.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The store file's name, e.g. `config.json`.
    pub fn file_name(&self) -> String {
        self.snapshot
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn beside(&self, suffix: &str) -> PathBuf {
        self.dir().join(format!("{}{suffix}", self.file_name()))
    }

    pub fn journal(&self) -> PathBuf {
        self.beside(".journal")
    }

    pub fn lock(&self) -> PathBuf {
        self.beside(".lock")
    }

    /// Where a snapshot's temporary files start their name, so a stale one can be found.
    pub fn temp_prefix(&self) -> String {
        format!(".{}.tmp-", self.file_name())
    }

    /// A temporary file of this process, numbered `n`.
    pub fn temp(&self, n: u64) -> PathBuf {
        let prefix = self.temp_prefix();
        self.dir()
            .join(format!("{prefix}{}-{n}", std::process::id()))
    }

    /// Where a bad file is moved aside: `<name>.<why>-<millis>`, then `-1`, `-2`, … for
    /// the `attempt`s after the first.
    pub fn aside(&self, why: Aside, millis: u128, attempt: u32) -> PathBuf {
        let tag = why.tag();
        match attempt {
            0 => self.beside(&format!(".{tag}-{millis}")),
            n => self.beside(&format!(".{tag}-{millis}-{n}")),
        }
    }

    pub fn history(&self) -> PathBuf {
        self.dir().join(HISTORY_DIR)
    }

    /// With `sync`: what the store keeps on this device for it.
    pub fn sync_dir(&self) -> PathBuf {
        self.beside(".sync")
    }

    /// The snapshot before the current one, kept by the history (see
    /// [`crate::history::proven_base`]).
    pub fn history_base(&self) -> PathBuf {
        self.history().join("base.json")
    }

    pub fn backups(&self) -> PathBuf {
        self.dir().join(BACKUPS_DIR)
    }

    /// The renderer bridge's audit log (written by the JS side), shared by the stores
    /// of one directory.
    pub fn audit_log(&self) -> PathBuf {
        self.dir().join("audit.log")
    }

    /// The opt-in key file: `config.json` → `config.key` beside it.
    pub fn key_file(&self) -> PathBuf {
        let stem = self
            .snapshot
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "config".into());
        self.dir().join(format!("{stem}.key"))
    }

    /// The paths the JS side uses, by name: `{ dir, journal, lock, history, backups,
    /// keyFile, auditLog }`, so the CLI and the shim never derive a name themselves.
    pub fn to_json(&self) -> serde_json::Value {
        let text = |p: PathBuf| serde_json::Value::from(p.to_string_lossy().into_owned());
        serde_json::json!({
            "dir": text(self.dir()),
            "journal": text(self.journal()),
            "lock": text(self.lock()),
            "history": text(self.history()),
            "backups": text(self.backups()),
            "keyFile": text(self.key_file()),
            "auditLog": text(self.audit_log()),
            "syncDir": text(self.sync_dir()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_derives_from_the_store_files_name() {
        let files = StoreFiles::of(Path::new("/home/u/.config/app/settings.json"));
        let dir = Path::new("/home/u/.config/app");
        assert_eq!(files.dir(), dir);
        assert_eq!(files.journal(), dir.join("settings.json.journal"));
        assert_eq!(files.lock(), dir.join("settings.json.lock"));
        assert_eq!(files.temp_prefix(), ".settings.json.tmp-");
        let temp = files.temp(7);
        assert_eq!(temp.parent(), Some(dir));
        assert!(temp
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".settings.json.tmp-"));
        assert_eq!(
            files.aside(Aside::Corrupt, 5, 0),
            dir.join("settings.json.corrupt-5")
        );
        assert_eq!(
            files.aside(Aside::Invalid, 5, 2),
            dir.join("settings.json.invalid-5-2")
        );
        assert_eq!(files.history(), dir.join("storeHistory"));
        assert_eq!(files.history_base(), dir.join("storeHistory/base.json"));
        assert_eq!(files.backups(), dir.join("backups"));
        assert_eq!(files.key_file(), dir.join("settings.key"));
        let named = files.to_json();
        assert_eq!(named["keyFile"], "/home/u/.config/app/settings.key");
        assert_eq!(named["auditLog"], files.audit_log().to_str().unwrap());
        assert_eq!(named["syncDir"], "/home/u/.config/app/settings.json.sync");
        assert_eq!(named.as_object().unwrap().len(), 8);
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        let files = StoreFiles::of(Path::new("config.json"));
        assert_eq!(files.dir(), Path::new("."));
        assert_eq!(files.journal(), Path::new("./config.json.journal"));
    }
}
