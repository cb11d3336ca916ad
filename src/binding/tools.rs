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

/// Every file and directory the store at `path` uses, by name (see the core's
/// `StoreFiles::to_json`).
#[napi(
    ts_return_type = "{ dir: string, journal: string, lock: string, history: string, backups: string, keyFile: string, auditLog: string, syncDir: string }"
)]
pub fn store_files(path: String) -> serde_json::Value {
    StoreFiles::of(std::path::Path::new(&path)).to_json()
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
