//! Errors and promises: a [`StoreError`] becomes a JS `Error` carrying the core's
//! [`StoreError::properties`] (`code`, `kind`, `key`, `file`, `errors`), thrown from a
//! call or rejecting the promise of background work.

use crate::engine::error::{Result as EngineResult, StoreError};
use napi::bindgen_prelude::*;

/// `err` as a JS `Error` carrying its properties.
pub(super) fn error_object<'env>(env: &'env Env, err: &StoreError) -> Result<Object<'env>> {
    let mut obj = env.create_error(Error::new(Status::GenericFailure, err.to_string()))?;
    for (name, value) in err.properties() {
        if name != "message" {
            obj.set(name, value)?;
        }
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

type Resolver = Box<dyn FnOnce(Env) -> Result<Option<String>>>;

/// What background work resolves its promise with: nothing, or text.
pub(super) trait Settled: Send + 'static {
    fn into_text(self) -> Option<String>;
}

impl Settled for () {
    fn into_text(self) -> Option<String> {
        None
    }
}

impl Settled for Option<String> {
    fn into_text(self) -> Option<String> {
        self
    }
}

/// A promise that background work settles: `start` gets the completion that resolves
/// it, or rejects it with the store's typed error.
pub(super) fn promise<'env, T: Settled>(
    env: &'env Env,
    start: impl FnOnce(Box<dyn FnOnce(EngineResult<T>) + Send>),
) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred::<Option<String>, Resolver>()?;
    start(Box::new(move |result| {
        deferred.resolve(Box::new(move |env| match result {
            Ok(value) => Ok(value.into_text()),
            // Rejected with the very object built here (napi-rs keeps a reference to it).
            Err(e) => Err(Error::from(error_object(&env, &e)?.to_unknown())),
        }))
    }));
    Ok(promise)
}
