//! History: every snapshot the committer writes also leaves a reverse binary diff in
//! `storeHistory/<ISO-8601 timestamp>.diff`, which turns that snapshot back into the one
//! before it. Walking the entries from the newest, the store can be rebuilt as it was at
//! any recorded moment.
//!
//! An entry is `MAGIC, version, timestamp, the new and old states' (length, BLAKE3 hash),
//! the common prefix and suffix lengths, the patch length, a bsdiff 4 patch (qbsdiff,
//! bzip2 inside) of the differing middle, CRC-32 of everything before it`. Trimming the
//! common prefix and suffix first makes a one-value change cost microseconds and a few
//! hundred bytes whatever the store's size; bsdiff then only sees the part that changed.
//!
//! Chain invariant: entry `e` applies to the state whose id is `e.new`, giving `e.old`,
//! which is the `new` of the next older entry. A torn, corrupt or missing entry ends the
//! chain there; `verify` reports where.

use super::error::{Result, StoreError};
use super::fs::Fs;
use super::journal::SnapshotId;
use super::snapshot;
use super::store_files::{StoreFiles, HISTORY_DIR};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MAGIC: &[u8; 8] = b"TADHIST1";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + (8 + 32) * 2 + 8 * 3;
const CRC_LEN: usize = 4;

/// How much history to keep. Pruning removes the oldest entries first, so every entry
/// kept can still be reached.
#[derive(Debug, Clone, Copy)]
pub struct HistoryPolicy {
    pub max_entries: usize,
    pub max_age: Duration,
    pub max_bytes: u64,
}

impl Default for HistoryPolicy {
    fn default() -> Self {
        HistoryPolicy {
            max_entries: 500,
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_bytes: 64 << 20,
        }
    }
}

impl HistoryPolicy {
    /// The policy for the `history` option and its limits, each defaulting to
    /// [`HistoryPolicy::default`]'s; `None` (no history) when `enabled` is false.
    pub fn with_limits(
        enabled: bool,
        max_entries: Option<u32>,
        max_age_days: Option<f64>,
        max_bytes: Option<f64>,
    ) -> Option<HistoryPolicy> {
        let defaults = HistoryPolicy::default();
        enabled.then(|| HistoryPolicy {
            max_entries: max_entries.map_or(defaults.max_entries, |n| n as usize),
            max_age: max_age_days.map_or(defaults.max_age, |d| {
                Duration::from_secs_f64(d.clamp(0.0, 1e6) * 86_400.0)
            }),
            max_bytes: max_bytes.map_or(defaults.max_bytes, |b| b.max(0.0) as u64),
        })
    }
}

/// The fixed part of an entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub millis: u64,
    /// The snapshot this entry was written for (its timestamp's state).
    pub new: SnapshotId,
    /// The snapshot before it.
    pub old: SnapshotId,
    prefix: u64,
    suffix: u64,
    patch_len: u64,
}

/// One recorded state, newest first in listings.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub timestamp: String,
    pub millis: u64,
    pub file: PathBuf,
    /// Bytes on disk.
    pub size: u64,
    /// The state's hash (hex): the snapshot written at that moment.
    pub hash: String,
    /// `diff` (this history) or `backup` (a full copy written before migrations).
    pub kind: EntryKind,
    /// The diff's header; `None` for a backup.
    pub header: Option<Header>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Diff,
    Backup,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Diff => "diff",
            EntryKind::Backup => "backup",
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Diff entries on disk.
    pub entries: usize,
    /// Entries reached and checked from the current state.
    pub verified: usize,
    /// The entry where the chain ends early, and why.
    pub broken_at: Option<String>,
    pub reason: Option<String>,
}

impl Report {
    /// As JS sees it (`verifyHistory()`): `{ ok, entries, verified, brokenAt, reason }`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "ok": self.broken_at.is_none(),
            "entries": self.entries,
            "verified": self.verified,
            "brokenAt": self.broken_at,
            "reason": self.reason,
        })
        .to_string()
    }
}

/// A listing as JS sees it (`history()`): `[{ timestamp, size, hash, kind }]`.
pub fn listing_json(entries: &[Entry]) -> String {
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| serde_json::json!({ "timestamp": e.timestamp, "size": e.size, "hash": e.hash, "kind": e.kind.as_str() }))
        .collect();
    serde_json::Value::Array(list).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The previous snapshot, when it is exactly the state the newest entry says came before
/// the current one. `None` when there is no such proof.
pub fn proven_base(fs: &dyn Fs, store: &Path) -> Option<Vec<u8>> {
    let chain = diffs(fs, store).ok()?;
    let (newest, broken) = chain.into_iter().next()?;
    if broken.is_some() {
        return None;
    }
    let bytes = fs.read(&StoreFiles::of(store).history_base()).ok()?;
    (SnapshotId::of(&bytes) == newest.header?.old && !bytes.is_empty()).then_some(bytes)
}

// ----- timestamps ---------------------------------------------------------------------

/// `2026-09-01T18:56:56.765Z` for milliseconds since the epoch.
pub fn iso(millis: u64) -> String {
    let secs = millis / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis % 1000
    )
}

/// Parses what [`iso`] writes (also with `-` for `:` and `.`, as file names on Windows
/// and backup names have them).
pub fn parse_iso(text: &str) -> Option<u64> {
    let t = text.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let digits: Vec<u64> = time
        .split([':', '.', '-'])
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, s, ms] = digits[..] else {
        return None;
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || s > 60 || ms > 999
    {
        return None;
    }
    let days = days_from_civil(y, mo as u32, da as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + s;
    Some(secs * 1000 + ms)
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn file_name(millis: u64) -> String {
    let stamp = iso(millis);
    // `:` is not allowed in Windows file names.
    let stamp = if cfg!(windows) {
        stamp.replace(':', "-")
    } else {
        stamp
    };
    format!("{stamp}.diff")
}

// ----- entries --------------------------------------------------------------------------

/// What an entry needs of the state it turns back into: its id, how much of it the new
/// state shares at each end, and only the bytes in between. A one-value change to a
/// 10 MiB store keeps a few bytes of the old state here, not 10 MiB.
#[derive(Debug, Clone, PartialEq)]
pub struct Old {
    pub id: SnapshotId,
    /// Bytes at the start the new state has too.
    pub prefix: usize,
    /// Bytes at the end the new state has too; `prefix + suffix` fits both states.
    pub suffix: usize,
    /// The old state's bytes between the two.
    pub middle: Vec<u8>,
}

impl Old {
    /// `old` compared with `new`, both in memory.
    pub fn of(new: &[u8], old: &[u8]) -> Old {
        let mut comparison = Comparison::new(new, old.len());
        comparison.feed(old);
        let (id, prefix, suffix) = comparison.finish().expect("fed exactly `old.len()` bytes");
        Old {
            id,
            prefix,
            suffix,
            middle: old[prefix..old.len() - suffix].to_vec(),
        }
    }

    /// The file at `path` compared with `new`, read in pieces ([`Fs::read_each`]) twice:
    /// once for its id and the shared ends, once for the middle. So the old state is
    /// never whole in memory beside the new one. A file changed between the two reads
    /// (another program's edit) is an error; a missing one is the empty state.
    pub fn read(fs: &dyn Fs, path: &Path, new: &[u8]) -> Result<Old> {
        let missing = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
        let old_len = match fs.len(path) {
            Ok(len) => len as usize,
            Err(e) if missing(&e) => return Ok(Old::of(new, b"")),
            Err(e) => return Err(StoreError::io("read", path, &e)),
        };
        let mut comparison = Comparison::new(new, old_len);
        match fs.read_each(path, &mut |piece| comparison.feed(piece)) {
            Ok(()) => {}
            Err(e) if missing(&e) => return Ok(Old::of(new, b"")),
            Err(e) => return Err(StoreError::io("read", path, &e)),
        }
        let changed = || {
            let e = std::io::Error::other("the file changed while it was read");
            StoreError::io("read", path, &e)
        };
        let (id, prefix, suffix) = comparison.finish().ok_or_else(changed)?;
        let (from, to) = (prefix, old_len - suffix);
        let mut middle = Vec::with_capacity(to - from);
        let mut again = blake3::Hasher::new();
        let mut at = 0;
        fs.read_each(path, &mut |piece| {
            again.update(piece);
            let (start, end) = (at.max(from), (at + piece.len()).min(to));
            if start < end {
                middle.extend_from_slice(&piece[start - at..end - at]);
            }
            at += piece.len();
        })
        .map_err(|e| StoreError::io("read", path, &e))?;
        if *again.finalize().as_bytes() != id.hash || at != old_len {
            return Err(changed());
        }
        Ok(Old {
            id,
            prefix,
            suffix,
            middle,
        })
    }
}

/// An old state of a known length compared with `new` as it is read, piece by piece in
/// order: its hash, the first difference from the start, and the last difference with
/// the two states aligned at their ends (old byte `i` against new byte `i + shift`).
struct Comparison<'n> {
    new: &'n [u8],
    old_len: usize,
    shift: i64,
    /// Bytes fed so far.
    len: usize,
    hasher: blake3::Hasher,
    prefix: Option<usize>,
    last_end_difference: Option<usize>,
}

impl<'n> Comparison<'n> {
    fn new(new: &'n [u8], old_len: usize) -> Comparison<'n> {
        Comparison {
            new,
            old_len,
            shift: new.len() as i64 - old_len as i64,
            len: 0,
            hasher: blake3::Hasher::new(),
            prefix: None,
            last_end_difference: None,
        }
    }

    fn feed(&mut self, piece: &[u8]) {
        self.hasher.update(piece);
        let start = self.len;
        self.len += piece.len();
        if self.prefix.is_none() {
            let theirs = self.new.get(start..).unwrap_or_default();
            let n = piece.len().min(theirs.len());
            // Slices compared whole first (memcmp), byte by byte only where they differ.
            if n < piece.len() || piece[..n] != theirs[..n] {
                self.prefix = Some(start + first_difference(&piece[..n], &theirs[..n]));
            }
        }
        if let Some(i) = last_aligned_difference(piece, start, self.new, self.shift) {
            self.last_end_difference = Some(i);
        }
    }

    /// The old state's id and the lengths of the shared prefix and suffix; `None` when
    /// the bytes fed were not `old_len` of them (the file changed while it was read).
    fn finish(self) -> Option<(SnapshotId, usize, usize)> {
        if self.len != self.old_len {
            return None;
        }
        let len = self.len;
        let prefix = self.prefix.unwrap_or(len).min(self.new.len());
        let room = self.new.len().min(len) - prefix;
        let suffix = (len - self.last_end_difference.map_or(0, |i| i + 1)).min(room);
        let id = SnapshotId {
            len: len as u64,
            hash: *self.hasher.finalize().as_bytes(),
        };
        Some((id, prefix, suffix))
    }
}

/// Where `a` and `b` (of one length) first differ; their length when nowhere.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len())
}

/// The last byte of `piece` (old bytes from `start`) that differs from `new` with the two
/// states aligned at their ends (old byte `i` against new byte `i + shift`), as an old
/// offset; a byte with no counterpart differs.
fn last_aligned_difference(piece: &[u8], start: usize, new: &[u8], shift: i64) -> Option<usize> {
    let end = start + piece.len();
    // Old offsets whose counterpart exists: [lo, hi).
    let lo = (start as i64).max(-shift).min(end as i64) as usize;
    let hi = ((new.len() as i64 - shift).min(end as i64).max(lo as i64)) as usize;
    if hi < end || lo == hi {
        // Bytes at the end of the piece have no counterpart (or none has).
        return (end > start).then(|| end - 1);
    }
    let ours = &piece[lo - start..hi - start];
    let theirs = &new[(lo as i64 + shift) as usize..(hi as i64 + shift) as usize];
    if ours != theirs {
        let k = ours.iter().zip(theirs).rposition(|(x, y)| x != y)?;
        return Some(lo + k);
    }
    (lo > start).then(|| lo - 1)
}

/// The diff turning `new` back into `old`, as an entry's bytes.
pub fn encode(millis: u64, new: &[u8], old: &[u8]) -> Result<Vec<u8>> {
    encode_from(millis, new, &Old::of(new, old))
}

/// The diff turning `new` back into the state `old` describes, as an entry's bytes.
pub fn encode_from(millis: u64, new: &[u8], old: &Old) -> Result<Vec<u8>> {
    let (prefix, suffix) = (old.prefix, old.suffix);
    let (new_mid, old_mid) = (&new[prefix..new.len() - suffix], &old.middle[..]);
    let mut patch = Vec::new();
    qbsdiff::Bsdiff::new(new_mid, old_mid)
        .parallel_scheme(qbsdiff::ParallelScheme::Never)
        .compare(Cursor::new(&mut patch))
        .map_err(|e| StoreError::io("diff", HISTORY_DIR, &e))?;
    let (new_id, old_id) = (SnapshotId::of(new), old.id);
    let mut out = Vec::with_capacity(HEADER_LEN + patch.len() + CRC_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&millis.to_le_bytes());
    for id in [new_id, old_id] {
        out.extend_from_slice(&id.len.to_le_bytes());
        out.extend_from_slice(&id.hash);
    }
    for n in [prefix as u64, suffix as u64, patch.len() as u64] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&patch);
    out.extend_from_slice(&crc32fast::hash(&out).to_le_bytes());
    Ok(out)
}

fn corrupt(file: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::HistoryCorrupt {
        file: file.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads and checks an entry's framing: magic, version, length, checksum.
pub fn decode_header(file: &Path, bytes: &[u8]) -> Result<Header> {
    if bytes.len() < HEADER_LEN + CRC_LEN || &bytes[..8] != MAGIC {
        return Err(corrupt(file, "it is not a history entry, or it is torn"));
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(corrupt(file, format!("unknown format version {version}")));
    }
    let id_at = |at: usize| SnapshotId {
        len: u64_at(at),
        hash: bytes[at + 8..at + 40].try_into().expect("32 bytes"),
    };
    let header = Header {
        millis: u64_at(12),
        new: id_at(20),
        old: id_at(60),
        prefix: u64_at(100),
        suffix: u64_at(108),
        patch_len: u64_at(116),
    };
    let end = HEADER_LEN as u64 + header.patch_len;
    if bytes.len() as u64 != end + CRC_LEN as u64 {
        return Err(corrupt(file, "its length does not match its header (torn)"));
    }
    let crc = u32::from_le_bytes(bytes[end as usize..].try_into().expect("4 bytes"));
    if crc32fast::hash(&bytes[..end as usize]) != crc {
        return Err(corrupt(
            file,
            "its checksum does not match (torn or damaged)",
        ));
    }
    Ok(header)
}

/// Applies an entry to `new` (which must be its `new` state), giving its `old` state.
pub fn apply(file: &Path, entry: &[u8], new: &[u8]) -> Result<Vec<u8>> {
    let header = decode_header(file, entry)?;
    if SnapshotId::of(new) != header.new {
        return Err(corrupt(
            file,
            "it does not follow from the state after it: the chain is broken",
        ));
    }
    let (prefix, suffix) = (header.prefix as usize, header.suffix as usize);
    if prefix + suffix > new.len() {
        return Err(corrupt(file, "its prefix and suffix do not fit the state"));
    }
    let patch = &entry[HEADER_LEN..HEADER_LEN + header.patch_len as usize];
    let mut middle = Vec::new();
    qbsdiff::Bspatch::new(patch)
        .and_then(|p| p.apply(&new[prefix..new.len() - suffix], Cursor::new(&mut middle)))
        .map_err(|e| corrupt(file, format!("its patch does not apply ({e})")))?;
    let mut old = Vec::with_capacity(prefix + middle.len() + suffix);
    old.extend_from_slice(&new[..prefix]);
    old.extend_from_slice(&middle);
    old.extend_from_slice(&new[new.len() - suffix..]);
    if SnapshotId::of(&old) != header.old {
        return Err(corrupt(
            file,
            "the state it gives does not match its recorded hash",
        ));
    }
    Ok(old)
}

/// Writes an entry durably (temp file, fsync, rename, directory fsync).
pub fn write(
    fs: &dyn Fs,
    store: &Path,
    millis: u64,
    new: &[u8],
    old: &Old,
    mode: u32,
) -> Result<PathBuf> {
    let dir = StoreFiles::of(store).history();
    fs.create_dir_all(&dir)
        .map_err(|e| StoreError::io("create directory", &dir, &e))?;
    let bytes = encode_from(millis, new, old)?;
    let path = dir.join(file_name(millis));
    snapshot::write_atomic(fs, &path, &bytes, mode)?;
    Ok(path)
}

fn read(fs: &dyn Fs, file: &Path) -> Result<Vec<u8>> {
    fs.read(file).map_err(|e| StoreError::io("read", file, &e))
}

fn list_dir(fs: &dyn Fs, dir: &Path) -> Result<Vec<String>> {
    match fs.list(dir) {
        Ok(names) => Ok(names),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io("list", dir, &e)),
    }
}

/// At open: the newest entry must describe the snapshot on disk. An entry is written
/// just before its snapshot is renamed into place, so a crash in between leaves one that
/// describes a snapshot that never landed (its `old` is the snapshot on disk); it is
/// removed. Returns the newest entry's time, so new timestamps stay strictly increasing.
pub fn reconcile(fs: &dyn Fs, store: &Path, current: SnapshotId) -> Result<u64> {
    let dir = StoreFiles::of(store).history();
    let mut stamps: Vec<(u64, String)> = list_dir(fs, &dir)?
        .into_iter()
        .filter_map(|name| Some((parse_iso(name.strip_suffix(".diff")?)?, name)))
        .collect();
    stamps.sort();
    let Some((millis, name)) = stamps.last().cloned() else {
        return Ok(0);
    };
    let file = dir.join(&name);
    let bytes = read(fs, &file)?;
    if let Ok(header) = decode_header(&file, &bytes) {
        if header.new != current && header.old == current {
            fs.remove(&file)
                .map_err(|e| StoreError::io("remove", &file, &e))?;
        }
    }
    Ok(millis)
}

/// Every diff entry, newest first, with the ones that do not decode marked by a `None`
/// header (they end the chain). Temporary files are skipped.
pub fn diffs(fs: &dyn Fs, store: &Path) -> Result<Vec<(Entry, Option<StoreError>)>> {
    let dir = StoreFiles::of(store).history();
    let mut out = Vec::new();
    for name in list_dir(fs, &dir)? {
        let Some(millis) = diff_millis(&name) else {
            continue;
        };
        let file = dir.join(&name);
        let bytes = read(fs, &file)?;
        let decoded = decode_header(&file, &bytes);
        let entry = Entry {
            timestamp: iso(millis),
            millis,
            size: bytes.len() as u64,
            hash: decoded
                .as_ref()
                .map(|h| hex(&h.new.hash))
                .unwrap_or_default(),
            kind: EntryKind::Diff,
            header: decoded.as_ref().ok().copied(),
            file,
        };
        out.push((entry, decoded.err()));
    }
    out.sort_by_key(|(entry, _)| std::cmp::Reverse(entry.millis));
    Ok(out)
}

/// Removes every recorded state: the diff entries and the kept previous snapshot. Used
/// once the states they hold must not be kept (they held secrets in plaintext).
pub fn clear(fs: &dyn Fs, store: &Path) -> Result<usize> {
    let dir = StoreFiles::of(store).history();
    let mut removed = 0;
    for name in list_dir(fs, &dir)? {
        let file = dir.join(&name);
        fs.remove(&file)
            .map_err(|e| StoreError::io("remove", &file, &e))?;
        removed += 1;
    }
    if removed > 0 {
        fs.sync_dir(&dir)
            .map_err(|e| StoreError::io("fsync directory", &dir, &e))?;
    }
    Ok(removed)
}

/// Migration backups (`backups/<name>-<from>-to-<to>-<timestamp>.json`), newest first.
pub fn backups(fs: &dyn Fs, store: &Path) -> Result<Vec<Entry>> {
    let dir = StoreFiles::of(store).backups();
    let mut out = Vec::new();
    for name in list_dir(fs, &dir)? {
        let Some(millis) = backup_millis(&name) else {
            continue;
        };
        let file = dir.join(&name);
        let bytes = read(fs, &file)?;
        out.push(Entry {
            timestamp: iso(millis),
            millis,
            size: bytes.len() as u64,
            hash: hex(&SnapshotId::of(&bytes).hash),
            kind: EntryKind::Backup,
            header: None,
            file,
        });
    }
    out.sort_by_key(|entry| std::cmp::Reverse(entry.millis));
    Ok(out)
}

/// The time of a diff entry named `<ISO-8601>.diff`; `None` for any other name.
fn diff_millis(name: &str) -> Option<u64> {
    parse_iso(name.strip_suffix(".diff")?)
}

/// The time of a migration backup: its name ends in the timestamp's 24 characters
/// (`2026-09-01T18-56-56-765Z`) before `.json`.
fn backup_millis(name: &str) -> Option<u64> {
    let base = name.strip_suffix(".json")?;
    parse_iso(&base[base.len().checked_sub(24)?..])
}

/// How many recorded states (diffs and backups) there are and their bytes on disk, from
/// the directory listings and file sizes: nothing is read.
pub fn footprint(fs: &dyn Fs, store: &Path) -> Result<(u64, u64)> {
    let (mut entries, mut bytes) = (0, 0);
    for (dir, is_entry) in [
        (
            StoreFiles::of(store).history(),
            diff_millis as fn(&str) -> Option<u64>,
        ),
        (StoreFiles::of(store).backups(), backup_millis),
    ] {
        for name in list_dir(fs, &dir)? {
            if is_entry(&name).is_some() {
                let file = dir.join(&name);
                entries += 1;
                bytes += fs
                    .len(&file)
                    .map_err(|e| StoreError::io("stat", &file, &e))?;
            }
        }
    }
    Ok((entries, bytes))
}

/// Every recorded state, diffs and backups, newest first (readable entries only).
pub fn list(fs: &dyn Fs, store: &Path) -> Result<Vec<Entry>> {
    let mut all: Vec<Entry> = diffs(fs, store)?
        .into_iter()
        .filter(|(_, e)| e.is_none())
        .map(|(entry, _)| entry)
        .collect();
    all.extend(backups(fs, store)?);
    all.sort_by_key(|entry| std::cmp::Reverse(entry.millis));
    Ok(all)
}

/// The state recorded at `timestamp`, rebuilt from `current` (the snapshot on disk now)
/// by walking the chain back. Every step is checked against the recorded hashes, so a
/// result is exactly what was recorded, or an error. Where the chain is broken, a
/// migration backup holding the missing state bridges it.
pub fn reconstruct(
    fs: &dyn Fs,
    store: &Path,
    current: Vec<u8>,
    timestamp: &str,
) -> Result<Vec<u8>> {
    let not_found = || StoreError::HistoryNotFound {
        timestamp: timestamp.to_string(),
    };
    let target = parse_iso(timestamp).ok_or_else(not_found)?;
    let backups = backups(fs, store)?;
    if let Some(backup) = backups.iter().find(|b| b.millis == target) {
        return read(fs, &backup.file);
    }
    let chain = diffs(fs, store)?;
    if !chain.iter().any(|(e, _)| e.millis == target) {
        return Err(not_found());
    }
    let mut state = current;
    for (entry, broken) in chain {
        if let Some(err) = broken {
            return Err(err);
        }
        let header = entry.header.expect("decoded");
        if SnapshotId::of(&state) != header.new {
            // A full backup of exactly the state this entry starts from continues the chain.
            let bridge = backups.iter().find(|b| b.hash == hex(&header.new.hash));
            match bridge {
                Some(b) => state = read(fs, &b.file)?,
                None => {
                    return Err(corrupt(
                        &entry.file,
                        "it does not follow from the state after it: the chain is broken",
                    ))
                }
            }
        }
        if entry.millis == target {
            return Ok(state);
        }
        let bytes = read(fs, &entry.file)?;
        state = apply(&entry.file, &bytes, &state)?;
    }
    Err(not_found())
}

/// Walks the whole chain from `current`, checking every entry.
pub fn verify(fs: &dyn Fs, store: &Path, current: Vec<u8>) -> Result<Report> {
    let chain = diffs(fs, store)?;
    let mut report = Report {
        entries: chain.len(),
        verified: 0,
        broken_at: None,
        reason: None,
    };
    let mut state = current;
    for (entry, broken) in chain {
        let step = match broken {
            Some(err) => Err(err),
            None => read(fs, &entry.file).and_then(|bytes| apply(&entry.file, &bytes, &state)),
        };
        match step {
            Ok(old) => {
                state = old;
                report.verified += 1;
            }
            Err(err) => {
                report.broken_at = Some(entry.timestamp.clone());
                report.reason = Some(err.to_string());
                break;
            }
        }
    }
    Ok(report)
}

/// Removes the oldest entries beyond the policy. Newer entries are never removed before
/// older ones, so everything kept stays reachable. Returns how many were removed.
pub fn prune(fs: &dyn Fs, store: &Path, policy: &HistoryPolicy, now_millis: u64) -> Result<usize> {
    let chain = diffs(fs, store)?;
    let mut bytes = 0u64;
    let mut doomed = Vec::new();
    for (i, (entry, _)) in chain.iter().enumerate() {
        bytes += entry.size;
        let too_old = now_millis.saturating_sub(entry.millis) > policy.max_age.as_millis() as u64;
        // The newest entry is always kept: it records the current state. Every test
        // only grows along the chain, so what is kept is a run of the newest entries.
        let keep = i == 0 || (i < policy.max_entries && bytes <= policy.max_bytes && !too_old);
        if !keep {
            doomed.push(&entry.file);
        }
    }
    // Oldest first: a crash part-way leaves the chain whole, only shorter. Newest first
    // would leave a gap between what is kept and older entries not yet removed.
    let mut removed = 0;
    for file in doomed.into_iter().rev() {
        match fs.remove(file) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove", file, &e)),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fs::SimFs;

    /// Pairs of states a change makes: edits at the start, middle and end, growth and
    /// shrinking, none, and empty states; lengths around the pieces files are read in.
    fn state_pairs() -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut pairs = vec![
            (vec![], vec![]),
            (b"{}".to_vec(), vec![]),
            (vec![], b"{}".to_vec()),
        ];
        for len in [1, 7, 4095, 4096, 4097, 70_000, 200_000] {
            let old: Vec<u8> = (0..len).map(|_| b"ab{}\"\t"[next() as usize % 6]).collect();
            pairs.push((old.clone(), old.clone()));
            for _ in 0..12 {
                let mut new = old.clone();
                let at = next() as usize % (len + 1);
                let n = next() as usize % 9000;
                match next() % 4 {
                    0 => new.splice(at..at, (0..n).map(|i| i as u8)).for_each(drop),
                    1 => new.drain(at..(at + n).min(len)).for_each(drop),
                    2 => new[at..(at + n).min(len)]
                        .iter_mut()
                        .for_each(|b| *b = b'x'),
                    _ => new.truncate(at),
                }
                pairs.push((new, old.clone()));
            }
        }
        pairs
    }

    #[test]
    fn the_old_state_read_in_pieces_is_what_comparing_it_whole_finds() {
        let dir = std::env::temp_dir().join(format!("tad-history-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real = crate::fs::platform();
        let sim = SimFs::new();
        for (i, (new, old)) in state_pairs().into_iter().enumerate() {
            let whole = Old::of(&new, &old);
            let (real_path, sim_path) = (dir.join("s.json"), PathBuf::from("/s.json"));
            real.create(&real_path, 0o600)
                .unwrap()
                .write_all(&old)
                .unwrap();
            sim.create(&sim_path, 0o600)
                .unwrap()
                .write_all(&old)
                .unwrap();
            assert_eq!(
                Old::read(&*real, &real_path, &new).unwrap(),
                whole,
                "pair {i}, real disk"
            );
            assert_eq!(
                Old::read(&sim, &sim_path, &new).unwrap(),
                whole,
                "pair {i}, simulator"
            );
            // And the entry made from either turns `new` back into `old`.
            let entry = encode_from(3, &new, &whole).unwrap();
            assert_eq!(
                apply(Path::new("e"), &entry, &new).unwrap(),
                old,
                "pair {i}"
            );
        }
        let missing = Old::read(&sim, Path::new("/none.json"), b"{}").unwrap();
        assert_eq!(missing, Old::of(b"{}", b""));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A store with `n` states `{"n":0}`…, every one after the first recorded, at
    /// timestamps 1001….
    fn chain_of(n: usize) -> (SimFs, PathBuf, Vec<Vec<u8>>) {
        let fs = SimFs::new();
        let store = PathBuf::from("/d/config.json");
        let states: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        for i in 1..n {
            write(
                &fs,
                &store,
                1000 + i as u64,
                &states[i],
                &Old::of(&states[i], &states[i - 1]),
                0o600,
            )
            .unwrap();
        }
        (fs, store, states)
    }

    #[test]
    fn pruning_interrupted_part_way_leaves_a_whole_chain() {
        use crate::sim_fs::Fault;
        let (fs, store, states) = chain_of(7);
        // Four entries are beyond the limit; the disk fails after the first removal.
        fs.set_fault(Some(Fault {
            at: fs.op_count() + 1,
            errno: libc::EIO,
            sticky: true,
        }));
        let policy = HistoryPolicy {
            max_entries: 2,
            ..HistoryPolicy::default()
        };
        assert!(prune(&fs, &store, &policy, 2000).is_err());
        fs.heal();
        let report = verify(&fs, &store, states[6].clone()).unwrap();
        assert_eq!(
            (report.entries, report.verified, report.broken_at.clone()),
            (5, 5, None),
            "{report:?}"
        );
    }

    #[test]
    fn timestamps_round_trip() {
        for millis in [0, 1_756_752_816_765, 4_102_444_799_999, 951_782_400_000] {
            assert_eq!(parse_iso(&iso(millis)), Some(millis), "{}", iso(millis));
        }
        assert_eq!(iso(1_756_752_816_765), "2025-09-01T18:53:36.765Z");
        assert_eq!(
            parse_iso("2026-09-01T18-56-56-765Z"),
            parse_iso("2026-09-01T18:56:56.765Z")
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00.000Z",
            "2026-09-01T18:56:56.765",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_entry_turns_the_new_state_back_into_the_old() {
        let old = format!(
            "{{\n\t\"a\": 1,\n\t\"pad\": \"{}\"\n}}",
            "x".repeat(100_000)
        )
        .into_bytes();
        let new = String::from_utf8(old.clone())
            .unwrap()
            .replacen("\"a\": 1", "\"a\": 22", 1)
            .into_bytes();
        let entry = encode(5, &new, &old).unwrap();
        assert!(
            entry.len() < 1024,
            "a one-value change is small: {} bytes",
            entry.len()
        );
        assert_eq!(apply(Path::new("e"), &entry, &new).unwrap(), old);
        assert_eq!(
            apply(Path::new("e"), &entry, &old).unwrap_err().code(),
            "HISTORY_CORRUPT",
            "wrong base"
        );
        let first = encode(6, b"{}", b"").unwrap();
        assert_eq!(apply(Path::new("e"), &first, b"{}").unwrap(), b"");
    }

    #[test]
    fn truncating_an_entry_at_any_byte_is_detected() {
        let entry = encode(7, b"{\"a\":2}", b"{\"a\":1}").unwrap();
        for cut in 0..entry.len() {
            let err = apply(Path::new("e"), &entry[..cut], b"{\"a\":2}").unwrap_err();
            assert_eq!(err.code(), "HISTORY_CORRUPT", "cut at {cut}");
        }
        for at in 0..entry.len() {
            let mut flipped = entry.clone();
            flipped[at] ^= 0x01;
            assert!(
                apply(Path::new("e"), &flipped, b"{\"a\":2}").is_err(),
                "bit flipped at {at}"
            );
        }
    }

    #[test]
    fn pruning_removes_the_oldest_and_keeps_the_chain() {
        let (fs, store, states) = chain_of(10);
        let policy = HistoryPolicy {
            max_entries: 4,
            ..HistoryPolicy::default()
        };
        assert_eq!(prune(&fs, &store, &policy, 2000).unwrap(), 5);
        let report = verify(&fs, &store, states[9].clone()).unwrap();
        assert_eq!(
            (report.entries, report.verified, report.broken_at),
            (4, 4, None)
        );
        assert_eq!(
            reconstruct(&fs, &store, states[9].clone(), &iso(1006)).unwrap(),
            states[6]
        );
        assert_eq!(
            reconstruct(&fs, &store, states[9].clone(), &iso(1002))
                .unwrap_err()
                .code(),
            "HISTORY_NOT_FOUND"
        );
    }

    #[test]
    fn the_history_option_and_its_limits() {
        assert!(HistoryPolicy::with_limits(false, Some(3), None, None).is_none());
        let d = HistoryPolicy::default();
        let p = HistoryPolicy::with_limits(true, Some(3), Some(1.5), Some(-4.0)).unwrap();
        assert_eq!(p.max_entries, 3);
        assert_eq!(p.max_age, Duration::from_secs(129_600));
        assert_eq!(p.max_bytes, 0);
        let p = HistoryPolicy::with_limits(true, None, None, None).unwrap();
        assert_eq!(
            (p.max_entries, p.max_age, p.max_bytes),
            (d.max_entries, d.max_age, d.max_bytes)
        );
    }
}
