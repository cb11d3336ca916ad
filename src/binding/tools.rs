//! Functions that need no open store.

use super::errors::throw;
use crate::engine::secrets::Pattern;
use crate::engine::store_files::StoreFiles;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// The default directory for a project's stores (see `engine::default_config_dir`).
#[napi]
pub fn default_config_dir(project_name: String) -> Result<String> {
    crate::engine::default_config_dir(&project_name)
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::new(
                Status::GenericFailure,
                "no home directory to find the OS config directory in",
            )
        })
}

/// A key pattern of the renderer policy (`a.b`, `a.*.c`, `*`) as segments, `null` for
/// `*`, a trailing `*` dropped. Parsed by the engine's own grammar (the one
/// `sensitiveKeys` uses), so the bridge and the engine agree on what a pattern is; a
/// pattern that could never match a key throws `INVALID_OPTION` naming `option`.
#[napi]
pub fn compile_key_pattern(env: Env, text: String, option: String) -> Result<Vec<Option<String>>> {
    let pattern = Pattern::parse_option(&text, &option).map_err(|e| throw(&env, &e))?;
    Ok(pattern.covering_segments().unwrap_or_default())
}

/// Every file and directory the store at `path` uses (see the core's `StoreFiles`), so
/// the CLI and the JS shim never derive a name themselves.
#[napi(object)]
pub struct NativeStoreFiles {
    pub dir: String,
    pub journal: String,
    pub lock: String,
    pub history: String,
    pub backups: String,
    pub key_file: String,
    pub audit_log: String,
}

#[napi]
pub fn store_files(path: String) -> NativeStoreFiles {
    let files = StoreFiles::of(std::path::Path::new(&path));
    let text = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    NativeStoreFiles {
        dir: text(files.dir()),
        journal: text(files.journal()),
        lock: text(files.lock()),
        history: text(files.history()),
        backups: text(files.backups()),
        key_file: text(files.key_file()),
        audit_log: text(files.audit_log()),
    }
}

/// Writes `bytes` to `path` atomically and durably, as the engine writes its snapshot:
/// a temporary file beside it, fsynced, renamed over `path` (retried on Windows while
/// another program holds it), and the directory fsynced. For the JS side's own files
/// (key files, the CLI's exports).
#[napi]
pub fn write_file_atomic(env: Env, path: String, bytes: Buffer, mode: Option<u32>) -> Result<()> {
    let fs = crate::engine::fs::platform();
    crate::engine::snapshot::write_atomic(
        &*fs,
        std::path::Path::new(&path),
        &bytes,
        mode.unwrap_or(0o600),
    )
    .map_err(|e| throw(&env, &e))
}
