//! Sync across devices, a room per concept:
//!
//! | file | what it holds |
//! | --- | --- |
//! | [`scope`] | which keys sync: the `sync.keys` patterns, less every sensitive key |
//! | [`mirror`] | the synced subtrees mirrored in an Automerge document, both ways |
//! | [`folder`] | the folder a sync service replicates: immutable, content-addressed change files |
//! | `tests` | three devices converging through a sync service that copies late, partially, twice |

pub mod folder;
pub mod mirror;
pub mod scope;
#[cfg(test)]
mod tests;
