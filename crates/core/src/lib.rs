//! The store engine: an in-memory document, made durable by a journal with group commit
//! and by atomic snapshots, written by the store's committer on the process's thread pool
//! ([`pool`]).
//!
//! Nothing here knows about Node.js. The binding calls these methods on the JS thread;
//! they apply a change in memory, queue its journal record and return in microseconds.
//!
//! Durability contract (the README's "Durability, in plain words" says it for users):
//! - A change is applied and visible when its method returns.
//! - It is durable once [`Engine::flush`]'s callback reports `Ok`: the journal record
//!   that holds it has been fsynced, or a snapshot that contains it has been renamed
//!   into place and its directory fsynced.
//! - The snapshot is only ever replaced by rename; a crash leaves the old or the new one.

pub mod ajv;
pub mod crypto;
pub mod defaults;
pub mod document;
pub mod engine;
pub mod error;
pub mod feed;
pub mod file_cipher;
pub mod fs;
#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;
pub mod history;
pub mod items;
pub mod journal;
pub mod keys;
pub mod lock;
pub mod map;
pub mod options;
pub mod os_error;
pub mod path;
pub mod pool;
pub mod schema;
pub mod secrets;
#[cfg(any(test, feature = "testing"))]
pub mod sim_fs;
pub mod snapshot;
pub mod stats;
pub mod store_files;
pub mod sync;
pub mod violation;
pub mod watch;

pub use engine::{
    ChangeEvent, Command, Completion, Engine, ErrorListener, Read, Receipt, StateCompletion, Task,
    TaskCompletion, Text, TextCompletion, VerifyCompletion,
};
pub use options::{default_config_dir, CheckpointPolicy, EngineOptions, OpenReport};
pub use store_files::StoreFiles;
