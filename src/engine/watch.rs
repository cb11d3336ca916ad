//! Following edits other programs make to the store file (`watch: true`).
//!
//! The parent directory is watched, not the file: an editor's (or conf's) atomic save
//! replaces the file by rename, after which a watch on the old file sees nothing more.
//! Events for the store's name are debounced, then the engine compares the file with
//! what it last wrote itself: its own writes are not changes.

use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// How long a burst of events (a write, then a rename) is folded into one.
const DEBOUNCE: Duration = Duration::from_millis(40);

/// A running watch; dropping it stops the watcher and its thread.
pub struct FileWatch {
    _watcher: notify::RecommendedWatcher,
    _thread: std::thread::JoinHandle<()>,
}

/// Calls `changed` (on the watch thread) after the file at `path` was written, renamed
/// into place or removed by anyone. `changed` returns false to stop watching.
pub fn watch_file(
    path: &Path,
    changed: Arc<dyn Fn() -> bool + Send + Sync>,
) -> std::io::Result<FileWatch> {
    let dir = super::snapshot::dir_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let (tx, rx) = channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            for p in event.paths {
                // The receiver is gone only once the watch is being dropped.
                let _watch_stopping = tx.send(p);
            }
        }
    })
    .map_err(std::io::Error::other)?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(std::io::Error::other)?;
    let thread = std::thread::Builder::new()
        .name("tad-store-watch".into())
        .spawn(move || loop {
            let Ok(first) = rx.recv() else { return };
            let mut relevant = first.file_name() == Some(name.as_os_str());
            // Fold the rest of the burst.
            loop {
                match rx.recv_timeout(DEBOUNCE) {
                    Ok(p) => relevant |= p.file_name() == Some(name.as_os_str()),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            if relevant && !changed() {
                return;
            }
        })?;
    Ok(FileWatch {
        _watcher: watcher,
        _thread: thread,
    })
}
