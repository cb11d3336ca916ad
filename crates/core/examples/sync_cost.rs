//! What syncing costs, for `npm run bench`: a store's synced subtrees (`settings`,
//! `profile`, `ai.request`, `workspaces`) mirrored in Automerge on two devices, and the
//! folder between them. As JSON on stdout:
//!
//! - `firstSyncMs`, `firstSyncBytes`: the whole store's synced part mirrored once (a
//!   device's first sync) and the size of that change file;
//! - `recordUs`, `changeFileBytes`: one value set, recorded and committed (median), and
//!   the size of its change file;
//! - `merge1000Ms`: 1,000 such changes from another device merged, the difference to the
//!   store computed and applied;
//! - `differenceMs`, `differenceAllMs`: after one more remote change, what the store must
//!   change, found from the changed entries, and from a comparison of every entry;
//! - `folderBytes10k`, `folderFiles10k`: the folder after 10,000 one-value changes, the
//!   device compacting its files once it has 64.
//!
//! `cargo run --release -p tad-store-core --example sync_cost -- <settings.json>`

use std::time::Instant;
use tad_store_core::document::Node;
use tad_store_core::journal::Op;
use tad_store_core::path::KeyPath;
use tad_store_core::secrets::Pattern;
use tad_store_core::sync::folder::{envelope, SyncFolder};
use tad_store_core::sync::mirror::Mirror;
use tad_store_core::sync::scope::Scope;

const KEYS: &[&str] = &["settings", "profile", "ai.request", "workspaces"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mirror(actor: u8) -> anyhow::Result<Mirror> {
    let keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
    let sensitive = vec![Pattern::parse("ai.credentials.apiKey")?];
    Ok(Mirror::new(&[actor; 16], Scope::new(&keys, sensitive)?))
}

fn apply(store: &mut Node, ops: Vec<Op>) -> anyhow::Result<()> {
    for op in ops {
        match op {
            Op::Set { key, value } => {
                store.set(&key, value)?;
            }
            Op::Delete { key } => {
                store.delete(&key);
            }
            Op::Append { key, value } => store.append(&key, value)?,
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let fixture = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: sync_cost <settings.json>"))?;
    let mut store = Node::from_json(&std::fs::read_to_string(&fixture)?)?;
    let key = KeyPath::parse("settings.editor.fontSize")?;

    let mut a = mirror(1)?;
    let started = Instant::now();
    a.record(&store, &[])?;
    let first = a.commit(0).unwrap_or_default();
    let first_sync_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut b = mirror(2)?;
    b.merge(&first)?;
    let mut store_b = store.clone();
    // `b` holds the store as merged: from here on it compares only what changes.
    anyhow::ensure!(b.difference(&store_b).is_empty(), "b starts in step");

    // One value, recorded and committed on `a`: the change files `b` will merge.
    let (mut record, mut files) = (Vec::new(), Vec::new());
    for i in 0..1000 {
        store.set(&key, Node::Number((10 + i % 20).into()))?;
        let started = Instant::now();
        a.record(&store, key.segments())?;
        let bytes = a.commit(i + 1).unwrap_or_default();
        record.push(started.elapsed().as_secs_f64() * 1e6);
        files.push(bytes);
    }
    let change_file_bytes = envelope(&files[0]).1.len();

    let started = Instant::now();
    for bytes in &files {
        b.merge(bytes)?;
    }
    let ops = b.difference(&store_b);
    apply(&mut store_b, ops)?;
    let merge_1000_ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(store_b.get(&key) == store.get(&key), "b did not converge");
    // One more remote change: what is compared, the changed entry or every entry.
    store.set(&key, Node::Number(99.into()))?;
    a.record(&store, key.segments())?;
    b.merge(&a.commit(2000).unwrap_or_default())?;
    let started = Instant::now();
    let all = b.difference_all(&store_b);
    let difference_all_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let ops = b.difference(&store_b);
    let difference_ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(ops.len() == 1 && all.len() == 1, "one value changed");

    // 10,000 changes through a real folder, compacting at 64 files.
    let dir = std::env::temp_dir().join(format!("tad-sync-cost-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut folder = SyncFolder::new(tad_store_core::fs::platform(), &dir, "config", "laptop");
    let mut c = mirror(3)?;
    c.record(&store, &[])?;
    folder.write(&c.commit(0).unwrap_or_default())?;
    for i in 0..10_000 {
        store.set(&key, Node::Number((i % 40).into()))?;
        c.record(&store, key.segments())?;
        if let Some(bytes) = c.commit(i + 1) {
            folder.write(&bytes)?;
        }
        if folder.own_files().len() >= 64 {
            let whole = c.save();
            folder.compact(&whole)?;
        }
    }
    let own = folder.own_files();
    let folder_bytes: u64 = own
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    std::fs::remove_dir_all(&dir)?;

    println!(
        "{{\"firstSyncMs\":{first_sync_ms:.2},\"firstSyncBytes\":{},\"recordUs\":{:.1},\"changeFileBytes\":{change_file_bytes},\"merge1000Ms\":{merge_1000_ms:.1},\"differenceMs\":{difference_ms:.3},\"differenceAllMs\":{difference_all_ms:.2},\"folderBytes10k\":{folder_bytes},\"folderFiles10k\":{}}}",
        envelope(&first).1.len(),
        median(record),
        own.len()
    );
    Ok(())
}
