//! Engine tests on the simulated disk: behaviour, every crash state, injected faults.

use super::state::*;
use crate::defaults::Defaults;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::fs::{Fs, FsFile};
use crate::keys::KeyStore as _;
use crate::path::KeyPath;
use crate::schema::Schema;
use crate::sim_fs::{CrashMode, Fault, Image, SimFs};
use crate::store_files::StoreFiles;
use crate::*;
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const STORE: &str = "/app/config.json";

fn p(s: &str) -> KeyPath {
    KeyPath::parse(s).unwrap()
}
fn j(s: &str) -> Node {
    Node::from_json(s).unwrap()
}

fn options(fs: &SimFs) -> EngineOptions {
    let mut options = EngineOptions::new(STORE, Arc::new(fs.clone()));
    // Checkpoints happen only when a test asks (close) or the journal limit is hit.
    options.checkpoint.idle = Duration::from_secs(3600);
    options
}

fn open(fs: &SimFs) -> Engine {
    Engine::open(options(fs)).unwrap()
}

/// The store as a new process opens it after `engine` flushed and the power failed
/// (only what was durable is on disk). The "crashed" engine never closes.
fn after_power_loss(fs: &SimFs, engine: Engine) -> Engine {
    engine.flush_blocking().unwrap();
    let image = fs.crash_image(fs.op_count(), CrashMode::DurableOnly);
    std::mem::forget(engine);
    open(&SimFs::from_image(&image))
}

fn store_file(fs: &SimFs) -> Option<Vec<u8>> {
    fs.image().get(&PathBuf::from(STORE)).cloned()
}

/// The files moved aside as corrupt (`config.json.corrupt-*`), by name.
fn corrupt_aside(fs: &SimFs) -> Vec<Vec<u8>> {
    fs.image()
        .into_iter()
        .filter(|(path, _)| path.to_string_lossy().contains("config.json.corrupt-"))
        .map(|(_, bytes)| bytes)
        .collect()
}

/// The store file on the simulated disk, parsed.
fn file_doc(fs: &SimFs) -> Node {
    Node::from_json(std::str::from_utf8(&store_file(fs).unwrap()).unwrap()).unwrap()
}

const MODES: [CrashMode; 4] = [
    CrashMode::DurableOnly,
    CrashMode::Everything,
    CrashMode::DataNotNames,
    CrashMode::NamesNotData,
];

/// Every image a power loss at `point` can leave, torn writes included.
fn crash_images(fs: &SimFs, point: usize) -> Vec<(String, Image)> {
    let mut images: Vec<_> = MODES
        .iter()
        .map(|m| (format!("{m:?}"), fs.crash_image(point, *m)))
        .collect();
    for cut in fs.torn_cuts(point) {
        images.push((
            format!("torn at {cut}"),
            fs.crash_image(point, CrashMode::TornLastWrite(cut)),
        ));
    }
    images
}

#[test]
fn values_survive_close_and_reopen_in_electron_store_format() {
    let fs = SimFs::new();
    let mut engine = open(&fs);
    engine.set(&p("settings.theme"), j(r#""dark""#)).unwrap();
    engine.set(&p("list"), j("[1,2]")).unwrap();
    engine.close_blocking().unwrap();
    let text = String::from_utf8(store_file(&fs).unwrap()).unwrap();
    assert_eq!(
        text,
        "{\n\t\"settings\": {\n\t\t\"theme\": \"dark\"\n\t},\n\t\"list\": [\n\t\t1,\n\t\t2\n\t]\n}"
    );
    assert!(
        !fs.image()
            .contains_key(&StoreFiles::of(Path::new(STORE)).journal()),
        "a clean close leaves no journal"
    );
    let engine = open(&fs);
    assert_eq!(
        engine.get_json(&p("settings.theme")).unwrap().as_deref(),
        Some(r#""dark""#)
    );
}

#[test]
fn flushed_writes_survive_without_a_checkpoint() {
    let fs = SimFs::new();
    let engine = open(&fs);
    engine.set(&p("a"), j("1")).unwrap();
    engine.flush_blocking().unwrap();
    // Power loss now: only the journal has the write.
    let image = fs.crash_image(fs.op_count(), CrashMode::DurableOnly);
    assert!(!image.contains_key(&PathBuf::from(STORE)));
    let reopened = open(&SimFs::from_image(&image));
    assert_eq!(reopened.get_json(&p("a")).unwrap().as_deref(), Some("1"));
    assert_eq!(reopened.report().replayed, 1);
    std::mem::forget(engine); // the "crashed" process never closes
}

/// The power-loss simulator: a workload of sets, each acknowledged by a flush, with a
/// journal limit small enough that checkpoints happen in the middle. At every crash point
/// and in every crash mode, the store opens to the state after some prefix of the sets,
/// and that prefix includes every acknowledged one.
#[test]
fn every_crash_state_of_sets_and_checkpoints_keeps_acknowledged_writes() {
    let fs = SimFs::from_image(&Image::from([(
        PathBuf::from(STORE),
        b"{\"n\":0}".to_vec(),
    )]));
    let mut opts = options(&fs);
    opts.checkpoint.journal_bytes = 300;
    // Few entries, so history is pruned in the middle of the run too.
    opts.history = Some(history::HistoryPolicy {
        max_entries: 2,
        ..history::HistoryPolicy::default()
    });
    let mut engine = Engine::open(opts).unwrap();
    let mut acked_at = Vec::new(); // acked_at[k]: op count once set k+1 was durable
    for n in 1..=12u64 {
        engine.set(&p("n"), j(&n.to_string())).unwrap();
        engine
            .set(
                &p(&format!("k{n}")),
                j(r#""some padding to grow the journal""#),
            )
            .unwrap();
        engine.flush_blocking().unwrap();
        acked_at.push(fs.op_count());
    }
    engine.close_blocking().unwrap();
    let total = fs.op_count();
    let mut checked = 0;
    for point in 0..=total {
        let acked = acked_at.iter().filter(|&&at| at <= point).count() as u64;
        for (mode, image) in crash_images(&fs, point) {
            let reopened = Engine::open(options(&SimFs::from_image(&image)))
                .unwrap_or_else(|e| panic!("point {point} {mode}: open failed: {e}"));
            let n: u64 = reopened
                .get_json(&p("n"))
                .unwrap()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                n >= acked,
                "point {point} {mode}: n={n} but {acked} sets were acknowledged"
            );
            // The state is exactly the state after some prefix: no torn batch.
            for k in 1..=12u64 {
                let has = reopened.has(&p(&format!("k{k}"))).unwrap();
                assert!(!has || k <= n, "point {point} {mode}: k{k} without n={k}");
            }
            // The history chain survives every crash too: it verifies from the
            // snapshot that is on disk, end to end.
            let Ok(report) = reopened.verify_history_blocking() else {
                panic!("point {point} {mode}: verify failed");
            };
            assert_eq!(report.broken_at, None, "point {point} {mode}: {report:?}");
            checked += 1;
        }
    }
    assert!(checked > 500, "enumerated {checked} crash states");
}

#[test]
fn a_full_disk_at_any_operation_keeps_the_old_file_and_recovers() {
    let original = b"{\n\t\"v\": 1\n}".to_vec();
    // Count the operations of one set + flush + close.
    let probe = SimFs::from_image(&Image::from([(PathBuf::from(STORE), original.clone())]));
    let mut engine = open(&probe);
    engine.set(&p("v"), j("2")).unwrap();
    engine.flush_blocking().unwrap();
    engine.close_blocking().unwrap();
    let ops = probe.op_count();

    for at in 0..ops {
        let fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), original.clone())]));
        let engine = open(&fs);
        fs.set_fault(Some(Fault {
            at: fs.op_count() + at,
            errno: libc::ENOSPC,
            sticky: true,
        }));
        engine.set(&p("v"), j("2")).unwrap();
        let flushed = engine.flush_blocking();
        if let Err(err) = &flushed {
            assert_eq!(err.code(), "DISK_FULL", "fault at {at}");
            assert_eq!(
                store_file(&fs).unwrap(),
                original,
                "fault at {at}: the old file is byte-identical"
            );
            let temps: Vec<_> = fs
                .image()
                .into_keys()
                .filter(|k| k.to_string_lossy().contains(".tmp-"))
                .collect();
            assert!(
                temps.is_empty(),
                "fault at {at}: temp files left: {temps:?}"
            );
            // Memory keeps serving.
            assert_eq!(engine.get_json(&p("v")).unwrap().as_deref(), Some("2"));
        }
        // The disk recovers: everything is persisted.
        fs.heal();
        engine
            .flush_blocking()
            .unwrap_or_else(|e| panic!("fault at {at}: after healing: {e}"));
        let mut engine = engine;
        engine.close_blocking().unwrap();
        let reopened = open(&SimFs::from_image(
            &fs.crash_image(fs.op_count(), CrashMode::DurableOnly),
        ));
        assert_eq!(
            reopened.get_json(&p("v")).unwrap().as_deref(),
            Some("2"),
            "fault at {at}"
        );
    }
}

/// The codes of the errors the engine reports to its listener, as they come.
fn error_codes(engine: &Engine) -> Arc<Mutex<Vec<&'static str>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    engine.set_error_listener(Some(Arc::new(move |e: &StoreError| {
        sink.lock().unwrap().push(e.code())
    })));
    seen
}

#[test]
fn background_failures_reach_the_error_listener() {
    let fs = SimFs::new();
    let engine = open(&fs);
    let seen = error_codes(&engine);
    fs.set_fault(Some(Fault {
        at: fs.op_count(),
        errno: libc::EIO,
        sticky: true,
    }));
    engine.set(&p("a"), j("1")).unwrap();
    assert_eq!(engine.flush_blocking().unwrap_err().code(), "IO");
    assert!(seen.lock().unwrap().contains(&"IO"));
    fs.heal();
    engine.flush_blocking().unwrap();
}

#[test]
fn a_corrupt_file_is_refused_untouched_or_moved_aside() {
    for bad in [&b""[..], b"{\"a\": 1", b"\x00\x00\x00", b"[]"] {
        let fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), bad.to_vec())]));
        let err = Engine::open(options(&fs)).err().unwrap();
        assert_eq!(err.code(), "CORRUPT_FILE");
        assert_eq!(store_file(&fs).unwrap(), bad, "untouched");

        let mut opts = options(&fs);
        opts.clear_invalid_config = true;
        opts.defaults = vec![(p("theme"), j(r#""light""#))];
        let mut engine = Engine::open(opts).unwrap();
        let aside = engine.report().quarantined.clone().unwrap();
        assert_eq!(fs.image()[&aside], bad, "moved aside, never deleted");
        assert_eq!(
            engine.get_json(&p("theme")).unwrap().as_deref(),
            Some(r#""light""#)
        );
        engine.close_blocking().unwrap();
    }
}

#[test]
fn a_stale_journal_is_ignored() {
    // A checkpoint renamed the new snapshot in, then the process died before resetting
    // the journal: its records are already in the snapshot and must not apply twice.
    let fs = SimFs::new();
    let engine = open(&fs);
    engine.append(&p("list"), j("1")).unwrap();
    engine.flush_blocking().unwrap();
    let journal = fs.image()[&StoreFiles::of(Path::new(STORE)).journal()].clone();
    std::mem::forget(engine);
    let snapshot = b"{\n\t\"list\": [\n\t\t1\n\t]\n}".to_vec();
    let image = Image::from([
        (PathBuf::from(STORE), snapshot),
        (StoreFiles::of(Path::new(STORE)).journal(), journal),
    ]);
    let reopened = open(&SimFs::from_image(&image));
    assert_eq!(
        reopened.get_json(&p("list")).unwrap().as_deref(),
        Some("[1]")
    );
}

#[test]
fn changes_to_a_watched_key_coalesce_into_one_event() {
    let fs = SimFs::new();
    let engine = open(&fs);
    engine.set(&p("a.b"), j("0")).unwrap();
    let id = engine.watch(p("a"));
    let other = engine.watch(p("z"));
    let first = engine.set(&p("a.b"), j("1")).unwrap();
    assert!(first.schedule_delivery);
    for n in 2..=100_000 {
        let receipt = engine.set(&p("a.b"), j(&n.to_string())).unwrap();
        assert!(!receipt.schedule_delivery, "one delivery pending at most");
    }
    let events = engine.take_events();
    assert_eq!(events.len(), 1, "one event for the watcher, none for `z`");
    assert_eq!(events[0].watch_id, id);
    assert_eq!(events[0].old_json.as_deref(), Some(r#"{"b":0}"#));
    assert_eq!(events[0].new_json.as_deref(), Some(r#"{"b":100000}"#));
    assert!(engine.take_events().is_empty());
    // A change that ends where it started is no change.
    engine.set(&p("a.b"), j("5")).unwrap();
    engine.set(&p("a.b"), j("100000")).unwrap();
    assert!(engine.take_events().is_empty());
    engine.unwatch(id);
    engine.unwatch(other);
}

#[test]
fn root_watchers_see_the_store_without_bookkeeping() {
    let fs = SimFs::from_image(&Image::from([(
        PathBuf::from(STORE),
        br#"{"__internal__":{"migrations":{"version":"1.0.0"}},"a":1}"#.to_vec(),
    )]));
    let engine = open(&fs);
    engine.watch(KeyPath::root());
    engine.set(&p("a"), j("2")).unwrap();
    let events = engine.take_events();
    assert_eq!(events[0].new_json.as_deref(), Some(r#"{"a":2}"#));
    assert_eq!(engine.store_json().unwrap(), r#"{"a":2}"#);
    assert_eq!(engine.size().unwrap(), 1);
    // Replacing the store keeps the bookkeeping; writing it directly is refused.
    engine.replace(j(r#"{"b":1}"#)).unwrap();
    assert_eq!(engine.store_json().unwrap(), r#"{"b":1}"#);
    assert!(engine
        .get_json(&p("__internal__.migrations.version"))
        .unwrap()
        .is_some());
    assert_eq!(
        engine.set(&p("__internal__.x"), j("1")).unwrap_err().code(),
        "INVALID_KEY"
    );
    assert_eq!(
        engine.delete(&p("__internal__")).unwrap_err().code(),
        "INVALID_KEY"
    );
}

#[test]
fn a_key_feed_reports_changed_paths_with_values_now_and_never_the_whole_store() {
    let fs = SimFs::from_image(&Image::from([(
        PathBuf::from(STORE),
        br#"{"__internal__":{"migrations":{"version":"1.0.0"}},"big":{"a":1,"b":2},"s":"x"}"#
            .to_vec(),
    )]));
    let engine = open(&fs);
    let feed = engine.follow();
    let fed = |engine: &Engine| -> Vec<(String, Option<String>)> {
        engine
            .take_events()
            .into_iter()
            .map(|e| {
                assert_eq!(e.watch_id, feed);
                assert_eq!(e.old_json, None, "a feed carries no old values");
                (e.path.unwrap().to_string(), e.new_json)
            })
            .collect()
    };
    let first = engine.set(&p("big.a"), j("10")).unwrap();
    assert!(first.schedule_delivery);
    assert!(!engine.set(&p("big.a"), j("11")).unwrap().schedule_delivery);
    engine.delete(&p("s")).unwrap();
    assert_eq!(
        fed(&engine),
        [("s".into(), None), ("big.a".into(), Some("11".into()))]
    );
    // A replaced store is refined into the paths that differ; bookkeeping never shows.
    engine
        .replace(j(r#"{"big":{"a":11,"b":3},"t":[1]}"#))
        .unwrap();
    assert_eq!(
        fed(&engine),
        [
            ("t".into(), Some("[1]".into())),
            ("big.b".into(), Some("3".into()))
        ]
    );
    engine
        .set_internal(&p("__internal__.migrations.version"), j(r#""2.0.0""#))
        .unwrap();
    assert!(fed(&engine).is_empty());
    engine.unwatch(feed);
    engine.set(&p("t"), j("2")).unwrap();
    assert!(
        engine.take_events().is_empty(),
        "an unwatched feed reports nothing"
    );
}

#[test]
fn write_file_brings_the_file_up_to_date_without_closing() {
    let fs = SimFs::new();
    let engine = open(&fs);
    engine.set(&p("a"), j("1")).unwrap();
    engine.flush_blocking().unwrap();
    assert_eq!(
        store_file(&fs),
        None,
        "durable in the journal, not yet in the file"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    engine.write_file(Box::new(move |r| {
        let _receiver_is_waiting = tx.send(r);
    }));
    rx.recv().unwrap().unwrap();
    let file = file_doc(&fs);
    assert_eq!(file.get(&p("a")), Some(&j("1")));
    engine.set(&p("a"), j("2")).unwrap();
    assert_eq!(
        engine.get_json(&p("a")).unwrap().as_deref(),
        Some("2"),
        "still open"
    );
}

/// Writes `bytes` as the store file, as another program would (not through the engine).
fn edit_externally(fs: &SimFs, bytes: &[u8]) {
    let mut file = fs.create(&PathBuf::from(STORE), 0o600).unwrap();
    file.write_all(bytes).unwrap();
    file.sync().unwrap();
}

fn write_file(engine: &Engine) -> Result<()> {
    engine.wait_for(|done| engine.write_file(done))
}

#[test]
fn a_checkpoint_never_renames_over_a_file_another_program_changed() {
    let fs = SimFs::new();
    let engine = open(&fs);
    let seen = error_codes(&engine);
    engine.set(&p("a"), j("1")).unwrap();
    write_file(&engine).unwrap();
    let feed = engine.follow();

    // A valid edit: applied as a change (with events), then checkpointed.
    edit_externally(&fs, br#"{"a": 5, "edited": true}"#);
    engine.set(&p("b"), j("2")).unwrap();
    write_file(&engine).unwrap();
    let file = file_doc(&fs);
    assert_eq!(file.get(&p("edited")), Some(&j("true")), "the edit is kept");
    assert_eq!(engine.get_json(&p("a")).unwrap().as_deref(), Some("5"));
    assert!(
        engine.take_events().iter().any(|e| e.watch_id == feed),
        "the edit is a change"
    );

    // A broken edit: moved aside, never renamed over, and reported.
    edit_externally(&fs, b"{ broken");
    engine.set(&p("c"), j("3")).unwrap();
    write_file(&engine).unwrap();
    assert_eq!(corrupt_aside(&fs), vec![b"{ broken".to_vec()], "kept aside");
    let file = file_doc(&fs);
    assert_eq!(
        file.get(&p("c")),
        Some(&j("3")),
        "the store's state is written again"
    );
    assert!(seen.lock().unwrap().contains(&"EXTERNAL_EDIT_REFUSED"));
}

/// The simulated disk with hooks: `before_swap` runs right before a rename, exchange or
/// no-replace rename onto a path (after the store's compare), `before_sync` before every
/// fsync of a file.
type SwapHook = Box<dyn Fn(&SimFs, &Path) + Send + Sync>;

/// An edit another program will make, once.
type PendingEdit = Arc<Mutex<Option<Vec<u8>>>>;

struct HookedFs {
    disk: SimFs,
    before_swap: SwapHook,
    before_sync: Arc<dyn Fn() + Send + Sync>,
}

impl HookedFs {
    fn new(disk: &SimFs) -> HookedFs {
        HookedFs {
            disk: disk.clone(),
            before_swap: Box::new(|_, _| {}),
            before_sync: Arc::new(|| {}),
        }
    }
}

struct HookedFile {
    file: Box<dyn FsFile>,
    before_sync: Arc<dyn Fn() + Send + Sync>,
}

impl FsFile for HookedFile {
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all(buf)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        (self.before_sync)();
        self.file.sync()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)
    }
}

impl crate::fs::FsLayer for HookedFs {
    fn below(&self) -> &dyn Fs {
        &self.disk
    }
    fn create(&self, path: &Path, mode: u32) -> std::io::Result<Box<dyn FsFile>> {
        Ok(Box::new(HookedFile {
            file: self.disk.create(path, mode)?,
            before_sync: self.before_sync.clone(),
        }))
    }
    fn open_append(&self, path: &Path) -> std::io::Result<Box<dyn FsFile>> {
        Ok(Box::new(HookedFile {
            file: self.disk.open_append(path)?,
            before_sync: self.before_sync.clone(),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        (self.before_swap)(&self.disk, to);
        self.disk.rename(from, to)
    }
    fn exchange(&self, a: &Path, b: &Path) -> std::io::Result<()> {
        (self.before_swap)(&self.disk, b);
        self.disk.exchange(a, b)
    }
    fn rename_new(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        (self.before_swap)(&self.disk, to);
        self.disk.rename_new(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        (self.before_sync)();
        self.disk.sync_dir(dir)
    }
}

/// Another program's edit that lands at the last instant of the store's next checkpoint:
/// after its compare, just before its swap.
fn edit_during_swap(disk: &SimFs) -> (Arc<HookedFs>, PendingEdit) {
    let edit: PendingEdit = Arc::default();
    let pending = edit.clone();
    let mut fs = HookedFs::new(disk);
    fs.before_swap = Box::new(move |disk, to| {
        if to != Path::new(STORE) {
            return;
        }
        if let Some(bytes) = pending.lock().unwrap().take() {
            let other = PathBuf::from("/app/editor.tmp");
            let mut file = disk.create(&other, 0o600).unwrap();
            file.write_all(&bytes).unwrap();
            file.sync().unwrap();
            disk.rename(&other, to).unwrap();
        }
    });
    (Arc::new(fs), edit)
}

#[test]
fn an_edit_landing_during_the_checkpoints_swap_is_applied_or_kept_aside_never_lost() {
    let disk = SimFs::new();
    let (fs, edit) = edit_during_swap(&disk);
    let mut opts = options(&disk);
    opts.fs = fs;
    let engine = Engine::open(opts).unwrap();
    let seen = error_codes(&engine);
    engine.set(&p("a"), j("1")).unwrap();
    write_file(&engine).unwrap();

    // A valid edit: the checkpoint's snapshot goes in place, and the edit it swapped out
    // is applied as a change and written by the next checkpoint.
    *edit.lock().unwrap() = Some(br#"{"a": 5, "edited": true}"#.to_vec());
    engine.set(&p("b"), j("2")).unwrap();
    write_file(&engine).unwrap();
    assert_edit_taken(&engine, &disk, &edit, "edited", "true");

    // A broken edit: kept aside whole and reported; the store's state stays on disk.
    *edit.lock().unwrap() = Some(b"{ broken".to_vec());
    engine.set(&p("c"), j("3")).unwrap();
    write_file(&engine).unwrap();
    assert_eq!(
        corrupt_aside(&disk),
        vec![b"{ broken".to_vec()],
        "kept aside"
    );
    assert!(seen.lock().unwrap().contains(&"EXTERNAL_EDIT_REFUSED"));
    let file = file_doc(&disk);
    assert_eq!(file.get(&p("c")), Some(&j("3")));
    let temps = disk
        .image()
        .into_keys()
        .filter(|path| path.to_string_lossy().contains(".tmp-"))
        .count();
    assert_eq!(temps, 0, "no temporary file left");

    // The file is gone (moved aside, deleted) and an edit creates it again just before
    // the checkpoint writes it: the checkpoint never replaces what appeared.
    disk.remove(Path::new(STORE)).unwrap();
    *edit.lock().unwrap() = Some(br#"{"recreated": 1}"#.to_vec());
    engine.set(&p("d"), j("4")).unwrap();
    write_file(&engine).unwrap();
    assert_edit_taken(&engine, &disk, &edit, "recreated", "1");
}

/// The edit landed, the store took it, and it reached the file.
fn assert_edit_taken(engine: &Engine, disk: &SimFs, edit: &PendingEdit, key: &str, value: &str) {
    assert!(edit.lock().unwrap().is_none(), "the edit landed");
    assert_eq!(engine.get_json(&p(key)).unwrap().as_deref(), Some(value));
    assert_eq!(file_doc(disk).get(&p(key)), Some(&j(value)), "on disk");
}

#[test]
fn a_store_whose_disk_stalls_holds_one_pool_thread_and_other_stores_still_flush() {
    assert!(pool::size() >= 2, "the pool keeps two threads at least");
    let stalled = Arc::new((Mutex::new(true), std::sync::Condvar::new()));
    let gate = stalled.clone();
    let slow_disk = SimFs::new();
    let mut slow_fs = HookedFs::new(&slow_disk);
    slow_fs.before_sync = Arc::new(move || {
        let (lock, cv) = &*gate;
        let mut stalling = lock.lock().unwrap();
        while *stalling {
            stalling = cv.wait(stalling).unwrap();
        }
    });
    let mut slow_options = options(&slow_disk);
    slow_options.fs = Arc::new(slow_fs);
    let slow = Engine::open(slow_options).unwrap();
    let (slow_done, slow_flushed) = std::sync::mpsc::channel();
    slow.set(&p("a"), j("1")).unwrap();
    slow.flush(Box::new(move |r| {
        let _receiver_waits = slow_done.send(r);
    }));
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        slow_flushed.try_recv().is_err(),
        "the slow store's fsync is stalled"
    );

    // Other stores commit, checkpoint and flush while it stalls.
    for n in 0..8 {
        let disk = SimFs::new();
        let engine = open(&disk);
        engine.set(&p("n"), j(&n.to_string())).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        engine.flush(Box::new(move |r| {
            let _receiver_waits = tx.send(r);
        }));
        let flushed = rx.recv_timeout(Duration::from_secs(5));
        assert!(matches!(flushed, Ok(Ok(()))), "store {n}: {flushed:?}");
        write_file(&engine).unwrap();
    }
    assert!(slow_flushed.try_recv().is_err(), "still stalled");
    *stalled.0.lock().unwrap() = false;
    stalled.1.notify_all();
    let flushed = slow_flushed.recv_timeout(Duration::from_secs(5));
    assert!(matches!(flushed, Ok(Ok(()))), "{flushed:?}");
}

#[test]
fn several_keys_are_set_all_or_nothing() {
    let fs = SimFs::new();
    let engine = open(&fs);
    engine.set(&p("list"), j("[1]")).unwrap();
    let err = engine
        .set_many(vec![(p("a"), j("1")), (p("list.name"), j("2"))])
        .unwrap_err();
    assert_eq!(err.code(), "TYPE_CONFLICT");
    assert!(
        !engine.has(&p("a")).unwrap(),
        "the first key was not set either"
    );
}

#[test]
fn defaults_fill_in_reset_and_clear() {
    let fs = SimFs::from_image(&Image::from([(
        PathBuf::from(STORE),
        br#"{"theme":"dark"}"#.to_vec(),
    )]));
    let mut opts = options(&fs);
    opts.defaults = vec![
        (p("theme"), j(r#""light""#)),
        (p("editor.fontSize"), j("14")),
    ];
    let engine = Engine::open(opts).unwrap();
    assert_eq!(
        engine.get_json(&p("theme")).unwrap().as_deref(),
        Some(r#""dark""#),
        "the file wins"
    );
    assert_eq!(
        engine.get_json(&p("editor.fontSize")).unwrap().as_deref(),
        Some("14")
    );
    engine.set(&p("editor.fontSize"), j("20")).unwrap();
    engine.set(&p("other"), j("1")).unwrap();
    engine.reset(&[p("editor.fontSize"), p("other")]).unwrap();
    assert_eq!(
        engine.get_json(&p("editor.fontSize")).unwrap().as_deref(),
        Some("14")
    );
    assert_eq!(
        engine.get_json(&p("other")).unwrap().as_deref(),
        Some("1"),
        "no default: left alone"
    );
    engine.clear().unwrap();
    assert_eq!(
        engine.store_json().unwrap(),
        r#"{"theme":"light","editor":{"fontSize":14}}"#
    );
}

#[test]
fn writes_after_close_are_refused() {
    let fs = SimFs::new();
    let mut engine = open(&fs);
    engine.close_blocking().unwrap();
    assert_eq!(engine.set(&p("a"), j("1")).unwrap_err().code(), "CLOSED");
}

#[test]
fn stale_temp_files_are_removed_on_open() {
    let fs = SimFs::from_image(&Image::from([
        (PathBuf::from(STORE), b"{}".to_vec()),
        (
            PathBuf::from("/app/.config.json.tmp-123-0"),
            b"{\"half".to_vec(),
        ),
    ]));
    let engine = open(&fs);
    assert_eq!(engine.report().stale_temps, 1);
    let names: Vec<_> = fs.image().into_keys().collect();
    assert_eq!(
        names,
        vec![
            PathBuf::from(STORE),
            StoreFiles::of(Path::new(STORE)).lock()
        ]
    );
}

#[test]
fn every_close_call_is_answered() {
    let fs = SimFs::new();
    let engine = open(&fs);
    engine.set(&p("a"), j("1")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..3 {
        let tx = tx.clone();
        engine.close(Box::new(move |r| tx.send(r.is_ok()).unwrap()));
    }
    let answers: Vec<bool> = (0..3)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    assert_eq!(answers, vec![true; 3]);
}

#[test]
fn events_still_owed_at_close_are_delivered_after_it() {
    let fs = SimFs::new();
    let mut engine = open(&fs);
    let id = engine.watch(p("k"));
    engine.set(&p("k"), j("1")).unwrap();
    engine.close_blocking().unwrap();
    let events = engine.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].watch_id, id);
    assert_eq!(events[0].new_json.as_deref(), Some("1"));
    assert!(engine.take_events().is_empty());
}

// ----- schema, defaults, transactions ----------------------------------------------------

fn tad_like_schema() -> Arc<Schema> {
    Arc::new(
        Schema::compile(serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "workspace": {"type": "object", "required": ["id"], "additionalProperties": false, "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "tabSize": {"type": "integer", "minimum": 1, "maximum": 16, "default": 2},
                    "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
                }}
            },
            "properties": {
                "settings": {"type": "object", "default": {}, "properties": {
                    "theme": {"enum": ["light", "dark", "auto"], "default": "auto"},
                    "fontSize": {"type": "number", "minimum": 6},
                    "email": {"type": "string", "format": "email"}
                }},
                "workspaces": {"type": "array", "items": {"$ref": "#/$defs/workspace"}, "maxItems": 5, "default": []},
                "either": {"oneOf": [{"type": "string"}, {"type": "object", "required": ["x"]}]},
                "limits": {"type": "object", "maxProperties": 2, "propertyNames": {"pattern": "^[a-z]+$"},
                    "additionalProperties": {"type": "integer"}}
            }
        }))
        .unwrap(),
    )
}

fn schema_options(fs: &SimFs) -> EngineOptions {
    let mut opts = options(fs);
    opts.schema = Some(tad_like_schema());
    opts
}

#[test]
fn schema_defaults_apply_at_open_and_violations_are_refused() {
    let fs = SimFs::new();
    let engine = Engine::open(schema_options(&fs)).unwrap();
    assert_eq!(
        engine.store_json().unwrap(),
        r#"{"settings":{"theme":"auto"},"workspaces":[]}"#
    );
    let before = engine.store_json().unwrap();
    let err = engine
        .set(&p("settings.theme"), j(r#""blue""#))
        .unwrap_err();
    assert_eq!(err.code(), "SCHEMA_VIOLATION");
    let StoreError::SchemaViolation { violations, .. } = &err else {
        panic!()
    };
    assert_eq!(violations[0].key, "settings.theme");
    assert_eq!(violations[0].instance_path, "/settings/theme");
    assert_eq!(violations[0].keyword, "enum");
    assert!(
        !err.to_string().contains("blue"),
        "messages do not quote values: {err}"
    );
    assert_eq!(engine.store_json().unwrap(), before, "nothing changed");
    let err = engine
        .set(&p("settings.email"), j(r#""not-an-email""#))
        .unwrap_err();
    assert_eq!(err.code(), "SCHEMA_VIOLATION", "formats are checked");
    engine
        .set(&p("settings.email"), j(r#""ada@example.com""#))
        .unwrap();
    // A deleted key with a default comes back.
    engine.delete(&p("settings.theme")).unwrap();
    assert_eq!(
        engine.get_json(&p("settings.theme")).unwrap().as_deref(),
        Some(r#""auto""#)
    );
    // Array items get their defaults; item constraints hold.
    engine.append(&p("workspaces"), j(r#"{"id":"a"}"#)).unwrap();
    assert_eq!(
        engine
            .get_json(&p("workspaces[0].tabSize"))
            .unwrap()
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        engine
            .append(&p("workspaces"), j(r#"{"id":""}"#))
            .unwrap_err()
            .code(),
        "SCHEMA_VIOLATION"
    );
    assert_eq!(
        engine.delete(&p("workspaces[0].id")).unwrap_err().code(),
        "SCHEMA_VIOLATION",
        "required"
    );
    assert_eq!(
        engine
            .set(&p("workspaces[0].extra"), j("1"))
            .unwrap_err()
            .code(),
        "SCHEMA_VIOLATION",
        "additionalProperties"
    );
}

/// Scoped validation must agree with validating the whole document: from each of several
/// valid documents, every (operation, key, value) below is accepted exactly when the
/// whole resulting document is valid.
#[test]
fn scoped_validation_agrees_with_whole_document_validation() {
    let schema = tad_like_schema();
    let bases = [
        r#"{}"#,
        r#"{"workspaces":[{"id":"w","tags":["t"]}]}"#,
        r#"{"workspaces":[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"},{"id":"e"}]}"#,
        r#"{"limits":{"a":1},"either":"x"}"#,
        r#"{"limits":{"a":1,"b":2},"either":{"x":1}}"#,
    ];
    let keys = [
        "settings",
        "settings.theme",
        "settings.fontSize",
        "settings.email",
        "settings.other",
        "workspaces",
        "workspaces[0]",
        "workspaces[0].id",
        "workspaces[0].tabSize",
        "workspaces[0].tags",
        "workspaces[0].tags[0]",
        "workspaces[0].tags[1]",
        "workspaces[1]",
        "workspaces[5]",
        "either",
        "either.x",
        "either.y",
        "limits",
        "limits.a",
        "limits.b",
        "limits.c",
        "limits.B",
        "free",
        "free.deep",
    ];
    let values = [
        "1",
        "0",
        "20",
        r#""dark""#,
        r#""blue""#,
        r#""a@b.co""#,
        r#""t""#,
        "null",
        "true",
        "[]",
        r#"["t"]"#,
        r#"["t","t"]"#,
        "{}",
        r#"{"id":"w"}"#,
        r#"{"id":"w","tabSize":40}"#,
        r#"{"x":1}"#,
        r#"{"theme":"light"}"#,
    ];
    let (mut accepted, mut refused) = (0, 0);
    for base in bases {
        let fs = SimFs::from_image(&Image::from([(
            PathBuf::from(STORE),
            base.as_bytes().to_vec(),
        )]));
        let engine = Engine::open(schema_options(&fs)).unwrap();
        let start = Node::from_json(&engine.store_json().unwrap()).unwrap();
        assert!(
            schema.validate_document(&start).is_empty(),
            "base {base} is valid"
        );
        for key in keys.map(p) {
            for value in values.map(j) {
                for op in 0..3 {
                    let mut expected = start.clone();
                    let applies = match op {
                        0 => expected.set(&key, value.clone()).is_ok(),
                        1 => {
                            expected.delete(&key);
                            true
                        }
                        _ => expected.append(&key, value.clone()).is_ok(),
                    };
                    engine.begin(true).unwrap();
                    let result = match op {
                        0 => engine.set(&key, value.clone()),
                        1 => engine.delete(&key),
                        _ => engine.append(&key, value.clone()),
                    };
                    engine.rollback();
                    if !applies {
                        assert!(result.is_err());
                        continue;
                    }
                    // Defaults the change removed come back before validation.
                    let fill = Defaults::new(vec![], Some(schema.clone()))
                        .unwrap()
                        .fill(&expected.clone(), &key);
                    for (k, v) in fill {
                        expected.set(&k, v).unwrap();
                    }
                    let whole = schema.validate_document(&expected);
                    match (&result, whole.is_empty()) {
                        (Ok(_), true) => accepted += 1,
                        (Err(StoreError::SchemaViolation { .. }), false) => refused += 1,
                        (other, valid) => panic!("{base}: op {op} at {key} = {value:?}: engine {other:?}, whole valid: {valid} {whole:?}"),
                    }
                }
            }
        }
    }
    assert!(
        accepted > 1000 && refused > 1000,
        "accepted {accepted}, refused {refused}"
    );
}

#[test]
fn an_invalid_file_is_refused_untouched_or_moved_aside() {
    let bad = br#"{"settings":{"theme":"purple"}}"#.to_vec();
    let fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), bad.clone())]));
    let err = Engine::open(schema_options(&fs)).err().unwrap();
    assert_eq!(err.code(), "SCHEMA_VIOLATION");
    assert_eq!(err.file(), Some(Path::new(STORE)));
    let mut image = fs.image();
    image.remove(&StoreFiles::of(Path::new(STORE)).lock());
    assert_eq!(
        image,
        Image::from([(PathBuf::from(STORE), bad.clone())]),
        "nothing written but the lock file"
    );

    let mut opts = schema_options(&fs);
    opts.clear_invalid_config = true;
    let mut engine = Engine::open(opts).unwrap();
    let aside = engine.report().quarantined.clone().unwrap();
    assert!(aside.to_string_lossy().contains("config.json.invalid-"));
    assert_eq!(fs.image()[&aside], bad);
    assert_eq!(
        engine.get_json(&p("settings.theme")).unwrap().as_deref(),
        Some(r#""auto""#)
    );
    engine.close_blocking().unwrap();
    let reopened = Engine::open(schema_options(&fs)).unwrap();
    assert_eq!(
        reopened.get_json(&p("settings.theme")).unwrap().as_deref(),
        Some(r#""auto""#)
    );
}

#[test]
fn a_rolled_back_transaction_never_reaches_the_disk() {
    let original = b"{\n\t\"v\": 1\n}".to_vec();
    let fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), original.clone())]));
    let mut opts = options(&fs);
    opts.defer_settle = true;
    let mut engine = Engine::open(opts).unwrap();
    engine.set(&p("v"), j("2")).unwrap();
    engine
        .set_internal(&p("__internal__.migrations.version"), j(r#""2.0.0""#))
        .unwrap();
    let backup = engine.write_backup("config-1.0.0-to-2.0.0-1.json").unwrap();
    assert_eq!(
        backup,
        PathBuf::from("/app/backups/config-1.0.0-to-2.0.0-1.json")
    );
    std::thread::sleep(Duration::from_millis(20));
    engine.rollback();
    engine.settle(true).unwrap();
    engine.commit();
    assert_eq!(engine.get_json(&p("v")).unwrap().as_deref(), Some("1"));
    engine.close_blocking().unwrap();
    let image = fs.image();
    assert_eq!(image[&PathBuf::from(STORE)], original, "byte-identical");
    assert!(
        Node::from_json(std::str::from_utf8(&image[&backup]).unwrap()).is_ok(),
        "the backup parses"
    );
}

// ----- history --------------------------------------------------------------------------

/// Forces a checkpoint and returns the timestamp the current state was recorded under,
/// with the snapshot bytes recorded.
fn record(engine: &Engine, fs: &SimFs) -> (String, Vec<u8>) {
    let Ok(report) = engine.verify_history_blocking() else {
        panic!("verify failed");
    };
    assert_eq!(report.broken_at, None, "{report:?}");
    let newest = engine
        .list_history()
        .unwrap()
        .into_iter()
        .next()
        .expect("an entry");
    (newest.timestamp, store_file(fs).unwrap())
}

/// After random sets, deletes, clears and rollbacks, rolling back to any recorded
/// timestamp reproduces exactly the document recorded then.
#[test]
fn rollback_reproduces_every_recorded_state() {
    let fs = SimFs::new();
    let engine = open(&fs);
    let mut recorded: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seed: u64 = 42;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..60 {
        for _ in 0..(next() % 4 + 1) {
            let key = p(["a", "b.c", "b.d", "list", "z"][(next() % 5) as usize]);
            match next() % 10 {
                0 => {
                    engine.clear().unwrap();
                }
                1..=2 => {
                    engine.delete(&key).unwrap();
                }
                _ => {
                    engine
                        .set(
                            &key,
                            j(&format!("{{\"round\":{round},\"v\":{}}}", next() % 100)),
                        )
                        .unwrap();
                }
            }
        }
        if round % 7 == 6 && !recorded.is_empty() {
            // Roll back to a random earlier state; that is itself a recorded change.
            let (ts, bytes) = recorded[(next() % recorded.len() as u64) as usize].clone();
            let Ok(state) = engine.state_at_blocking(&ts) else {
                panic!("round {round}: no state at {ts}");
            };
            assert_eq!(state, bytes, "round {round}: the state at {ts}");
            engine
                .restore(Node::from_json(std::str::from_utf8(&state).unwrap()).unwrap())
                .unwrap();
        }
        recorded.push(record(&engine, &fs));
    }
    for (ts, bytes) in &recorded {
        let Ok(state) = engine.state_at_blocking(ts) else {
            panic!("no state at {ts}");
        };
        assert_eq!(&state, bytes, "the state at {ts}");
    }
    let timestamps: Vec<_> = engine
        .list_history()
        .unwrap()
        .into_iter()
        .map(|e| e.timestamp)
        .collect();
    let mut sorted = timestamps.clone();
    sorted.sort();
    sorted.dedup();
    sorted.reverse();
    assert_eq!(timestamps, sorted, "unique, newest first");
}

#[test]
fn a_damaged_entry_ends_the_chain_and_is_reported() {
    let fs = SimFs::new();
    let engine = open(&fs);
    let mut recorded = Vec::new();
    for n in 0..5 {
        engine.set(&p("n"), j(&n.to_string())).unwrap();
        recorded.push(record(&engine, &fs));
    }
    // Damage the entry of the third state.
    let victim = engine
        .list_history()
        .unwrap()
        .into_iter()
        .find(|e| e.timestamp == recorded[2].0)
        .unwrap();
    let bytes = fs.read(&victim.file).unwrap();
    let mut file = fs.create(&victim.file, 0o600).unwrap();
    file.write_all(&bytes[..bytes.len() / 2]).unwrap();
    let Ok(report) = engine.verify_history_blocking() else {
        panic!()
    };
    assert_eq!(report.broken_at.as_deref(), Some(recorded[2].0.as_str()));
    assert_eq!(report.verified, 2);
    // Newer states are still reachable; older ones are not, and nothing changes.
    let Ok(state) = engine.state_at_blocking(&recorded[3].0) else {
        panic!()
    };
    assert_eq!(state, recorded[3].1);
    let err = engine.state_at_blocking(&recorded[1].0).err().unwrap();
    assert_eq!(err.code(), "HISTORY_CORRUPT");
    assert_eq!(engine.get_json(&p("n")).unwrap().as_deref(), Some("4"));
    let err = engine
        .state_at_blocking("2001-01-01T00:00:00.000Z")
        .err()
        .unwrap();
    assert_eq!(err.code(), "HISTORY_NOT_FOUND");
}

#[test]
fn pruning_keeps_every_kept_entry_reachable() {
    let fs = SimFs::new();
    let mut opts = options(&fs);
    opts.history = Some(history::HistoryPolicy {
        max_entries: 5,
        ..history::HistoryPolicy::default()
    });
    let engine = Engine::open(opts).unwrap();
    let mut recorded = Vec::new();
    for n in 0..12 {
        engine.set(&p("n"), j(&n.to_string())).unwrap();
        recorded.push(record(&engine, &fs));
    }
    let kept = engine.list_history().unwrap();
    assert_eq!(kept.len(), 5);
    for (ts, bytes) in &recorded[7..] {
        let Ok(state) = engine.state_at_blocking(ts) else {
            panic!("{ts}")
        };
        assert_eq!(&state, bytes);
    }
}

#[test]
fn history_can_be_turned_off() {
    let fs = SimFs::new();
    let mut opts = options(&fs);
    opts.history = None;
    let mut engine = Engine::open(opts).unwrap();
    engine.set(&p("a"), j("1")).unwrap();
    engine.close_blocking().unwrap();
    assert!(fs
        .image()
        .keys()
        .all(|k| !k.to_string_lossy().contains("storeHistory")));
}

/// Where an entry is missing, a migration backup of exactly the state it would give
/// bridges the gap, so older states stay reachable.
#[test]
fn a_backup_bridges_a_gap_in_the_chain() {
    let fs = SimFs::new();
    let engine = open(&fs);
    let mut recorded = Vec::new();
    for n in 0..4 {
        engine.set(&p("n"), j(&n.to_string())).unwrap();
        recorded.push(record(&engine, &fs));
        if n == 1 {
            engine
                .write_backup("config-1.0.0-to-2.0.0-2020-01-01T00-00-00-000Z.json")
                .unwrap();
        }
    }
    let gap = engine
        .list_history()
        .unwrap()
        .into_iter()
        .find(|e| e.timestamp == recorded[2].0)
        .unwrap();
    fs.remove(&gap.file).unwrap();
    let Ok(state) = engine.state_at_blocking(&recorded[0].0) else {
        panic!("the backup should bridge the gap");
    };
    assert_eq!(state, recorded[0].1);
    let listed = engine.list_history().unwrap();
    assert!(
        listed
            .iter()
            .any(|e| e.kind == history::EntryKind::Backup
                && e.timestamp == "2020-01-01T00:00:00.000Z")
    );
}

#[test]
fn one_writer_at_a_time_and_readers_never_write() {
    let fs = SimFs::from_image(&Image::from([(
        PathBuf::from(STORE),
        br#"{"a":1}"#.to_vec(),
    )]));
    let mut writer = open(&fs);
    let err = Engine::open(options(&fs)).err().unwrap();
    assert_eq!(err.code(), "LOCKED");
    let mut opts = options(&fs);
    opts.read_only = true;
    opts.defaults = vec![(p("b"), j("2"))];
    let mut reader = Engine::open(opts).unwrap();
    assert_eq!(reader.get_json(&p("a")).unwrap().as_deref(), Some("1"));
    assert_eq!(
        reader.get_json(&p("b")).unwrap().as_deref(),
        Some("2"),
        "defaults show in memory"
    );
    assert_eq!(reader.set(&p("a"), j("5")).unwrap_err().code(), "READ_ONLY");
    let before = fs.op_count();
    reader.close_blocking().unwrap();
    assert_eq!(
        fs.op_count(),
        before,
        "a reader writes nothing, even on close"
    );
    writer.close_blocking().unwrap();
    assert!(
        Engine::open(options(&fs)).is_ok(),
        "closing released the lock"
    );
}

/// The corrupt-input corpus: every input has a defined outcome, no panic, nothing lost.
#[test]
fn corrupt_inputs_have_defined_outcomes() {
    let good = br#"{"settings":{"theme":"dark","list":[1,2,3]},"name":"x"}"#.to_vec();
    let deep_ok = format!("{{\"a\":{}1{}}}", "[".repeat(110), "]".repeat(110));
    let too_deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let mut cases: Vec<(String, Vec<u8>, Option<&str>)> = vec![
        ("empty".into(), b"".to_vec(), Some("CORRUPT_FILE")),
        ("NUL blocks".into(), vec![0u8; 4096], Some("CORRUPT_FILE")),
        (
            "trailing garbage".into(),
            [&good[..], b"}}garbage"].concat(),
            Some("CORRUPT_FILE"),
        ),
        (
            "invalid UTF-8".into(),
            b"{\"a\":\"\xff\xfe\"}".to_vec(),
            Some("CORRUPT_FILE"),
        ),
        (
            "BOM".into(),
            [&b"\xEF\xBB\xBF"[..], &good[..]].concat(),
            None,
        ),
        (
            "lone surrogate".into(),
            br#"{"a":"\ud800"}"#.to_vec(),
            Some("CORRUPT_FILE"),
        ),
        (
            "nesting past the parser's limit".into(),
            too_deep.into_bytes(),
            Some("CORRUPT_FILE"),
        ),
        ("deep but loadable".into(), deep_ok.into_bytes(), None),
        (
            "a __proto__ key".into(),
            br#"{"__proto__":{"polluted":true},"a":1}"#.to_vec(),
            None,
        ),
        (
            "not an object".into(),
            b"\"just a string\"".to_vec(),
            Some("CORRUPT_FILE"),
        ),
    ];
    for cut in 0..good.len() {
        cases.push((
            format!("truncated at {cut}"),
            good[..cut].to_vec(),
            Some("CORRUPT_FILE"),
        ));
    }
    for (name, bytes, expected) in cases {
        let fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), bytes.clone())]));
        match (Engine::open(options(&fs)), expected) {
            (Ok(engine), None) => {
                assert!(engine.store_json().is_ok(), "{name}");
            }
            (Err(err), Some(code)) => {
                assert_eq!(err.code(), code, "{name}");
                assert_eq!(
                    fs.image()[&PathBuf::from(STORE)],
                    bytes,
                    "{name}: the file is untouched"
                );
                // With clearInvalidConfig it is moved aside, never lost, and the store opens.
                let mut opts = options(&fs);
                opts.clear_invalid_config = true;
                let engine = Engine::open(opts).unwrap_or_else(|e| panic!("{name}: {e}"));
                let aside = engine.report().quarantined.clone().expect("moved aside");
                assert_eq!(fs.image()[&aside], bytes, "{name}: kept byte for byte");
            }
            (Ok(_), Some(code)) => panic!("{name}: opened, expected {code}"),
            (Err(err), None) => panic!("{name}: refused with {err}"),
        }
    }
    // A `__proto__` key in the file stays data: readable through its parent, never a path.
    let fs = SimFs::from_image(&Image::from([(
        PathBuf::from(STORE),
        br#"{"__proto__":{"x":1},"a":1}"#.to_vec(),
    )]));
    let engine = open(&fs);
    assert_eq!(
        engine.store_json().unwrap(),
        r#"{"__proto__":{"x":1},"a":1}"#
    );
    assert_eq!(
        KeyPath::parse("__proto__.x").unwrap_err().code(),
        "INVALID_KEY"
    );
}

#[test]
fn an_unreadable_file_is_restored_from_the_newest_backup_that_reads() {
    let backups = PathBuf::from("/app/backups");
    let fs = SimFs::from_image(&Image::from([
        (PathBuf::from(STORE), b"{\"half".to_vec()),
        (
            backups.join("config-1.0.0-to-2.0.0-2026-01-01T00-00-00-000Z.json"),
            br#"{"v":"older"}"#.to_vec(),
        ),
        (
            backups.join("config-2.0.0-to-3.0.0-2026-02-01T00-00-00-000Z.json"),
            br#"{"v":"newer"}"#.to_vec(),
        ),
        (
            backups.join("config-3.0.0-to-4.0.0-2026-03-01T00-00-00-000Z.json"),
            b"not json".to_vec(),
        ),
    ]));
    let mut engine = open(&fs);
    assert_eq!(
        engine.get_json(&p("v")).unwrap().as_deref(),
        Some(r#""newer""#)
    );
    let report = engine.report().clone();
    assert!(report
        .restored_from
        .unwrap()
        .to_string_lossy()
        .contains("2026-02-01"));
    let aside = report.quarantined.unwrap();
    assert_eq!(fs.image()[&aside], b"{\"half", "the bad file is kept");
    engine.close_blocking().unwrap();
    assert_eq!(
        Node::from_json(std::str::from_utf8(&fs.image()[&PathBuf::from(STORE)]).unwrap()).unwrap(),
        j(r#"{"v":"newer"}"#)
    );
}

#[test]
fn a_file_failing_the_schema_is_restored_from_a_backup_that_passes() {
    let backups = PathBuf::from("/app/backups");
    let fs = SimFs::from_image(&Image::from([
        (
            PathBuf::from(STORE),
            br#"{"settings":{"theme":"purple"}}"#.to_vec(),
        ),
        (
            backups.join("config-1.0.0-to-2.0.0-2026-01-01T00-00-00-000Z.json"),
            br#"{"settings":{"theme":"dark"}}"#.to_vec(),
        ),
        (
            backups.join("config-2.0.0-to-3.0.0-2026-02-01T00-00-00-000Z.json"),
            br#"{"settings":{"theme":"also purple"}}"#.to_vec(),
        ),
    ]));
    let engine = Engine::open(schema_options(&fs)).unwrap();
    assert_eq!(
        engine.get_json(&p("settings.theme")).unwrap().as_deref(),
        Some(r#""dark""#)
    );
    let report = engine.report();
    assert!(report
        .restored_from
        .as_ref()
        .unwrap()
        .to_string_lossy()
        .contains("2026-01-01"));
    assert!(report
        .quarantined
        .as_ref()
        .unwrap()
        .to_string_lossy()
        .contains("config.json.invalid-"));
}

#[test]
fn a_damaged_file_is_restored_to_the_previous_snapshot_history_kept() {
    let fs = SimFs::new();
    let mut engine = open(&fs);
    engine.set(&p("v"), j("1")).unwrap();
    let (_, first) = record(&engine, &fs);
    engine.set(&p("v"), j("2")).unwrap();
    record(&engine, &fs);
    engine.close_blocking().unwrap();
    let mut image = fs.image();
    image.insert(PathBuf::from(STORE), b"{\"v\": 2, \"da".to_vec());
    let damaged = SimFs::from_image(&image);
    let reopened = open(&damaged);
    let base = StoreFiles::of(Path::new(STORE)).history_base();
    assert_eq!(
        reopened.report().restored_from.as_deref(),
        Some(base.as_path())
    );
    assert_eq!(
        reopened.store_json().unwrap(),
        Node::from_json(std::str::from_utf8(&first).unwrap())
            .unwrap()
            .to_json()
    );
    // Damaged history (the base no longer matches its hash) proves nothing: refused.
    let mut image = fs.image();
    image.insert(PathBuf::from(STORE), b"garbage".to_vec());
    image.insert(base.clone(), b"{\"v\": 99}".to_vec());
    assert_eq!(
        Engine::open(options(&SimFs::from_image(&image)))
            .err()
            .unwrap()
            .code(),
        "CORRUPT_FILE"
    );
}

// ----- secrets ---------------------------------------------------------------------------

fn secret_options(fs: &SimFs, keys: keys::KeySource) -> EngineOptions {
    let mut opts = options(fs);
    opts.sensitive_keys = vec![
        secrets::Pattern::parse("ai.apiKey").unwrap(),
        secrets::Pattern::parse("auth").unwrap(),
    ];
    opts.key_source = Some(keys);
    opts
}

/// Every file of the image, as one byte string per file.
fn all_files(fs: &SimFs) -> Vec<(PathBuf, Vec<u8>)> {
    fs.image().into_iter().collect()
}

fn assert_nowhere(fs: &SimFs, canary: &str) {
    for (path, bytes) in all_files(fs) {
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{} holds the plaintext",
            path.display()
        );
    }
}

#[test]
fn secrets_are_sealed_in_every_file_and_read_back_in_plaintext() {
    let fs = SimFs::new();
    let key = crypto::DataKey::generate().unwrap();
    let supplied = keys::KeySource::Supplied(vec![key.clone()]);
    let mut engine = Engine::open(secret_options(&fs, supplied.clone())).unwrap();
    engine
        .set(&p("ai"), j(r#"{"apiKey":"sk-canary-1","model":"m"}"#))
        .unwrap();
    engine
        .set(&p("auth.token"), j(r#""tok-canary-2""#))
        .unwrap();
    engine.flush_blocking().unwrap();
    assert_nowhere(&fs, "sk-canary-1"); // the journal
    engine.set(&p("theme"), j(r#""dark""#)).unwrap();
    engine.close_blocking().unwrap(); // the snapshot and a history entry
    assert_nowhere(&fs, "sk-canary-1");
    assert_nowhere(&fs, "tok-canary-2");
    let engine = Engine::open(secret_options(&fs, supplied)).unwrap();
    assert_eq!(
        engine.get_json(&p("ai.apiKey")).unwrap().as_deref(),
        Some(r#""sk-canary-1""#)
    );
    assert_eq!(
        engine.get_json(&p("auth")).unwrap().as_deref(),
        Some(r#"{"token":"tok-canary-2"}"#)
    );
    assert!(engine.has(&p("auth.token")).unwrap());
    assert!(!engine.store_json().unwrap().contains("enc:v1:"));
}

#[test]
fn wrong_missing_tampered_and_plaintext_secrets_fail_distinctly() {
    let fs = SimFs::new();
    let key = crypto::DataKey::generate().unwrap();
    let mut engine = Engine::open(secret_options(
        &fs,
        keys::KeySource::Supplied(vec![key.clone()]),
    ))
    .unwrap();
    engine.set(&p("ai.apiKey"), j(r#""sk-1""#)).unwrap();
    engine.close_blocking().unwrap();
    let code_of = |source: keys::KeySource, fs: &SimFs| {
        let mut engine = Engine::open(secret_options(fs, source)).unwrap();
        let code = engine.get_json(&p("ai.apiKey")).unwrap_err().code();
        // The rest of the store still reads.
        assert!(engine.get_json(&p("theme")).is_ok());
        engine.close_blocking().unwrap();
        code
    };
    let other = crypto::DataKey::generate().unwrap();
    assert_eq!(
        code_of(keys::KeySource::Supplied(vec![other]), &fs),
        "DECRYPT_FAILED"
    );
    assert_eq!(
        code_of(keys::KeySource::Supplied(vec![]), &fs),
        "KEY_NOT_FOUND"
    );
    let text = String::from_utf8(store_file(&fs).unwrap()).unwrap();
    let at = text.find("enc:v1:").unwrap() + 30;
    let mut tampered = text.clone().into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered_fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), tampered)]));
    let source = keys::KeySource::Supplied(vec![key.clone()]);
    assert_eq!(code_of(source.clone(), &tampered_fs), "SECRET_TAMPERED");
    let start = text.find("\"enc:v1:").unwrap();
    let end = start + 1 + text[start + 1..].find('"').unwrap();
    let plain = format!("{}\"sk-injected{}", &text[..start], &text[end..]);
    let plain_fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), plain.into_bytes())]));
    assert_eq!(code_of(source.clone(), &plain_fs), "SECRET_NOT_ENCRYPTED");
    // Setting it again replaces a value that cannot be read.
    let mut engine = Engine::open(secret_options(&tampered_fs, source)).unwrap();
    engine.set(&p("ai.apiKey"), j(r#""sk-2""#)).unwrap();
    assert_eq!(
        engine.get_json(&p("ai.apiKey")).unwrap().as_deref(),
        Some(r#""sk-2""#)
    );
    engine.close_blocking().unwrap();
}

#[test]
fn plaintext_secrets_are_sealed_at_open_only_when_asked() {
    let legacy = br#"{"ai":{"apiKey":"sk-legacy"},"theme":"x"}"#.to_vec();
    let fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), legacy.clone())]));
    // Earlier states hold it too: a history entry and a migration backup.
    let mut engine = open(&fs);
    engine.set(&p("theme"), j(r#""y""#)).unwrap();
    engine
        .write_backup("config-1.0.0-to-2.0.0-2026-01-01T00-00-00-000Z.json")
        .unwrap();
    engine.close_blocking().unwrap();
    let source = keys::KeySource::Supplied(vec![crypto::DataKey::generate().unwrap()]);
    let mut opts = secret_options(&fs, source.clone());
    opts.seal_plaintext = true;
    let mut engine = Engine::open(opts).unwrap();
    assert_eq!(engine.report().sealed, vec!["ai.apiKey".to_string()]);
    assert_eq!(
        engine.get_json(&p("ai.apiKey")).unwrap().as_deref(),
        Some(r#""sk-legacy""#)
    );
    engine.close_blocking().unwrap();
    assert_nowhere(&fs, "sk-legacy\"");
}

#[test]
fn the_keyring_keeps_one_key_per_store_and_without_it_the_store_opens_without_its_secrets() {
    let fs = SimFs::new();
    let keyring = Arc::new(keys::KeyringStore::new(keys::KeyringBackend::Mock));
    let source = keys::KeySource::Stored(keyring.clone());
    let mut engine = Engine::open(secret_options(&fs, source.clone())).unwrap();
    engine.set(&p("ai.apiKey"), j(r#""sk-1""#)).unwrap();
    let id = engine
        .shared
        .lock()
        .secrets
        .as_ref()
        .unwrap()
        .store_id()
        .to_string();
    engine.close_blocking().unwrap();
    assert_eq!(keyring.load(&id).unwrap().unwrap().len(), 1);
    let mut engine = Engine::open(secret_options(&fs, source.clone())).unwrap();
    assert_eq!(
        engine.get_json(&p("ai.apiKey")).unwrap().as_deref(),
        Some(r#""sk-1""#)
    );
    engine.close_blocking().unwrap();
    keyring
        .fail_next(
            &id,
            keyring::Error::PlatformFailure("no Secret Service".into()),
        )
        .unwrap();
    let mut engine = Engine::open(secret_options(&fs, source)).unwrap();
    let (code, reason) = engine.report().keys_unavailable.clone().unwrap();
    assert_eq!(code, "KEYRING_UNAVAILABLE");
    assert!(
        reason.contains("keyProvider"),
        "it says how to supply a key"
    );
    assert_eq!(
        engine.get_json(&p("ai.apiKey")).unwrap_err().code(),
        "KEYRING_UNAVAILABLE"
    );
    engine.set(&p("theme"), j(r#""dark""#)).unwrap();
    engine.close_blocking().unwrap();
}

#[test]
fn x_sensitive_in_the_schema_marks_keys_and_envelopes_pass_validation() {
    let fs = SimFs::new();
    let schema = Schema::compile(serde_json::json!({
        "type": "object",
        "properties": {
            "ai": {"type": "object", "properties": {
                "apiKey": {"type": "string", "minLength": 3, "x-sensitive": true}
            }},
            "spaces": {"type": "array", "items": {"type": "object", "properties": {
                "token": {"type": "string", "x-sensitive": true}
            }}}
        }
    }))
    .unwrap();
    let texts: Vec<String> = schema
        .sensitive_patterns()
        .iter()
        .map(|p| p.text())
        .collect();
    assert_eq!(texts, ["ai.apiKey", "spaces.*.token"]);
    let mut opts = options(&fs);
    opts.schema = Some(Arc::new(schema));
    opts.key_source = Some(keys::KeySource::Supplied(vec![
        crypto::DataKey::generate().unwrap()
    ]));
    let mut engine = Engine::open(opts).unwrap();
    // The plaintext is validated before it is sealed.
    let err = engine.set(&p("ai.apiKey"), j(r#""x""#)).unwrap_err();
    assert_eq!(err.code(), "SCHEMA_VIOLATION");
    engine.set(&p("ai.apiKey"), j(r#""sk-long""#)).unwrap();
    engine
        .set(&p("spaces"), j(r#"[{"token":"t-canary"},{"token":"u"}]"#))
        .unwrap();
    assert!(!engine.shared.lock().doc.to_json().contains("t-canary"));
    assert_eq!(
        engine.get_json(&p("spaces[0].token")).unwrap().as_deref(),
        Some(r#""t-canary""#)
    );
    engine.close_blocking().unwrap();
}

/// Key rings as they were saved, with the simulated disk's operation count at the time:
/// the key store's state at any crash point.
struct LoggedKeys {
    fs: SimFs,
    log: Mutex<Vec<(usize, String, Vec<crypto::DataKey>)>>,
}

impl keys::KeyStore for LoggedKeys {
    fn load(&self, account: &str) -> Result<Option<Vec<crypto::DataKey>>> {
        let log = self.log.lock().unwrap();
        Ok(log
            .iter()
            .rev()
            .find(|e| e.1 == account)
            .map(|e| e.2.clone()))
    }
    fn save(&self, account: &str, keys: &[crypto::DataKey]) -> Result<()> {
        let at = self.fs.op_count();
        self.log
            .lock()
            .unwrap()
            .push((at, account.to_string(), keys.to_vec()));
        Ok(())
    }
}

#[test]
fn a_key_rotation_is_crash_safe_at_every_point() {
    let fs = SimFs::new();
    let logged = Arc::new(LoggedKeys {
        fs: fs.clone(),
        log: Mutex::new(Vec::new()),
    });
    let opts = secret_options(&fs, keys::KeySource::Stored(logged.clone()));
    let mut engine = Engine::open(opts).unwrap();
    engine.set(&p("ai.apiKey"), j(r#""sk-rotate""#)).unwrap();
    engine.set(&p("auth"), j(r#"{"token":"tok"}"#)).unwrap();
    engine.flush_blocking().unwrap();
    engine.close_blocking().unwrap();
    let acked = fs.op_count();
    let mut engine =
        Engine::open(secret_options(&fs, keys::KeySource::Stored(logged.clone()))).unwrap();
    let old_id = engine.shared.lock().secrets.as_ref().unwrap().keys()[0]
        .id()
        .to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    engine.rotate_key(None, Box::new(move |r| tx.send(r).unwrap()));
    rx.recv().unwrap().unwrap();
    let new_id = engine.shared.lock().secrets.as_ref().unwrap().keys()[0]
        .id()
        .to_string();
    assert_ne!(old_id, new_id);
    assert_eq!(
        engine.shared.lock().secrets.as_ref().unwrap().keys().len(),
        1
    );
    engine.close_blocking().unwrap();
    let text = String::from_utf8(store_file(&fs).unwrap()).unwrap();
    assert!(text.contains(&new_id) && !text.contains(&old_id));
    let log = logged.log.lock().unwrap().clone();
    let total = fs.op_count();
    let mut checked = 0;
    for point in acked..=total {
        let saved: Vec<_> = log.iter().filter(|e| e.0 <= point).cloned().collect();
        for (mode, image) in crash_images(&fs, point) {
            let keys_then = Arc::new(LoggedKeys {
                fs: SimFs::new(),
                log: Mutex::new(saved.clone()),
            });
            let sim = SimFs::from_image(&image);
            let reopened = Engine::open(secret_options(
                &sim,
                keys::KeySource::Stored(keys_then.clone()),
            ))
            .unwrap_or_else(|e| panic!("point {point} {mode}: {e}"));
            assert_eq!(
                reopened.get_json(&p("ai.apiKey")).unwrap().as_deref(),
                Some(r#""sk-rotate""#),
                "point {point} {mode}"
            );
            assert_eq!(
                reopened.get_json(&p("auth.token")).unwrap().as_deref(),
                Some(r#""tok""#),
                "point {point} {mode}"
            );
            // Opening finished any rotation left half done: one key, everything under it.
            let st = reopened.shared.lock();
            let secrets = st.secrets.as_ref().unwrap();
            assert_eq!(secrets.keys().len(), 1, "point {point} {mode}");
            assert!(secrets.reseal_all(&st.doc).unwrap().is_empty());
            drop(st);
            let last = keys_then.log.lock().unwrap().last().unwrap().2.len();
            assert_eq!(last, 1, "point {point} {mode}: the key store keeps one key");
            checked += 1;
        }
    }
    assert!(checked > 50, "enumerated {checked} crash states");
}

#[test]
fn a_lost_stored_key_is_key_not_found_and_new_secrets_still_work() {
    let fs = SimFs::new();
    let first = Arc::new(keys::MemoryKeyStore::default());
    let mut engine =
        Engine::open(secret_options(&fs, keys::KeySource::Stored(first.clone()))).unwrap();
    engine.set(&p("ai.apiKey"), j(r#""sk-1""#)).unwrap();
    engine.close_blocking().unwrap();
    assert!(first.single_account().is_some());
    // The keyring entry is gone (another machine, a wiped keyring): a new key is made for
    // new secrets, and the old ones say their key is missing.
    let lost = Arc::new(keys::MemoryKeyStore::default());
    let mut engine =
        Engine::open(secret_options(&fs, keys::KeySource::Stored(lost.clone()))).unwrap();
    let err = engine.get_json(&p("ai.apiKey")).unwrap_err();
    assert_eq!(err.code(), "KEY_NOT_FOUND");
    engine.set(&p("auth"), j(r#"{"token":"t"}"#)).unwrap();
    assert_eq!(
        engine.get_json(&p("auth.token")).unwrap().as_deref(),
        Some(r#""t""#)
    );
    engine.close_blocking().unwrap();
    assert_eq!(lost.ring_len(&lost.single_account().unwrap()), 1);
}

#[test]
fn a_store_cleared_to_its_defaults_keeps_its_id_and_seals_sensitive_defaults() {
    let fs = SimFs::new();
    let schema = Arc::new(
        Schema::compile(serde_json::json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer"},
                "apiKey": {"type": "string", "default": "sk-default", "x-sensitive": true}
            }
        }))
        .unwrap(),
    );
    let key = keys::KeySource::Supplied(vec![crypto::DataKey::generate().unwrap()]);
    let opts = |fs: &SimFs| {
        let mut opts = options(fs);
        opts.schema = Some(schema.clone());
        opts.key_source = Some(key.clone());
        opts.clear_invalid_config = true;
        opts
    };
    let mut engine = Engine::open(opts(&fs)).unwrap();
    engine.set(&p("apiKey"), j(r#""sk-1""#)).unwrap();
    engine.close_blocking().unwrap();
    // The file now fails the schema: cleared to the defaults, with the same store id.
    let text = String::from_utf8(store_file(&fs).unwrap()).unwrap();
    let invalid = text.replacen('{', r#"{"n": "not a number","#, 1);
    let fs = SimFs::from_image(&Image::from([(PathBuf::from(STORE), invalid.into_bytes())]));
    let mut engine = Engine::open(opts(&fs)).unwrap();
    assert!(engine.report().quarantined.is_some());
    assert_eq!(
        engine.get_json(&p("apiKey")).unwrap().as_deref(),
        Some(r#""sk-default""#)
    );
    assert!(!engine.shared.lock().doc.to_json().contains("sk-default"));
    engine.set(&p("apiKey"), j(r#""sk-2""#)).unwrap();
    engine.close_blocking().unwrap();
    let engine = Engine::open(opts(&fs)).unwrap();
    assert_eq!(
        engine.get_json(&p("apiKey")).unwrap().as_deref(),
        Some(r#""sk-2""#)
    );
}

// ----- writes cost what changed, with every option ------------------------------------------

/// The address of the container at `key`, to tell a write in place from a copy.
fn container_at(engine: &Engine, key: &str) -> *const () {
    match engine.shared.lock().doc.get(&p(key)) {
        Some(Node::Object(map)) => Arc::as_ptr(map) as *const (),
        Some(Node::Array(items)) => Arc::as_ptr(items) as *const (),
        other => panic!("no container at {key}: {other:?}"),
    }
}

#[test]
fn a_set_below_a_wide_object_writes_in_place_with_defaults_and_a_schema() {
    let fs = SimFs::new();
    let mut options = options(&fs);
    options.defaults = vec![(p("zz"), j("1"))];
    options.schema = Some(Arc::new(
        Schema::compile(serde_json::json!({
            "type": "object",
            "properties": { "a": { "type": "number" }, "big": { "type": ["object", "array"] } }
        }))
        .unwrap(),
    ));
    let engine = Engine::open(options).unwrap();
    let wide: serde_json::Map<String, serde_json::Value> = (0..2000)
        .map(|i| (format!("k{i}"), serde_json::json!({ "n": i })))
        .collect();
    engine
        .set(&p("big"), j(&serde_json::Value::Object(wide).to_string()))
        .unwrap();
    engine
        .set(&p("list"), j(&format!("[{}]", vec!["1"; 2000].join(","))))
        .unwrap();
    // The new store's first checkpoint (forced: it fills defaults) holds the document
    // while it writes, and may take it after the sets above: once the file is written
    // and one more write made, nothing but the store holds `big` or `list`.
    write_file(&engine).unwrap();
    engine.set(&p("big.k7.n"), j("0")).unwrap();
    engine.set(&p("list.5"), j("3")).unwrap();
    let (big, list) = (container_at(&engine, "big"), container_at(&engine, "list"));
    for i in 0..10 {
        engine.set(&p("big.k7.n"), j(&i.to_string())).unwrap();
        engine.append(&p("list"), j("2")).unwrap();
        engine.set(&p("list.5"), j("3")).unwrap();
    }
    // The clone-then-apply write this replaces copied both on every call (O(width)).
    assert_eq!(
        container_at(&engine, "big"),
        big,
        "the wide object was not copied"
    );
    assert_eq!(
        container_at(&engine, "list"),
        list,
        "the long array was not copied"
    );
    assert_eq!(
        engine.get_json(&p("big.k7.n")).unwrap().as_deref(),
        Some("9")
    );
    assert_eq!(
        engine.get_json(&p("list.2009")).unwrap().as_deref(),
        Some("2")
    );
}

#[test]
fn a_refused_write_is_taken_back_exactly_key_order_included() {
    let fs = SimFs::new();
    let mut options = options(&fs);
    options.defaults = vec![(p("d"), j("\"default\""))];
    options.schema = Some(Arc::new(
        Schema::compile(serde_json::json!({
            "type": "object",
            "properties": {
                "n": { "type": "number", "maximum": 10 },
                "list": { "type": "array", "maxItems": 3 },
                "o": {
                    "type": "object",
                    "required": ["x", "y"],
                    "properties": { "x": { "type": "number" } }
                }
            }
        }))
        .unwrap(),
    ));
    let engine = Engine::open(options).unwrap();
    engine
        .set_many(vec![
            (p("a"), j("1")),
            (p("b"), j("2")),
            (p("c"), j("3")),
            (p("n"), j("4")),
            (p("list"), j("[1, 2]")),
            (p("o"), j("{\"x\": 1, \"y\": 2, \"z\": 3}")),
        ])
        .unwrap();
    let before = engine.store_json().unwrap();
    let refused = [
        // A required key deleted: put back in its place, not at the end.
        engine.delete(&p("o.x")),
        // The last of several sets fails: the first ones, and the objects they created,
        // are taken back.
        engine.set_many(vec![
            (p("new.deep.key"), j("1")),
            (p("a"), j("5")),
            (p("n"), j("11")),
        ]),
        // An append past maxItems.
        engine
            .append(&p("list"), j("3"))
            .and_then(|_| engine.append(&p("list"), j("4"))),
        // A scalar in the way replaced by an object, then refused below it.
        engine.set(&p("n.x"), j("1")),
        // A default removed and filled back, in a change refused for another reason.
        engine.set_many(vec![(p("d"), j("null")), (p("o.x"), j("\"no\""))]),
    ];
    for outcome in &refused {
        assert_eq!(
            outcome.as_ref().err().map(|e| e.code()),
            Some("SCHEMA_VIOLATION"),
            "{outcome:?}"
        );
    }
    // The append before the refused one stood: take it into account.
    let after = engine.store_json().unwrap();
    assert_eq!(after, before.replace("\"list\":[1,2]", "\"list\":[1,2,3]"));
}

#[test]
fn deletes_from_a_wide_object_keep_the_order_and_a_refused_one_goes_back_in_its_place() {
    let fs = SimFs::new();
    let mut options = options(&fs);
    options.schema = Some(Arc::new(
        Schema::compile(serde_json::json!({
            "type": "object",
            "properties": { "w": { "type": "object", "required": ["k100"] } }
        }))
        .unwrap(),
    ));
    let engine = Engine::open(options).unwrap();
    let mut wide = serde_json::Map::new();
    for i in 0..300 {
        wide.insert(format!("k{i}"), serde_json::json!(i));
    }
    engine
        .set(
            &p("w"),
            j(&serde_json::Value::Object(wide.clone()).to_string()),
        )
        .unwrap();
    // Removals one change at a time: tombstones, compacted as they pile up.
    for i in (0..300).filter(|i| i % 4 != 0 && *i != 100) {
        engine.delete(&p(&format!("w.k{i}"))).unwrap();
        wide.shift_remove(&format!("k{i}"));
        if i == 150 {
            // Refused: the required key goes back where it was, among tombstones.
            let refused = engine.delete(&p("w.k100")).unwrap_err();
            assert_eq!(refused.code(), "SCHEMA_VIOLATION");
            assert_eq!(
                engine.get_json(&p("w")).unwrap().unwrap(),
                serde_json::Value::Object(wide.clone()).to_string()
            );
        }
    }
    // A key deleted and set again goes last, as in JS.
    engine.delete(&p("w.k0")).unwrap();
    engine.set(&p("w.k0"), j("\"again\"")).unwrap();
    wide.shift_remove("k0");
    wide.insert("k0".into(), serde_json::json!("again"));
    let expected = serde_json::Value::Object(wide).to_string();
    assert_eq!(engine.get_json(&p("w")).unwrap().unwrap(), expected);
    // Replayed from the journal after a power loss (deletes applied outside any
    // change, compacted at once): the same.
    let reopened = after_power_loss(&fs, engine);
    assert!(reopened.report().replayed > 200);
    assert_eq!(reopened.get_json(&p("w")).unwrap().unwrap(), expected);
}

#[test]
fn deletes_from_a_large_array_shift_the_rest_and_a_refused_one_goes_back_in_its_place() {
    let fs = SimFs::new();
    let mut options = options(&fs);
    options.schema = Some(Arc::new(
        Schema::compile(serde_json::json!({
            "type": "object",
            "properties": { "list": { "type": "array", "minItems": 5990 } }
        }))
        .unwrap(),
    ));
    let engine = Engine::open(options).unwrap();
    let mut model: Vec<serde_json::Value> = (0..6000).map(|i| serde_json::json!(i)).collect();
    let text = serde_json::Value::Array(model.clone()).to_string();
    engine.set(&p("list"), j(&text)).unwrap();
    for k in 0..10 {
        let at = 1000 + k * 397;
        engine.delete(&p(&format!("list[{at}]"))).unwrap();
        model.remove(at);
    }
    engine.append(&p("list"), j("\"end\"")).unwrap();
    model.push(serde_json::json!("end"));
    let expected = serde_json::Value::Array(model).to_string();
    assert_eq!(engine.get_json(&p("list")).unwrap().unwrap(), expected);
    // Below minItems: refused, and the item is back where it was.
    engine.delete(&p("list[2]")).unwrap();
    let refused = engine.delete(&p("list[4000]")).unwrap_err();
    assert_eq!(refused.code(), "SCHEMA_VIOLATION");
    let mut model: Vec<serde_json::Value> = serde_json::from_str(&expected).unwrap();
    model.remove(2);
    let expected = serde_json::Value::Array(model).to_string();
    assert_eq!(engine.get_json(&p("list")).unwrap().unwrap(), expected);
    assert_eq!(
        engine.get_json(&p("list[4000]")).unwrap(),
        engine.get_json(&p("list.4000")).unwrap()
    );
    // Replayed after a power loss: the same.
    let reopened = after_power_loss(&fs, engine);
    assert_eq!(reopened.get_json(&p("list")).unwrap().unwrap(), expected);
}

#[test]
fn an_append_is_validated_as_one_new_item_and_the_arrays_own_rules() {
    let fs = SimFs::new();
    let mut options = options(&fs);
    options.schema = Some(Arc::new(
        Schema::compile(serde_json::json!({
            "type": "object",
            "properties": {
                "list": { "type": "array", "items": { "type": "number" }, "maxItems": 3 },
                "tags": { "type": "array", "uniqueItems": true }
            }
        }))
        .unwrap(),
    ));
    let engine = Engine::open(options).unwrap();
    engine.append(&p("list"), j("1")).unwrap();
    engine.append(&p("list"), j("2")).unwrap();
    let wrong_type = engine.append(&p("list"), j("\"x\"")).unwrap_err();
    let StoreError::SchemaViolation { violations, .. } = &wrong_type else {
        panic!("{wrong_type:?}")
    };
    assert_eq!(
        violations[0].instance_path, "/list/2",
        "the new item, named"
    );
    engine.append(&p("list"), j("3")).unwrap();
    assert_eq!(
        engine.append(&p("list"), j("4")).unwrap_err().code(),
        "SCHEMA_VIOLATION",
        "maxItems"
    );
    engine.append(&p("tags"), j("\"a\"")).unwrap();
    assert_eq!(
        engine.append(&p("tags"), j("\"a\"")).unwrap_err().code(),
        "SCHEMA_VIOLATION",
        "uniqueItems needs the whole array, and gets it"
    );
    assert_eq!(
        engine.get_json(&p("list")).unwrap().as_deref(),
        Some("[1,2,3]")
    );
    assert_eq!(
        engine.get_json(&p("tags")).unwrap().as_deref(),
        Some("[\"a\"]")
    );
}

#[test]
fn a_change_to_sealed_values_is_made_in_place_and_taken_back_whole() {
    let fs = SimFs::new();
    let key = crypto::DataKey::generate().unwrap();
    let schema = Arc::new(
        Schema::compile(serde_json::json!({
            "type": "object",
            "properties": {
                "ai": { "type": "object", "properties": { "apiKey": { "type": "string", "minLength": 3 } } },
                "n": { "type": "number", "maximum": 10 }
            }
        }))
        .unwrap(),
    );
    let opts = |keys: keys::KeySource| {
        let mut opts = secret_options(&fs, keys);
        opts.schema = Some(schema.clone());
        opts
    };
    let mut engine = Engine::open(opts(keys::KeySource::Supplied(vec![key]))).unwrap();
    let mut ai: serde_json::Map<String, serde_json::Value> = (0..2000)
        .map(|i| (format!("k{i}"), serde_json::json!(i)))
        .collect();
    ai.insert("apiKey".into(), serde_json::json!("sk-canary-0"));
    engine
        .set(&p("ai"), j(&serde_json::Value::Object(ai).to_string()))
        .unwrap();
    // No checkpoint holds the document from here on (see the test above).
    write_file(&engine).unwrap();
    engine.set(&p("ai.k0"), j("0")).unwrap();
    let wide = container_at(&engine, "ai");
    for i in 1..5 {
        engine
            .set(&p("ai.apiKey"), j(&format!("\"sk-canary-{i}\"")))
            .unwrap();
    }
    // Sealing used to work on a clone, which copied every container on the path.
    assert_eq!(
        container_at(&engine, "ai"),
        wide,
        "the wide object was not copied"
    );
    assert_eq!(
        engine.get_json(&p("ai.apiKey")).unwrap().as_deref(),
        Some("\"sk-canary-4\"")
    );

    // Refused changes that touch the sealed value leave the document as it was, the
    // envelope included, byte for byte.
    let doc = || engine.shared.lock().doc.clone();
    let before = doc();
    let refused = [
        engine.set(&p("ai.apiKey"), j("\"x\"")),
        engine.set_many(vec![(p("ai.apiKey"), j("\"sk-fine\"")), (p("n"), j("11"))]),
        engine.set_many(vec![
            (p("ai"), j(r#"{"apiKey":"sk-whole"}"#)),
            (p("n"), j("12")),
        ]),
        // The sealed value's parent replaced by a scalar and back, around it.
        engine.set_many(vec![
            (p("ai.apiKey"), j("\"sk-a\"")),
            (p("ai"), j("\"x\"")),
            (p("n"), j("13")),
        ]),
        engine.set_many(vec![
            (p("ai"), j("\"x\"")),
            (p("ai.apiKey"), j("\"sk-b\"")),
            (p("ai"), j("\"y\"")),
            (p("n"), j("14")),
        ]),
    ];
    for outcome in &refused {
        assert_eq!(
            outcome.as_ref().err().map(|e| e.code()),
            Some("SCHEMA_VIOLATION")
        );
        assert!(doc() == before, "taken back whole: {outcome:?}");
    }
    engine.close_blocking().unwrap();
    drop(engine);

    // Without a key nothing sealed may change, and a refusal changes nothing.
    let engine = Engine::open(opts(keys::KeySource::Missing {
        code: "KEYRING_UNAVAILABLE",
        reason: "no keyring here".into(),
    }))
    .unwrap();
    let before = engine.shared.lock().doc.clone();
    for outcome in [
        engine.delete(&p("ai")),
        engine.set(&p("ai.apiKey"), j("\"sk-new\"")),
        engine.set(&p("ai"), j(r#"{"apiKey":"sk-new"}"#)),
    ] {
        assert_eq!(outcome.err().map(|e| e.code()), Some("KEYRING_UNAVAILABLE"));
        assert!(engine.shared.lock().doc == before);
    }
    engine.set(&p("ai.k7"), j("7")).unwrap();
}
