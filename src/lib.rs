//! tad-store: a durable, validated settings store for Electron, as a Node-API addon.
//!
//! - [`engine`]: the store itself, the `tad-store-core` crate (no Node-API code, tested
//!   with `cargo test -p tad-store-core`).
//! - `binding`: the `#[napi]` layer that converts values and errors and delivers events.

pub use tad_store_core as engine;

pub mod binding;
