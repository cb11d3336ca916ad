//! Following edits other programs make to store files (`watch: true`), for every store
//! of the process through one watcher.
//!
//! The parent directory is watched, not the file: an editor's (or conf's) atomic save
//! replaces the file by rename, after which a watch on the old file sees nothing more.
//! Events for a store's name are debounced, then the engine compares the file with what
//! it last wrote itself: its own writes are not changes.
//!
//! Costs, and why: one OS watcher (on Linux one inotify instance, whose event loop is one
//! thread with three descriptors) and one dispatch thread serve every watched store;
//! each watched directory is one inotify watch, counted against
//! `fs.inotify.max_user_watches`. Both threads exist only while some store is watched,
//! and stop when the last watch is dropped. Reads are not events (inotify reports
//! `IN_OPEN`; the engine's own read of the file would otherwise wake the watch again and
//! again), so a watched store that nothing writes costs no CPU.

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a file's burst of events (a write, then a rename) is folded into one: the
/// file is looked at once it has been quiet this long.
const DEBOUNCE: Duration = Duration::from_millis(40);

/// What a watched store is told: the file was written, renamed into place or removed.
/// Returns false to stop watching.
pub type OnChange = Arc<dyn Fn() -> bool + Send + Sync>;

/// A store's watch; dropping it stops it (and, for the last one, the watcher).
pub struct FileWatch {
    id: u64,
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        unwatch(self.id);
    }
}

struct Registration {
    dir: PathBuf,
    file: PathBuf,
    /// A whole tree is watched (`dir`, and everything below it): a sync folder.
    tree: bool,
    changed: OnChange,
}

impl Registration {
    fn sees(&self, path: &Path) -> bool {
        self.file == path || (self.tree && path.starts_with(&self.dir))
    }
}

/// The process's watcher. Invariants: `watcher` and `events` are `Some` exactly while
/// `files` is not empty; `dirs` counts, per directory the watcher watches, the
/// registrations in it.
#[derive(Default)]
struct Hub {
    watcher: Option<notify::RecommendedWatcher>,
    /// Paths the watcher reported, to the dispatch thread.
    events: Option<Sender<PathBuf>>,
    dirs: HashMap<PathBuf, usize>,
    files: HashMap<u64, Registration>,
    next_id: u64,
}

static HUB: Mutex<Option<Hub>> = Mutex::new(None);

fn hub() -> MutexGuard<'static, Option<Hub>> {
    HUB.lock().unwrap_or_else(|e| e.into_inner())
}

/// Calls `changed` (on the dispatch thread) after the file at `path` was written, renamed
/// into place or removed by anyone, until it returns false or the watch is dropped.
pub fn watch_file(path: &Path, changed: OnChange) -> std::io::Result<FileWatch> {
    let dir = super::store_files::StoreFiles::of(path).dir();
    let file = dir.join(path.file_name().unwrap_or_default());
    register(dir, file, false, changed)
}

/// Calls `changed` (on the dispatch thread) after anything in or below `dir` was
/// written, renamed or removed (a sync folder, whose devices write below it), until it
/// returns false or the watch is dropped. `dir` must exist.
pub fn watch_tree(dir: &Path, changed: OnChange) -> std::io::Result<FileWatch> {
    register(dir.to_path_buf(), dir.to_path_buf(), true, changed)
}

fn register(
    dir: PathBuf,
    file: PathBuf,
    tree: bool,
    changed: OnChange,
) -> std::io::Result<FileWatch> {
    let mut guard = hub();
    let hub = guard.get_or_insert_with(Hub::default);
    if hub.watcher.is_none() {
        let (tx, rx) = channel::<PathBuf>();
        let to_dispatch = tx.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if is_read(&event.kind) {
                return;
            }
            for p in event.paths {
                // The receiver is gone only once the last watch is being dropped.
                let _watch_stopping = to_dispatch.send(p);
            }
        })
        .map_err(std::io::Error::other)?;
        std::thread::Builder::new()
            .name("tad-store-watch".into())
            .spawn(move || dispatch(rx))?;
        hub.watcher = Some(watcher);
        hub.events = Some(tx);
    }
    if !hub.dirs.contains_key(&dir) {
        let watched = match hub.watcher.as_mut() {
            Some(watcher) => watcher.watch(
                &dir,
                match tree {
                    true => RecursiveMode::Recursive,
                    false => RecursiveMode::NonRecursive,
                },
            ),
            None => unreachable!("created above"),
        };
        if let Err(e) = watched {
            if hub.files.is_empty() {
                stop(hub);
            }
            return Err(std::io::Error::other(e));
        }
    }
    *hub.dirs.entry(dir.clone()).or_default() += 1;
    hub.next_id += 1;
    let id = hub.next_id;
    hub.files.insert(
        id,
        Registration {
            dir,
            file,
            tree,
            changed,
        },
    );
    Ok(FileWatch { id })
}

/// Whether the event only says someone read the file (opened it, or closed it without
/// writing).
fn is_read(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(access) if *access != AccessKind::Close(AccessMode::Write))
}

fn unwatch(id: u64) {
    let mut guard = hub();
    let Some(hub) = guard.as_mut() else { return };
    let Some(registration) = hub.files.remove(&id) else {
        return;
    };
    let left = match hub.dirs.get_mut(&registration.dir) {
        Some(count) => {
            *count -= 1;
            *count
        }
        None => 0,
    };
    if left == 0 {
        hub.dirs.remove(&registration.dir);
        if let Some(watcher) = hub.watcher.as_mut() {
            // Fails only when the directory is gone, and its watch with it.
            let _already_gone = watcher.unwatch(&registration.dir);
        }
    }
    if hub.files.is_empty() {
        stop(hub);
    }
}

/// Drops the watcher (its thread and descriptors go with it) and the dispatch thread's
/// channel (it returns).
fn stop(hub: &mut Hub) {
    hub.watcher = None;
    hub.events = None;
    hub.dirs.clear();
}

/// The dispatch thread: folds each file's events until it has been quiet for
/// [`DEBOUNCE`], then tells the stores watching it. Waits without a timeout while nothing
/// is pending. Returns when the hub stops.
fn dispatch(events: std::sync::mpsc::Receiver<PathBuf>) {
    let mut quiet_since: HashMap<PathBuf, Instant> = HashMap::new();
    loop {
        let next = quiet_since.values().min().map(|last| *last + DEBOUNCE);
        let received = match next {
            None => events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(due) => events.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(path) => {
                quiet_since.insert(path, Instant::now());
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = Instant::now();
        let due: Vec<PathBuf> = quiet_since
            .iter()
            .filter(|(_, last)| now.duration_since(**last) >= DEBOUNCE)
            .map(|(path, _)| path.clone())
            .collect();
        for path in due {
            quiet_since.remove(&path);
            // Called without the hub's lock: a store may stop its watch from inside.
            let watching: Vec<(u64, OnChange)> = match hub().as_ref() {
                Some(hub) => hub
                    .files
                    .iter()
                    .filter(|(_, r)| r.sees(&path))
                    .map(|(id, r)| (*id, r.changed.clone()))
                    .collect(),
                None => Vec::new(),
            };
            for (id, changed) in watching {
                if !changed() {
                    unwatch(id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// How many stores are watched now, and how many directories the watcher watches.
    fn counts() -> (usize, usize) {
        match hub().as_ref() {
            Some(hub) => (hub.files.len(), hub.dirs.len()),
            None => (0, 0),
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tad-watch-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn until(what: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if what() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    // One test, so the process-wide counts are not shared with another running at once.
    #[test]
    fn one_watcher_serves_every_store_reads_are_not_changes_and_dropping_stops_it() {
        let (a, b) = (temp_dir("a"), temp_dir("b"));
        let calls: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
        let counter = |i: usize| -> OnChange {
            let c = calls[i].clone();
            Arc::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
                true
            })
        };
        std::fs::write(a.join("one.json"), b"{}").unwrap();
        let one = watch_file(&a.join("one.json"), counter(0)).unwrap();
        let two = watch_file(&a.join("two.json"), counter(1)).unwrap();
        let three = watch_file(&b.join("one.json"), counter(2)).unwrap();
        assert_eq!(counts(), (3, 2), "two directories watched for three stores");

        std::fs::write(a.join("one.json"), b"{\"a\":1}").unwrap();
        assert!(until(|| calls[0].load(Ordering::SeqCst) == 1));
        std::thread::sleep(DEBOUNCE * 3);
        assert_eq!(
            calls[1].load(Ordering::SeqCst),
            0,
            "another file, same directory"
        );
        assert_eq!(
            calls[2].load(Ordering::SeqCst),
            0,
            "same name, other directory"
        );

        // Reading the file is not a change: nothing is called, however often.
        for _ in 0..5 {
            std::fs::read(a.join("one.json")).unwrap();
            std::thread::sleep(DEBOUNCE / 2);
        }
        std::thread::sleep(DEBOUNCE * 3);
        assert_eq!(calls[0].load(Ordering::SeqCst), 1, "reads raise no call");

        drop(one);
        drop(two);
        assert_eq!(counts(), (1, 1));
        std::fs::write(a.join("one.json"), b"{\"a\":2}").unwrap();
        std::fs::write(b.join("one.json"), b"{\"b\":2}").unwrap();
        assert!(until(|| calls[2].load(Ordering::SeqCst) == 1));
        assert_eq!(
            calls[0].load(Ordering::SeqCst),
            1,
            "a dropped watch is not called"
        );
        drop(three);
        assert_eq!(counts(), (0, 0));
        assert!(hub()
            .as_ref()
            .is_some_and(|h| h.watcher.is_none() && h.events.is_none()));
        for dir in [a, b] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
