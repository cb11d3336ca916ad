//! Sync across devices, a room per concept:
//!
//! | file | what it holds |
//! | --- | --- |
//! | [`scope`] | which keys sync: the `sync.keys` patterns, less every sensitive key |
//! | [`mirror`] | the synced subtrees mirrored in an Automerge document, both ways |
//! | [`folder`] | the folder a sync service replicates: immutable, content-addressed change files |
//! | [`local`] | what a syncing store keeps on its device: its actor, the mirror's log, the last status |
//! | [`status`] | what `syncStatus()` reports |
//! | `tree` | the mirror's entries gathered into a document |
//! | `tests` | three devices converging through a sync service that copies late, partially, twice |

pub mod folder;
pub mod local;
pub mod mirror;
pub mod scope;
pub mod status;
#[cfg(test)]
mod tests;
mod tree;

/// The `sync` option: which keys sync, through which folder, as which device.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The folder a sync service replicates; the store's files go in `<folder>/<store>`.
    pub folder: std::path::PathBuf,
    /// Key patterns of the synced subtrees (`settings`, `workspaces.*.name`).
    pub keys: Vec<String>,
    /// This machine's name (the shim's default: the host name).
    pub device: String,
    /// How often the folder is looked at besides its watch.
    pub scan_interval: std::time::Duration,
}
