//! What one history entry costs, for `npm run bench`: the reverse diff the committer
//! makes after a one-value change (background CPU), applying it (one step of a rollback),
//! and its size on disk. Median of runs, as JSON on stdout.
//!
//! `cargo run --release -p tad-store-core --example history_cost -- <settings.json>`
//! (the file must hold `"fontSize": 14`, which the newer state changes to 15).

use std::time::Instant;
use tad_store_core::history;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let fixture = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: history_cost <settings.json>"))?;
    let older = std::fs::read(&fixture)?;
    let newer = String::from_utf8(older.clone())?
        .replacen("\"fontSize\": 14", "\"fontSize\": 15", 1)
        .into_bytes();
    anyhow::ensure!(newer != older, "the fixture has no fontSize to change");
    let runs = if older.len() > 4 << 20 { 3 } else { 7 };
    let (mut diff, mut apply, mut bytes) = (Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let started = Instant::now();
        let entry = history::encode(0, &newer, &older)?;
        diff.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        let rebuilt = history::apply(std::path::Path::new("bench"), &entry, &newer)?;
        apply.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            rebuilt == older,
            "the entry did not rebuild the older state"
        );
        bytes = entry.len();
    }
    println!(
        "{}",
        serde_json::json!({
            "historyDiffMs": median(diff),
            "historyApplyMs": median(apply),
            "historyEntryBytes": bytes,
        })
    );
    Ok(())
}
