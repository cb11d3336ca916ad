//! Sync across devices through the engine: two or three stores on one simulated disk,
//! each its own device, sharing a folder.

use super::state::*;
use crate::document::Node;
use crate::fs::Fs;
use crate::path::KeyPath;
use crate::schema::Schema;
use crate::sim_fs::SimFs;
use crate::sync::SyncOptions;
use crate::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FOLDER: &str = "/cloud/TAD";

fn p(s: &str) -> KeyPath {
    KeyPath::parse(s).unwrap()
}
fn j(s: &str) -> Node {
    Node::from_json(s).unwrap()
}

fn sync_options(fs: &SimFs, device: &str) -> EngineOptions {
    let mut options = EngineOptions::new(
        PathBuf::from(format!("/{device}/config.json")),
        Arc::new(fs.clone()),
    );
    options.checkpoint.idle = Duration::from_secs(3600);
    options.sensitive_keys = vec![secrets::Pattern::parse("ai.request.apiKey").unwrap()];
    options.key_source = Some(keys::KeySource::Supplied(vec![
        crypto::DataKey::from_bytes([7; 32]),
    ]));
    options.sync = Some(SyncOptions {
        folder: PathBuf::from(FOLDER),
        keys: vec!["settings".into(), "ai.request".into(), "list".into()],
        device: device.into(),
        // Looks happen when a test asks (`sync_now`), or within this.
        scan_interval: Duration::from_millis(50),
    });
    options
}

fn device(fs: &SimFs, name: &str) -> (Engine, Arc<Mutex<Vec<String>>>) {
    let engine = Engine::open(sync_options(fs, name)).unwrap();
    let errors = listen(&engine);
    (engine, errors)
}

fn listen(engine: &Engine) -> Arc<Mutex<Vec<String>>> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    engine.set_error_listener(Some(Arc::new(move |e: &error::StoreError| {
        seen.lock().unwrap().push(format!("{}: {e}", e.code()));
    })));
    errors
}

fn get(engine: &Engine, key: &str) -> Option<String> {
    engine.get_json(&p(key)).unwrap()
}

/// Waits until `done` holds, looking at the folder on every device meanwhile.
fn until(engines: &[&Engine], what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        if Instant::now() >= deadline {
            for e in engines {
                eprintln!("{:?}\n{:?}", e.sync_status(), e.store_json());
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        for e in engines {
            e.flush_blocking().unwrap();
            e.sync_now();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn two_devices_converge_and_keep_what_does_not_sync() {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new(FOLDER)).unwrap();
    let (a, a_errors) = device(&fs, "laptop");
    let (b, b_errors) = device(&fs, "desktop");
    a.set(&p("settings.theme"), j(r#""dark""#)).unwrap();
    a.set(&p("ai.request.apiKey"), j(r#""sk-CANARY""#)).unwrap();
    a.set(&p("ai.request.model"), j(r#""gpt""#)).unwrap();
    a.set(&p("window.x"), j("10")).unwrap();
    b.set(&p("settings.fontSize"), j("14")).unwrap();
    b.set(&p("window.x"), j("99")).unwrap();
    until(&[&a, &b], "both settings on both", || {
        [&a, &b].iter().all(|e| {
            get(e, "settings.theme").as_deref() == Some(r#""dark""#)
                && get(e, "settings.fontSize").as_deref() == Some("14")
                && get(e, "ai.request.model").as_deref() == Some(r#""gpt""#)
        })
    });
    assert_eq!(
        get(&a, "window.x").as_deref(),
        Some("10"),
        "unsynced keys stay"
    );
    assert_eq!(get(&b, "window.x").as_deref(), Some("99"));
    assert_eq!(get(&b, "ai.request.apiKey"), None, "secrets never travel");
    assert!(get(&a, "ai.request.apiKey").is_some());
    // No file of the folder holds the secret, or an unsynced value.
    for (path, bytes) in fs.image() {
        if path.starts_with(FOLDER) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("CANARY"), "{}", path.display());
        }
    }
    let status = a.sync_status().unwrap();
    assert_eq!(status.device, "laptop");
    assert_eq!(status.devices.len(), 2, "{status:?}");
    assert!(status.devices.iter().any(|d| d.this_device));
    assert!(
        status
            .devices
            .iter()
            .any(|d| d.device == "desktop" && d.last_change.is_some()),
        "{status:?}"
    );
    assert_eq!(status.pending_out, 0);
    assert!(a_errors.lock().unwrap().is_empty(), "{a_errors:?}");
    assert!(b_errors.lock().unwrap().is_empty(), "{b_errors:?}");
}

#[test]
fn a_remote_change_reaches_watchers_and_history_as_one_change() {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new(FOLDER)).unwrap();
    let (a, _) = device(&fs, "a");
    let (b, _) = device(&fs, "b");
    let delivered = Arc::new(Mutex::new(0usize));
    let count = delivered.clone();
    b.set_notifier(Some(Arc::new(move || *count.lock().unwrap() += 1)));
    let watch = b.watch(p("settings.theme"));
    a.set(&p("settings.theme"), j(r#""light""#)).unwrap();
    until(&[&a, &b], "the change on b", || {
        get(&b, "settings.theme").as_deref() == Some(r#""light""#)
    });
    until(&[&b], "delivery", || *delivered.lock().unwrap() > 0);
    let events = b.take_events();
    let event = events.iter().find(|e| e.watch_id == watch).unwrap();
    assert_eq!(event.new_json.as_deref(), Some(r#""light""#));
    assert_eq!(event.old_json, None);
}

#[test]
fn a_merge_that_fails_the_schema_is_held_back_as_a_conflict_until_it_is_valid() {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new(FOLDER)).unwrap();
    let schema = r#"{"type":"object","properties":{"list":{"type":"array","maxItems":2}}}"#;
    let open = |name: &str| {
        let mut options = sync_options(&fs, name);
        options.schema = Some(Arc::new(Schema::from_json_text(schema).unwrap()));
        let engine = Engine::open(options).unwrap();
        let errors = listen(&engine);
        (engine, errors)
    };
    let (a, a_errors) = open("a");
    let (b, _) = open("b");
    a.set(&p("list"), j("[1]")).unwrap();
    until(&[&a, &b], "the list on b", || {
        get(&b, "list").as_deref() == Some("[1]")
    });
    // Concurrent appends: merged, the list holds three items, past maxItems.
    a.append(&p("list"), j("2")).unwrap();
    b.append(&p("list"), j("3")).unwrap();
    a.flush_blocking().unwrap();
    b.flush_blocking().unwrap();
    // Both hold it (each merged the other's item) before b resolves it: a write made
    // before b saw a's item would leave that item standing, by Automerge's rule.
    let in_conflict = |e: &Engine| e.sync_status().is_some_and(|s| !s.conflicts.is_empty());
    until(&[&a, &b], "the conflict on both", || {
        in_conflict(&a) && in_conflict(&b)
    });
    assert_eq!(
        get(&a, "list").as_deref(),
        Some("[1,2]"),
        "a keeps its valid state"
    );
    let conflict = &a.sync_status().unwrap().conflicts[0];
    assert_eq!(conflict.key, "list");
    assert!(a_errors
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.starts_with("SYNC_CONFLICT")));
    // A later change that makes it valid resolves it, on both.
    b.set(&p("list"), j("[9]")).unwrap();
    until(&[&a, &b], "the resolution", || {
        get(&a, "list").as_deref() == Some("[9]")
            && get(&b, "list").as_deref() == Some("[9]")
            && a.sync_status().is_some_and(|s| s.conflicts.is_empty())
    });
}

#[test]
fn a_device_that_joins_adopts_the_folder_and_a_restart_loses_nothing() {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new(FOLDER)).unwrap();
    let (mut a, _) = device(&fs, "a");
    a.set(&p("settings.theme"), j(r#""dark""#)).unwrap();
    until(&[&a], "a's change in the folder", || {
        a.sync_status()
            .is_some_and(|s| s.devices.len() == 1 && s.pending_out == 0)
    });
    // b held its own (default-like) value before it ever synced: the folder's wins,
    // and what only b holds goes out.
    let (mut b, _) = {
        let mut options = sync_options(&fs, "b");
        options.sync = None;
        let mut plain = Engine::open(options).unwrap();
        plain.set(&p("settings.theme"), j(r#""light""#)).unwrap();
        plain.set(&p("settings.lang"), j(r#""fr""#)).unwrap();
        plain.close_blocking().unwrap();
        device(&fs, "b")
    };
    until(&[&a, &b], "adoption", || {
        get(&b, "settings.theme").as_deref() == Some(r#""dark""#)
            && get(&a, "settings.lang").as_deref() == Some(r#""fr""#)
    });
    // A restart of both: the log brings the mirror back, nothing is sent again as new.
    a.close_blocking().unwrap();
    b.close_blocking().unwrap();
    let (a, _) = device(&fs, "a");
    let (b, _) = device(&fs, "b");
    a.set(&p("settings.theme"), j(r#""blue""#)).unwrap();
    until(&[&a, &b], "a change after the restart", || {
        get(&b, "settings.theme").as_deref() == Some(r#""blue""#)
    });
    assert_eq!(get(&b, "settings.lang").as_deref(), Some(r#""fr""#));
    assert_eq!(get(&a, "settings.lang").as_deref(), Some(r#""fr""#));
}

#[test]
fn an_offline_folder_is_never_created_and_changes_wait_for_it() {
    let fs = SimFs::new();
    let (a, errors) = device(&fs, "a");
    a.set(&p("settings.theme"), j(r#""dark""#)).unwrap();
    a.flush_blocking().unwrap();
    a.sync_now();
    until(&[&a], "a status", || a.sync_status().is_some());
    assert!(
        !fs.is_dir(Path::new(FOLDER)),
        "an unmounted folder is not made"
    );
    assert!(!a.sync_status().unwrap().reachable);
    fs.create_dir_all(Path::new(FOLDER)).unwrap();
    let (b, _) = device(&fs, "b");
    until(&[&a, &b], "the change once the folder is back", || {
        get(&b, "settings.theme").as_deref() == Some(r#""dark""#)
    });
    assert!(errors.lock().unwrap().is_empty(), "{errors:?}");
}

#[test]
fn a_change_the_folder_missed_before_a_close_goes_out_after_the_next_open() {
    let fs = SimFs::new();
    fs.create_dir_all(Path::new(FOLDER)).unwrap();
    let in_folder = |name: &str, folder: &str| {
        let mut options = sync_options(&fs, name);
        options.sync.as_mut().unwrap().folder = PathBuf::from(folder);
        let engine = Engine::open(options).unwrap();
        listen(&engine);
        engine
    };
    // a syncs once, then its folder moves to a share that is not mounted yet.
    let mut a = in_folder("a", FOLDER);
    a.set(&p("settings.lang"), j(r#""fr""#)).unwrap();
    until(&[&a], "a synced once", || {
        a.sync_status()
            .is_some_and(|s| s.devices.len() == 1 && s.pending_out == 0)
    });
    a.close_blocking().unwrap();
    let mut a = in_folder("a", "/share/TAD");
    a.set(&p("settings.theme"), j(r#""dark""#)).unwrap();
    until(&[&a], "the change waiting", || {
        a.sync_status()
            .is_some_and(|s| !s.reachable && s.pending_out > 0)
    });
    a.close_blocking().unwrap();
    fs.create_dir_all(Path::new("/share/TAD")).unwrap();
    let a = in_folder("a", "/share/TAD");
    let b = in_folder("b", "/share/TAD");
    until(&[&a, &b], "the change kept in a's log", || {
        get(&b, "settings.theme").as_deref() == Some(r#""dark""#)
    });
}
