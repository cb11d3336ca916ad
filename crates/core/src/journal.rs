//! The append-only journal beside the snapshot: framing, checksums, replay, torn tails.
//!
//! Layout: a 48-byte header naming the snapshot the journal applies to (its length and
//! BLAKE3 hash), then records `[len: u32 LE][crc32(payload): u32 LE][payload]`. A payload
//! is one JSON [`Batch`]: everything one engine call changed, applied all or nothing.
//! An op's key is an array of names (strings) and bracket indices (numbers), as
//! [`KeyPath`] serialises; one that fails the key checks does not parse, so its record
//! ends the journal like a torn one.
//!
//! A journal whose header does not match the snapshot on disk is stale: a checkpoint
//! wrote a newer snapshot (which contains all of the journal) and the process stopped
//! before the journal was reset. Such a journal is ignored.

use super::document::Node;
use super::path::KeyPath;
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"TADJRN01";
pub const HEADER_LEN: usize = 48;
const FRAME_LEN: usize = 8;

/// Identifies a snapshot's exact bytes. An absent snapshot is `len 0` and the hash of
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotId {
    pub len: u64,
    pub hash: [u8; 32],
}

impl SnapshotId {
    pub fn of(bytes: &[u8]) -> SnapshotId {
        SnapshotId {
            len: bytes.len() as u64,
            hash: *blake3::hash(bytes).as_bytes(),
        }
    }
}

pub fn header(base: SnapshotId) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&base.len.to_le_bytes());
    out.extend_from_slice(&base.hash);
    out
}

/// One change inside a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    Set { key: KeyPath, value: Node },
    Delete { key: KeyPath },
    Append { key: KeyPath, value: Node },
}

/// Everything one engine call changed, with the sequence number it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub seq: u64,
    pub ops: Vec<Op>,
}

impl Op {
    /// The key the op changes.
    pub fn key(&self) -> &KeyPath {
        match self {
            Op::Set { key, .. } | Op::Delete { key } | Op::Append { key, .. } => key,
        }
    }
}

/// Frames one batch for appending.
pub fn encode(batch: &Batch) -> Vec<u8> {
    let payload = serde_json::to_vec(batch).expect("a batch always serialises");
    let mut out = Vec::with_capacity(FRAME_LEN + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// What a journal file holds.
#[derive(Debug)]
pub struct Replay {
    pub base: SnapshotId,
    pub batches: Vec<Batch>,
    /// Bytes of header and whole, valid records; anything after is a torn tail.
    pub valid_len: usize,
}

/// Reads a journal. `None` when the header is missing or not ours (a crash while the
/// journal was being created leaves that, and then no record in it was acknowledged).
pub fn replay(bytes: &[u8]) -> Option<Replay> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return None;
    }
    let base = SnapshotId {
        len: u64::from_le_bytes(bytes[8..16].try_into().ok()?),
        hash: bytes[16..48].try_into().ok()?,
    };
    let mut batches = Vec::new();
    let mut at = HEADER_LEN;
    while let Some(frame) = bytes.get(at..at + FRAME_LEN) {
        let len = u32::from_le_bytes(frame[..4].try_into().ok()?) as usize;
        let crc = u32::from_le_bytes(frame[4..].try_into().ok()?);
        let Some(payload) = bytes.get(at + FRAME_LEN..at + FRAME_LEN + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(batch) = serde_json::from_slice::<Batch>(payload) else {
            break;
        };
        batches.push(batch);
        at += FRAME_LEN + len;
    }
    Some(Replay {
        base,
        batches,
        valid_len: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(seq: u64, key: &str, value: &str) -> Batch {
        Batch {
            seq,
            ops: vec![Op::Set {
                key: KeyPath::parse(key).unwrap(),
                value: Node::from_json(value).unwrap(),
            }],
        }
    }

    fn journal(batches: &[Batch]) -> Vec<u8> {
        let mut bytes = header(SnapshotId::of(b"{}"));
        for b in batches {
            bytes.extend(encode(b));
        }
        bytes
    }

    #[test]
    fn records_round_trip() {
        let written = vec![batch(1, "a.b", "1"), batch(2, "list[3]", r#"{"x":"y"}"#)];
        let bytes = journal(&written);
        let replay = replay(&bytes).unwrap();
        assert_eq!(replay.base, SnapshotId::of(b"{}"));
        assert_eq!(replay.batches, written);
        assert_eq!(replay.valid_len, bytes.len());
    }

    #[test]
    fn a_tail_torn_at_any_byte_is_cut_off_cleanly() {
        let written = vec![batch(1, "a", "1"), batch(2, "b", r#""two""#)];
        let bytes = journal(&written);
        let first_end = journal(&written[..1]).len();
        for cut in HEADER_LEN..bytes.len() {
            let replay = replay(&bytes[..cut]).unwrap();
            let expected = if cut < first_end { 0 } else { 1 };
            assert_eq!(replay.batches.len(), expected, "cut at {cut}");
            assert!(replay.valid_len <= cut);
        }
    }

    #[test]
    fn a_flipped_bit_ends_the_journal_there() {
        let written = vec![batch(1, "a", "1"), batch(2, "b", "2")];
        let mut bytes = journal(&written);
        let last = bytes.len() - 2;
        bytes[last] ^= 0x10;
        assert_eq!(replay(&bytes).unwrap().batches, written[..1]);
    }

    #[test]
    fn a_foreign_or_short_header_is_no_journal() {
        assert!(replay(b"").is_none());
        assert!(replay(&[0u8; 100]).is_none());
        assert!(replay(&header(SnapshotId::of(b""))[..20]).is_none());
    }
}
