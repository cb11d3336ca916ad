//! The options: the JS shim sends them as one JSON object, read and given meaning by the
//! core (`StoreSettings`); only key bytes cross as buffers.

use crate::engine::error::Result as EngineResult;
use crate::engine::options::{StoreSettings, SuppliedKeys};
use crate::engine::EngineOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Key bytes the app supplies, kept out of the options' JSON.
#[napi(object)]
pub struct NativeKeys {
    /// Data keys (32 bytes each; the first seals). Absent: the store keeps its own.
    pub secret_keys: Option<Vec<Buffer>>,
    /// electron-store's `encryptionKey` (whole-file encryption).
    pub encryption_key: Option<Buffer>,
}

/// The engine's options, from the shim's JSON and keys.
pub(super) fn engine_options(json: &str, keys: NativeKeys) -> EngineResult<EngineOptions> {
    let supplied = SuppliedKeys {
        secret_keys: keys
            .secret_keys
            .map(|keys| keys.iter().map(|b| b.to_vec()).collect()),
        encryption_key: keys.encryption_key.map(|b| b.to_vec()),
    };
    StoreSettings::from_json(json)?.engine_options(crate::engine::fs::platform(), supplied)
}
