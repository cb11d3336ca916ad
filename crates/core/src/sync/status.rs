//! What `store.syncStatus()` and `tad-store sync status` report.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One store's sync, as this device sees it. Written to the local sync directory (see
/// [`super::local`]) whenever it changes, so the CLI reads it without opening the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// This device's name (`sync.device`).
    pub device: String,
    /// This device's directory in the folder: `<device>-<actor>`.
    pub directory: String,
    /// `<sync.folder>/<store name>`: where every device's directory is.
    pub folder: PathBuf,
    pub keys: Vec<String>,
    /// The folder could be listed at the last look (it may be offline, or unmounted).
    pub reachable: bool,
    /// The devices whose directories the folder holds, this one among them once it wrote.
    pub devices: Vec<DeviceSeen>,
    /// Changes made here that are not in the folder yet (it is offline, or a write failed).
    pub pending_out: usize,
    /// Changes that arrived but wait for changes they depend on.
    pub pending_in: usize,
    /// Subtrees whose merged state fails the schema: this device keeps its last valid
    /// state there until a later change makes the merge valid.
    pub conflicts: Vec<Conflict>,
    /// When the folder was last looked at (ISO 8601).
    pub last_scan: Option<String>,
    /// The last sync failure (its code and message), until a look at the folder succeeds.
    pub last_error: Option<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSeen {
    /// Its directory in the folder.
    pub directory: String,
    /// The device's name, as its directory spells it.
    pub device: String,
    pub this_device: bool,
    /// The time of its newest change merged here, as its clock read it (ISO 8601).
    pub last_change: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The synced subtree whose merge was not applied.
    pub key: String,
    /// What the schema said of the merged state.
    pub message: String,
    pub since: String,
}
