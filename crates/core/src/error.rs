//! Errors of the engine, each with a stable `code` and a `kind` that JS sees unchanged.
//!
//! The code is the contract: messages may improve, codes never change meaning.

use super::os_error::{self, OsFailure};
use std::io;
use std::path::PathBuf;

/// How an error should be handled by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Retrying may succeed (an interrupted or busy system call).
    Transient,
    /// Retrying the same request will fail the same way until something outside changes
    /// (bad input, disk full, permissions).
    Persistent,
    /// The store cannot go on safely (a corrupt file, a lost fsync).
    Critical,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Persistent => "persistent",
            ErrorKind::Critical => "critical",
        }
    }
}

/// Every failure the engine reports. Variants carry the key or file involved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("Invalid key `{key}`: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("Invalid value for `{key}`: {reason}")]
    InvalidValue { key: String, reason: String },
    #[error("Cannot write `{key}`: {reason}")]
    TypeConflict { key: String, reason: String },
    #[error("The store file `{}` is corrupt: {reason}", file.display())]
    CorruptFile { file: PathBuf, reason: String },
    #[error("{op} `{}` failed: {message}", file.display())]
    Io {
        op: &'static str,
        file: PathBuf,
        message: String,
        /// The OS error number, when there is one; decides the kind.
        errno: Option<i32>,
    },
    #[error("Config schema violation: {}", super::violation::describe(violations))]
    SchemaViolation {
        violations: Vec<super::violation::Violation>,
        /// The file that holds the violating data, when the violation was found on open.
        file: Option<PathBuf>,
    },
    #[error("Invalid `{option}` option: {reason}")]
    InvalidOption { option: String, reason: String },
    #[error("`serialize` failed for `{}`: {reason}", file.display())]
    Serialize { file: PathBuf, reason: String },
    #[error("No history entry was recorded at `{timestamp}`")]
    HistoryNotFound { timestamp: String },
    #[error("The history entry `{}` cannot be used: {reason}", file.display())]
    HistoryCorrupt { file: PathBuf, reason: String },
    #[error("The store `{}` is open for writing in another {}: open it with `readOnly: true` to read it", file.display(), match pid { Some(pid) if *pid == std::process::id() => "store in this process".to_string(), Some(pid) => format!("process (pid {pid})"), None => "process".to_string() })]
    Locked { file: PathBuf, pid: Option<u32> },
    #[error("An edit another program made to `{}` was not taken: {reason}", file.display())]
    ExternalEditRefused { file: PathBuf, reason: String },
    /// Encryption of sensitive keys; `code` is one of SECRET_TAMPERED, DECRYPT_FAILED,
    /// KEY_NOT_FOUND, SECRET_NOT_ENCRYPTED, ENCRYPT_FAILED, KEY_GENERATION_FAILED.
    #[error("The secret at `{key}` cannot be used: {reason}")]
    Crypto {
        code: &'static str,
        key: String,
        reason: String,
    },
    /// The data key of sensitive keys cannot be had: `code` is KEYRING_UNAVAILABLE (no
    /// keyring to keep it in, or it refused) or KEY_NOT_FOUND (what is kept is unusable).
    #[error("The key for the store's sensitive values is not available: {reason}")]
    KeyUnavailable { code: &'static str, reason: String },
    /// electron-store's whole-file encryption: the file does not decrypt with the
    /// `encryptionKey` given (a wrong key, or damage the cipher cannot tell from it).
    #[error("`{}` does not decrypt with this `encryptionKey` (a wrong key, or a damaged file)", file.display())]
    FileDecrypt { file: PathBuf },
    #[error("The store `{}` was opened read-only", file.display())]
    ReadOnly { file: PathBuf },
    #[error("The store `{}` is closed", file.display())]
    Closed { file: PathBuf },
    /// The store's directory was removed while the store was open: nothing is written
    /// (creating it again would bring back what was deleted on purpose).
    #[error("The directory `{}` of the store was removed while it was open; nothing was written, and it is not created again", dir.display())]
    DirectoryRemoved { dir: PathBuf },
    /// A path the store reads is a directory, FIFO, socket or device: refused before it
    /// is opened, since reading one could block forever or never end.
    #[error("`{}` cannot be used as a store file: it is {what}, not a regular file", file.display())]
    NotAFile { file: PathBuf, what: &'static str },
    /// What other devices' changes merged into at `keys` fails the schema: this device
    /// keeps its last valid state there, and goes on syncing; a later change that makes
    /// the merge valid resolves it.
    #[error("Changes from other devices conflict at {}: merged, they fail the schema ({}); this device keeps its last valid state there", keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "), super::violation::describe(violations))]
    SyncConflict {
        keys: Vec<String>,
        violations: Vec<super::violation::Violation>,
    },
}

impl StoreError {
    /// The stable string JS sees as `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidKey { .. } => "INVALID_KEY",
            StoreError::InvalidValue { .. } => "INVALID_VALUE",
            StoreError::TypeConflict { .. } => "TYPE_CONFLICT",
            StoreError::CorruptFile { .. } => "CORRUPT_FILE",
            StoreError::Io { errno, .. } => match errno.map(os_error::classify) {
                Some(OsFailure::DiskFull) => "DISK_FULL",
                Some(OsFailure::PermissionDenied) => "PERMISSION_DENIED",
                // A file held by another program past the retries: on Unix EBUSY is
                // rare and says nothing of permissions; on Windows it is a sharing
                // violation, which users know as "access denied".
                Some(OsFailure::Busy) if cfg!(windows) => "PERMISSION_DENIED",
                _ => "IO",
            },
            StoreError::Serialize { .. } => "SERIALIZE_FAILED",
            StoreError::SchemaViolation { .. } => "SCHEMA_VIOLATION",
            StoreError::InvalidOption { .. } => "INVALID_OPTION",
            StoreError::HistoryNotFound { .. } => "HISTORY_NOT_FOUND",
            StoreError::HistoryCorrupt { .. } => "HISTORY_CORRUPT",
            StoreError::Locked { .. } => "LOCKED",
            StoreError::ReadOnly { .. } => "READ_ONLY",
            StoreError::Crypto { code, .. } | StoreError::KeyUnavailable { code, .. } => code,
            StoreError::ExternalEditRefused { .. } => "EXTERNAL_EDIT_REFUSED",
            StoreError::Closed { .. } => "CLOSED",
            StoreError::FileDecrypt { .. } => "DECRYPT_FAILED",
            StoreError::NotAFile { .. } => "NOT_A_FILE",
            StoreError::DirectoryRemoved { .. } => "DIRECTORY_REMOVED",
            StoreError::SyncConflict { .. } => "SYNC_CONFLICT",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::InvalidKey { .. }
            | StoreError::InvalidValue { .. }
            | StoreError::TypeConflict { .. }
            | StoreError::Serialize { .. }
            | StoreError::SchemaViolation { .. }
            | StoreError::InvalidOption { .. }
            | StoreError::HistoryNotFound { .. }
            | StoreError::ReadOnly { .. }
            | StoreError::ExternalEditRefused { .. }
            | StoreError::NotAFile { .. }
            | StoreError::DirectoryRemoved { .. }
            | StoreError::SyncConflict { .. }
            | StoreError::Closed { .. } => ErrorKind::Persistent,
            // No key at hand: the value is intact, just out of reach.
            StoreError::Crypto {
                code: "KEYRING_UNAVAILABLE" | "KEY_NOT_FOUND",
                ..
            } => ErrorKind::Persistent,
            // Damage or a key mismatch: the value cannot be trusted as it is.
            StoreError::Crypto { .. } | StoreError::FileDecrypt { .. } => ErrorKind::Critical,
            StoreError::KeyUnavailable { .. } => ErrorKind::Persistent,
            // The holder may close: trying again later can work.
            StoreError::Locked { .. } => ErrorKind::Transient,
            StoreError::HistoryCorrupt { .. } => ErrorKind::Critical,
            StoreError::CorruptFile { .. } => ErrorKind::Critical,
            StoreError::Io { errno, .. } => match errno.map(os_error::classify) {
                Some(OsFailure::Busy) => ErrorKind::Transient,
                _ => ErrorKind::Persistent,
            },
        }
    }

    /// The key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            StoreError::InvalidKey { key, .. }
            | StoreError::InvalidValue { key, .. }
            | StoreError::TypeConflict { key, .. }
            | StoreError::Crypto { key, .. } => Some(key),
            StoreError::SchemaViolation { violations, .. } => {
                violations.first().map(|v| v.key.as_str())
            }
            StoreError::SyncConflict { keys, .. } => keys.first().map(String::as_str),
            _ => None,
        }
    }

    /// The file the error is about, if it is about one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            StoreError::CorruptFile { file, .. }
            | StoreError::Io { file, .. }
            | StoreError::Serialize { file, .. }
            | StoreError::HistoryCorrupt { file, .. }
            | StoreError::Locked { file, .. }
            | StoreError::ReadOnly { file }
            | StoreError::FileDecrypt { file }
            | StoreError::ExternalEditRefused { file, .. }
            | StoreError::NotAFile { file, .. }
            | StoreError::DirectoryRemoved { dir: file }
            | StoreError::Closed { file } => Some(file),
            StoreError::SchemaViolation { file, .. } => file.as_deref(),
            _ => None,
        }
    }

    /// The error as JS sees it: `message`, `code`, `kind`, and where there is one `key`,
    /// `file`, and for `SCHEMA_VIOLATION` `errors` (one `{ key, instancePath, keyword,
    /// message }` per violation). A binding copies these onto an `Error`.
    pub fn properties(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::{json, Value};
        let mut properties = serde_json::Map::new();
        properties.insert("message".into(), Value::from(self.to_string()));
        properties.insert("code".into(), Value::from(self.code()));
        properties.insert("kind".into(), Value::from(self.kind().as_str()));
        if let Some(key) = self.key() {
            properties.insert("key".into(), Value::from(key));
        }
        if let Some(file) = self.file() {
            properties.insert("file".into(), Value::from(file.to_string_lossy()));
        }
        if let StoreError::SyncConflict { keys, .. } = self {
            properties.insert("keys".into(), json!(keys));
        }
        if let StoreError::SchemaViolation { violations, .. }
        | StoreError::SyncConflict { violations, .. } = self
        {
            let errors = violations
                .iter()
                .map(|v| json!({ "key": v.key, "instancePath": v.instance_path, "keyword": v.keyword, "message": v.message }))
                .collect();
            properties.insert("errors".into(), Value::Array(errors));
        }
        properties
    }

    pub fn io(op: &'static str, file: impl Into<PathBuf>, err: &io::Error) -> StoreError {
        if let Some(not_a_file) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<super::fs::NotARegularFile>())
        {
            return StoreError::NotAFile {
                file: file.into(),
                what: not_a_file.0,
            };
        }
        StoreError::Io {
            op,
            file: file.into(),
            message: err.to_string(),
            errno: err.raw_os_error(),
        }
    }

    pub(crate) fn invalid_key(key: &str, reason: impl Into<String>) -> StoreError {
        StoreError::InvalidKey {
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    pub fn invalid_value(key: &str, reason: impl Into<String>) -> StoreError {
        StoreError::InvalidValue {
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_persistent_with_its_own_code() {
        let err = StoreError::io(
            "write",
            "/x/config.json",
            &io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert_eq!(err.code(), "DISK_FULL");
        assert_eq!(err.kind(), ErrorKind::Persistent);
        assert_eq!(err.file().unwrap(), std::path::Path::new("/x/config.json"));
    }

    #[test]
    fn interrupted_io_is_transient() {
        let err = StoreError::io("fsync", "/x", &io::Error::from_raw_os_error(libc::EINTR));
        assert_eq!(err.code(), "IO");
        assert_eq!(err.kind(), ErrorKind::Transient);
    }

    #[test]
    fn key_errors_name_the_key() {
        let err = StoreError::invalid_key("a.__proto__", "forbidden segment");
        assert_eq!(err.code(), "INVALID_KEY");
        assert_eq!(err.key(), Some("a.__proto__"));
        assert!(err.to_string().contains("a.__proto__"));
    }

    #[test]
    fn properties_carry_what_js_reads_and_nothing_absent() {
        let err = StoreError::invalid_key("a.__proto__", "forbidden segment");
        let p = err.properties();
        assert_eq!(p["code"], "INVALID_KEY");
        assert_eq!(p["kind"], "persistent");
        assert_eq!(p["key"], "a.__proto__");
        assert_eq!(p["message"], err.to_string().as_str());
        assert!(!p.contains_key("file") && !p.contains_key("errors"));

        let err = StoreError::SchemaViolation {
            violations: vec![crate::violation::Violation {
                key: "a.b".into(),
                name: "b".into(),
                instance_path: "/a/b".into(),
                keyword: "type".into(),
                message: "must be number".into(),
            }],
            file: Some("/x/config.json".into()),
        };
        let p = err.properties();
        assert_eq!(p["file"], "/x/config.json");
        assert_eq!(p["key"], "a.b");
        assert_eq!(
            p["errors"],
            serde_json::json!([{ "key": "a.b", "instancePath": "/a/b", "keyword": "type", "message": "must be number" }])
        );
    }
}
