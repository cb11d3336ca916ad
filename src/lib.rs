//! tad-store: a durable, validated settings store for Electron, as a Node-API addon.
//!
//! - [`engine`]: the store itself, with no Node-API code, tested with `cargo test`.
//! - `binding`: the `#[napi]` layer that converts values and errors and delivers events.

pub mod engine;

pub mod binding;
