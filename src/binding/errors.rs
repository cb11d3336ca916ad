//! Errors and promises: a [`StoreError`] becomes a JS `Error` carrying `code`, `kind`,
//! `key`, `file` and `errors`, thrown from a call or rejecting the promise of background
//! work.

use crate::engine::error::{Result as EngineResult, StoreError};
use napi::bindgen_prelude::*;
use napi::JsDeferred;
use napi_derive::napi;

/// One schema violation, as `err.errors[i]`.
#[napi(object)]
#[derive(Clone)]
pub struct ViolationInfo {
    pub key: String,
    pub instance_path: String,
    pub keyword: String,
    pub message: String,
}

/// An error as JS sees it; the shim turns it into an `Error` with these properties.
#[napi(object)]
#[derive(Clone)]
pub struct ErrorInfo {
    pub code: String,
    pub kind: String,
    pub message: String,
    pub key: Option<String>,
    pub file: Option<String>,
    /// For `SCHEMA_VIOLATION`: every violation.
    pub errors: Option<Vec<ViolationInfo>>,
}

impl From<&StoreError> for ErrorInfo {
    fn from(err: &StoreError) -> Self {
        ErrorInfo {
            code: err.code().to_string(),
            kind: err.kind().as_str().to_string(),
            message: err.to_string(),
            key: err.key().map(str::to_string),
            file: err.file().map(|f| f.to_string_lossy().into_owned()),
            errors: match err {
                StoreError::SchemaViolation { violations, .. } => Some(
                    violations
                        .iter()
                        .map(|v| ViolationInfo {
                            key: v.key.clone(),
                            instance_path: v.instance_path.clone(),
                            keyword: v.keyword.clone(),
                            message: v.message.clone(),
                        })
                        .collect(),
                ),
                _ => None,
            },
        }
    }
}

/// `err` as a JS `Error` carrying `code`, `kind`, `key`, `file` and `errors`.
pub(super) fn error_object<'env>(env: &'env Env, err: &StoreError) -> Result<Object<'env>> {
    let info = ErrorInfo::from(err);
    let mut obj = env.create_error(Error::new(Status::GenericFailure, info.message.clone()))?;
    obj.set("code", info.code.as_str())?;
    obj.set("kind", info.kind.as_str())?;
    if let Some(key) = &info.key {
        obj.set("key", key.as_str())?;
    }
    if let Some(file) = &info.file {
        obj.set("file", file.as_str())?;
    }
    if let Some(errors) = info.errors {
        obj.set("errors", errors)?;
    }
    Ok(obj)
}

/// Throws `err` as a JS `Error` (see [`error_object`]).
pub(super) fn throw(env: &Env, err: &StoreError) -> Error {
    match error_object(env, err).and_then(|obj| env.throw(obj)) {
        // The exception is pending; napi-rs must not throw another.
        Ok(()) => Error::new(Status::PendingException, String::new()),
        Err(e) => e,
    }
}

pub(super) type Resolver = Box<dyn FnOnce(Env) -> Result<Option<String>>>;
pub(super) type Deferred = JsDeferred<Option<String>, Resolver>;

/// A promise the committer settles: with a value (JSON or snapshot text, or nothing),
/// or rejected with the store's typed error.
pub(super) fn background_promise(env: &Env) -> Result<(Deferred, Object<'_>)> {
    env.create_deferred::<Option<String>, Resolver>()
}

pub(super) fn settle(deferred: Deferred, result: EngineResult<Option<String>>) {
    deferred.resolve(Box::new(move |env| match result {
        Ok(value) => Ok(value),
        // Rejected with the very object built here (napi-rs keeps a reference to it).
        Err(e) => Err(Error::from(error_object(&env, &e)?.to_unknown())),
    }));
}
