//! Sensitive keys: which paths hold secrets, and their values kept sealed in the document.
//!
//! Invariant: in the engine's document, the value at every *location* (a concrete path a
//! sensitive pattern matches) is an envelope (see [`crypto`](super::crypto)), the JSON of
//! the whole value sealed as one. The snapshot, journal, history, backups and quarantined
//! files are all written from that document, so none of them ever holds a plaintext.
//! Plaintext exists only in what a read returns. The one exception is a value written
//! before the key was marked sensitive: it stays as it is, and reading it is refused
//! (`SECRET_NOT_ENCRYPTED`) until it is set again or sealed by
//! `migrateToFieldEncryption`.
//!
//! Patterns are dot paths where `*` stands for any one property name or array index
//! (`ai.credentials.apiKey`, `workspaces.*.token`, `accounts.0.token`). When patterns
//! nest, the outer one wins: its whole value is one envelope. A pattern that could never
//! match a key (brackets, escapes, too deep) is refused, never silently kept: a secret
//! it was meant to cover would stay in plaintext.
//!
//! A store without dot notation (`accessPropertiesByDotNotation: false`) addresses every
//! key as one top-level property, `ai.apiKey` included. Its patterns also match such a
//! property whose name, read as a dot path, they match, so no way of writing a declared
//! secret stores it in plaintext.

use super::crypto::{self, DataKey};
use super::document::Node;
use super::error::{Result, StoreError};
use super::journal::Op;
use super::path::{check_property_name, KeyPath, Segment, INTERNAL_KEY, MAX_DEPTH};
use std::collections::HashSet;

/// Where a store's id lives: bound into every envelope's associated data, and the name
/// of the store's keyring entry.
pub const STORE_ID_KEY: &str = "__internal__.secrets.id";

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatternSegment {
    Name(String),
    /// `*`: any one property name or array index.
    Any,
    /// One property whose name holds dots, matched part by part (`ai.apiKey` as a single
    /// top-level key of a store without dot notation). Never parsed: derived only.
    Dotted(Vec<PatternSegment>),
}

impl PatternSegment {
    fn matches(&self, segment: &Segment) -> bool {
        match (self, segment) {
            (PatternSegment::Any, _) => true,
            (PatternSegment::Name(n), Segment::Key(k)) => n == k,
            (PatternSegment::Name(n), Segment::Index(i)) => *n == i.to_string(),
            (PatternSegment::Dotted(parts), Segment::Key(k)) => dotted_matches(parts, k),
            (PatternSegment::Dotted(_), Segment::Index(_)) => false,
        }
    }
}

/// Whether the property name `name`, split at its dots, matches `parts` one for one.
fn dotted_matches(parts: &[PatternSegment], name: &str) -> bool {
    let mut pieces = name.split('.');
    parts.iter().all(|p| {
        pieces
            .next()
            .is_some_and(|piece| p.matches(&Segment::Key(piece.into())))
    }) && pieces.next().is_none()
}

/// A sensitive-key pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern(Vec<PatternSegment>);

impl Pattern {
    /// Parses `a.b`, `a.*.c`, `list.0.token`. Refused (`INVALID_OPTION`, naming the
    /// pattern): empty segments, forbidden names, `__internal__`, and what could never
    /// match a key: brackets or backslashes (`accounts[0].token`, `tokens\.github`),
    /// more segments than a key may have.
    pub fn parse(text: &str) -> Result<Pattern> {
        Pattern::parse_option(text, "sensitiveKeys")
    }

    /// [`Pattern::parse`], its refusals naming `option` (the renderer policy's patterns
    /// are parsed here too, so one grammar decides what a key pattern is).
    pub fn parse_option(text: &str, option: &str) -> Result<Pattern> {
        let shown: String = text.chars().take(200).collect();
        let invalid = |reason: &str| StoreError::InvalidOption {
            option: option.into(),
            reason: format!("`{shown}` {reason}"),
        };
        if text.is_empty() {
            return Err(invalid("is empty"));
        }
        if text.contains(['[', ']', '\\']) {
            return Err(invalid(
                "can never match a key: a pattern is a dot path of property names and `*` \
                 (name an array item `list.0.token` or `list.*.token`); brackets and escapes \
                 are not part of it",
            ));
        }
        if text.split('.').count() > MAX_DEPTH {
            return Err(invalid(&format!(
                "can never match a key: it has more than {MAX_DEPTH} segments"
            )));
        }
        let mut segments = Vec::new();
        for part in text.split('.') {
            segments.push(match part {
                "" => return Err(invalid("has an empty segment")),
                "*" => PatternSegment::Any,
                name => {
                    check_property_name(text, name)
                        .map_err(|_| invalid("names a forbidden key"))?;
                    PatternSegment::Name(name.to_string())
                }
            });
        }
        Ok(Pattern::from_segments(segments)).and_then(|p| {
            if p.0.first() == Some(&PatternSegment::Name(INTERNAL_KEY.into())) {
                Err(invalid("is reserved for bookkeeping"))
            } else {
                Ok(p)
            }
        })
    }

    pub fn from_segments(segments: Vec<PatternSegment>) -> Pattern {
        Pattern(segments)
    }

    /// The pattern as the option would write it.
    pub fn text(&self) -> String {
        fn join(segments: &[PatternSegment]) -> String {
            let parts: Vec<String> = segments
                .iter()
                .map(|s| match s {
                    PatternSegment::Name(n) => n.clone(),
                    PatternSegment::Any => "*".into(),
                    PatternSegment::Dotted(parts) => join(parts),
                })
                .collect();
            parts.join(".")
        }
        join(&self.0)
    }

    /// The segments, a `*` as `None`: the pattern as data, for checks made elsewhere
    /// (the renderer bridge) that must not parse its text again. `None` for a derived
    /// pattern (it has a declared twin).
    pub fn segments(&self) -> Option<Vec<Option<String>>> {
        self.0
            .iter()
            .map(|s| match s {
                PatternSegment::Name(n) => Some(Some(n.clone())),
                PatternSegment::Any => Some(None),
                PatternSegment::Dotted(_) => None,
            })
            .collect()
    }

    /// [`Pattern::segments`] for a pattern that covers whole subtrees (the renderer
    /// policy's): a trailing `*` dropped, so `a.*` covers what `a` covers, and `*` alone
    /// is every key (no segments).
    pub fn covering_segments(&self) -> Option<Vec<Option<String>>> {
        let mut segments = self.segments()?;
        while segments.last() == Some(&None) {
            segments.pop();
        }
        Some(segments)
    }

    /// The forms that match the pattern's keys in a store without dot notation: its
    /// first 2, 3, … segments joined into one property name (`ai.apiKey` as one key;
    /// `accounts.a1` holding `token` for `accounts.*.token`).
    fn literal_forms(&self) -> Vec<Pattern> {
        (2..=self.0.len())
            .map(|n| {
                let mut segments = vec![PatternSegment::Dotted(self.0[..n].to_vec())];
                segments.extend_from_slice(&self.0[n..]);
                Pattern(segments)
            })
            .collect()
    }

    /// How many segments the pattern has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the first `min(len)` segments of both agree.
    pub(crate) fn agrees(&self, path: &[Segment]) -> bool {
        self.0.iter().zip(path).all(|(p, s)| p.matches(s))
    }
}

/// The sensitive keys of one store and the keys that seal them.
pub struct Secrets {
    /// Shortest first, so an outer location is found before any inside it.
    patterns: Vec<Pattern>,
    /// Bound into every envelope: a ciphertext moved to another store does not open.
    store_id: String,
    /// The first seals; every one opens. More than one only during a rotation.
    keys: Vec<DataKey>,
    /// The app supplies the keys: an envelope under another key means the app gave the
    /// wrong key (`DECRYPT_FAILED`). Otherwise the store keeps them, and such an envelope
    /// means its key was lost (`KEY_NOT_FOUND`).
    supplied: bool,
    /// No data key could be had (no keyring, a lost key): `(code, reason)`. Invariant
    /// while set: no value is sealed or opened, and no envelope in the document is
    /// rewritten, replaced or dropped; reads and writes of sensitive values fail with
    /// `code` for that key alone, and a read of a parent leaves them out.
    missing: Option<(&'static str, String)>,
}

impl Secrets {
    /// With `literal_keys` (a store without dot notation) each pattern also matches its
    /// keys written as one top-level property (see the module docs).
    pub fn new(
        mut patterns: Vec<Pattern>,
        store_id: String,
        keys: Vec<DataKey>,
        supplied: bool,
        literal_keys: bool,
    ) -> Secrets {
        if literal_keys {
            let forms: Vec<Pattern> = patterns.iter().flat_map(Pattern::literal_forms).collect();
            patterns.extend(forms);
        }
        let mut seen = HashSet::new();
        patterns.retain(|p| seen.insert(p.clone()));
        patterns.sort_by_key(|p| p.0.len());
        Secrets {
            patterns,
            store_id,
            keys,
            supplied,
            missing: None,
        }
    }

    /// The same, without a data key (see the `missing` field).
    pub fn without_key(mut self, code: &'static str, reason: String) -> Secrets {
        self.keys = Vec::new();
        self.missing = Some((code, reason));
        self
    }

    /// Why no data key is at hand, if none is: `(code, reason)`.
    pub fn missing(&self) -> Option<(&'static str, &str)> {
        self.missing
            .as_ref()
            .map(|(code, reason)| (*code, reason.as_str()))
    }

    /// A key supplied later (`rotateKey` while none was at hand): taken only if every
    /// envelope in `doc` opens with it; then the store reads and writes its secrets again.
    pub fn supply_key(&mut self, key: DataKey, doc: &Node) -> Result<()> {
        let missing = self.missing.take();
        let keys = std::mem::replace(&mut self.keys, vec![key]);
        let opened = self
            .locations(doc, &KeyPath::root())
            .into_iter()
            .try_for_each(|location| match doc.get(&location) {
                Some(sealed) if envelope_of(sealed).is_some() => {
                    self.open(&location, sealed).map(|_| ())
                }
                _ => Ok(()),
            });
        if let Err(err) = opened {
            self.missing = missing;
            self.keys = keys;
            return Err(err);
        }
        Ok(())
    }

    fn unavailable(&self, path: &KeyPath) -> Option<StoreError> {
        self.missing
            .as_ref()
            .map(|(code, reason)| StoreError::Crypto {
                code,
                key: path.to_string(),
                reason: reason.clone(),
            })
    }

    /// Where a change to `key` reaches sealed values: the key itself, or the location
    /// above it when it lies inside one. `None` when it reaches none.
    pub fn lifted(&self, key: &KeyPath) -> Option<KeyPath> {
        self.touches(key)
            .then(|| self.above(key).unwrap_or_else(|| key.clone()))
    }

    /// While no key is at hand: the envelopes at or below `lifted` in `doc`, which a
    /// change must leave as they are ([`Secrets::check_kept`]). Empty with a key.
    pub fn to_keep(&self, doc: &Node, lifted: &[KeyPath]) -> Vec<(KeyPath, Node)> {
        if self.missing.is_none() {
            return Vec::new();
        }
        let mut kept = Vec::new();
        for under in lifted {
            for location in self.locations(doc, under) {
                if let Some(value) = doc.get(&location) {
                    kept.push((location, value.clone()));
                }
            }
        }
        kept
    }

    /// Refuses a change that rewrote, replaced or dropped an envelope [`Secrets::to_keep`]
    /// found before it: without a key, nothing sealed may change.
    pub fn check_kept(&self, doc: &Node, kept: &[(KeyPath, Node)]) -> Result<()> {
        for (location, before) in kept {
            if doc.get(location) != Some(before) {
                return Err(self.unavailable(location).expect("kept only while missing"));
            }
        }
        Ok(())
    }

    /// The declared patterns as text (derived forms share their twin's text).
    pub fn patterns(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.patterns
            .iter()
            .map(Pattern::text)
            .filter(|t| seen.insert(t.clone()))
            .collect()
    }

    /// The declared patterns as data (see [`Pattern::segments`]).
    pub fn pattern_segments(&self) -> Vec<Vec<Option<String>>> {
        self.patterns.iter().filter_map(Pattern::segments).collect()
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    pub fn keys(&self) -> &[DataKey] {
        &self.keys
    }

    pub fn set_keys(&mut self, keys: Vec<DataKey>) {
        self.keys = keys;
    }

    /// Whether anything at, above or below `path` is sensitive. The cheap check every
    /// read and write makes first.
    pub fn touches(&self, path: &KeyPath) -> bool {
        !path.is_internal() && self.patterns.iter().any(|p| p.agrees(path.segments()))
    }

    /// The location strictly above `path`, when `path` lies inside a sealed value.
    pub fn above(&self, path: &KeyPath) -> Option<KeyPath> {
        let segments = path.segments();
        self.patterns
            .iter()
            .find(|p| p.0.len() < segments.len() && p.agrees(segments))
            .map(|p| path.prefix(p.0.len()))
    }

    /// Whether `path` is itself a location.
    fn is_location(&self, path: &KeyPath) -> bool {
        let segments = path.segments();
        self.patterns
            .iter()
            .any(|p| p.0.len() == segments.len() && p.agrees(segments))
    }

    /// The outermost locations that exist in `doc` at or below `under` (which must not
    /// lie inside a sealed value).
    pub fn locations(&self, doc: &Node, under: &KeyPath) -> Vec<KeyPath> {
        let Some(start) = doc.get(under) else {
            return Vec::new();
        };
        let mut found: Vec<KeyPath> = Vec::new();
        for pattern in &self.patterns {
            let depth = under.len();
            if pattern.0.len() < depth || !pattern.agrees(under.segments()) {
                continue;
            }
            let mut frontier = vec![(under.clone(), start)];
            for segment in &pattern.0[depth..] {
                let mut next = Vec::new();
                for (path, node) in frontier {
                    match (segment, node) {
                        (PatternSegment::Name(name), _) => {
                            let seg = match node {
                                Node::Array(_) => match name.parse::<usize>() {
                                    Ok(i) => Segment::Index(i),
                                    Err(_) => continue,
                                },
                                _ => Segment::Key(name.clone()),
                            };
                            if let Some(child) = node.child(&seg) {
                                next.push((path.child(seg), child));
                            }
                        }
                        (PatternSegment::Any, Node::Object(map)) => {
                            for (name, child) in map.iter() {
                                next.push((path.child(Segment::Key(name.to_string())), child));
                            }
                        }
                        (PatternSegment::Any, Node::Array(items)) => {
                            for (i, child) in items.iter().enumerate() {
                                next.push((path.child(Segment::Index(i)), child));
                            }
                        }
                        (PatternSegment::Any, _) => {}
                        (PatternSegment::Dotted(parts), Node::Object(map)) => {
                            for (name, child) in map.iter() {
                                if dotted_matches(parts, name) {
                                    next.push((path.child(Segment::Key(name.to_string())), child));
                                }
                            }
                        }
                        (PatternSegment::Dotted(_), _) => {}
                    }
                }
                frontier = next;
            }
            for (path, _) in frontier {
                if !found.iter().any(|f| f.is_prefix_of(&path)) {
                    found.push(path);
                }
            }
        }
        found
    }

    /// Seals `value`, found at location `path`.
    pub fn seal(&self, path: &KeyPath, value: &Node) -> Result<Node> {
        if let Some(err) = self.unavailable(path) {
            return Err(err);
        }
        let key = self
            .keys
            .first()
            .ok_or_else(|| StoreError::KeyUnavailable {
                code: "KEY_NOT_FOUND",
                reason: "no data key is available to encrypt a sensitive value".into(),
            })?;
        let envelope = crypto::seal(key, &self.store_id, path, value.to_json().as_bytes())?;
        Ok(Node::String(envelope.into()))
    }

    /// Opens the sealed value at location `path`. Anything but an envelope is refused.
    pub fn open(&self, path: &KeyPath, sealed: &Node) -> Result<Node> {
        if let Some(err) = self.unavailable(path) {
            return Err(err);
        }
        let text = match sealed {
            Node::String(text) => text.as_str(),
            _ => "",
        };
        let plain =
            crypto::open(&self.keys, &self.store_id, path, text).map_err(|err| match err {
                StoreError::Crypto {
                    code: "DECRYPT_FAILED",
                    key,
                    ..
                } if !self.supplied => StoreError::Crypto {
                    code: "KEY_NOT_FOUND",
                    key,
                    reason: "the key it was encrypted with is not kept for this store (a lost \
                             keyring entry or key file, or a store copied from elsewhere)"
                        .into(),
                },
                err => err,
            })?;
        let text = std::str::from_utf8(&plain).ok();
        text.and_then(|t| Node::from_json(t).ok())
            .ok_or_else(|| StoreError::Crypto {
                code: "SECRET_TAMPERED",
                key: path.to_string(),
                reason: "the decrypted value is not JSON".into(),
            })
    }

    /// The value at `key` as a reader sees it, every sealed value in it opened.
    pub fn reveal(&self, doc: &Node, key: &KeyPath) -> Result<Option<Node>> {
        if let Some(location) = self.above(key) {
            let Some(sealed) = doc.get(&location) else {
                return Ok(None);
            };
            let plain = self.open(&location, sealed)?;
            let rest = KeyPath::from_segments(
                &key.to_string(),
                key.segments()[location.len()..].to_vec(),
            )?;
            return Ok(plain.get(&rest).cloned());
        }
        let Some(node) = doc.get(key) else {
            return Ok(None);
        };
        let mut out = node.clone();
        for location in self.locations(doc, key) {
            let Some(sealed) = doc.get(&location) else {
                continue;
            };
            let relative_path = || {
                KeyPath::from_segments(
                    &location.to_string(),
                    location.segments()[key.len()..].to_vec(),
                )
            };
            if self.missing.is_some() && location.len() > key.len() {
                // Without a key, a parent reads with its secrets left out (the secret
                // itself fails below, in `open`, for that key alone).
                out.delete(&relative_path()?);
                continue;
            }
            let plain = self.open(&location, sealed)?;
            out.set(&relative_path()?, plain)?;
        }
        Ok(Some(out))
    }

    /// Before `ops` are applied to `work`: opens, in place, every sealed value an op
    /// changes from inside (a key below a location, or an append to one), so the op
    /// applies to the plaintext. [`Secrets::seal_ops`] seals it again.
    pub fn open_for_write(&self, work: &mut Node, ops: &[Op]) -> Result<()> {
        for op in ops {
            let key = op.key().clone();
            let location = match (self.above(&key), op) {
                (Some(location), _) => location,
                (None, Op::Append { .. }) if self.is_location(&key) => key,
                _ => continue,
            };
            if let Some(sealed) = work.get(&location).filter(|v| envelope_of(v).is_some()) {
                let plain = self.open(&location, sealed)?;
                work.set(&location, plain)?;
            }
        }
        Ok(())
    }

    /// After `ops` were applied to `work` (and validated): seals every location they
    /// touched, then rewrites each op that touches one as the final value at its key
    /// (lifted to the location when it lay inside one), so the journal only ever records
    /// envelopes. With `reseal` false an envelope already in place is kept (a rollback
    /// restoring sealed values); otherwise every value there is the caller's plaintext.
    pub fn seal_ops(&self, work: &mut Node, ops: &mut [Op], reseal: bool) -> Result<()> {
        let mut sealed: Vec<KeyPath> = Vec::new();
        for op in ops.iter_mut() {
            let key = op.key().clone();
            if !self.touches(&key) {
                continue;
            }
            let lifted = self.above(&key).unwrap_or(key);
            for location in self.locations(work, &lifted) {
                if sealed.contains(&location) {
                    continue;
                }
                let Some(value) = work.get(&location) else {
                    continue;
                };
                if reseal || envelope_of(value).is_none() {
                    let envelope = self.seal(&location, value)?;
                    work.set(&location, envelope)?;
                }
                sealed.push(location);
            }
            *op = match work.get(&lifted) {
                Some(value) => Op::Set {
                    key: lifted.clone(),
                    value: value.clone(),
                },
                None => Op::Delete {
                    key: lifted.clone(),
                },
            };
        }
        Ok(())
    }

    /// Every envelope in `doc` sealed with a key other than the current one, sealed
    /// again with the current one (a rotation). Nothing else is touched; an envelope
    /// that does not open fails the whole call.
    pub fn reseal_all(&self, doc: &Node) -> Result<Vec<(KeyPath, Node)>> {
        let current = self.keys.first().map(|k| k.id().to_string());
        let mut out = Vec::new();
        for location in self.locations(doc, &KeyPath::root()) {
            let Some(sealed) = doc.get(&location) else {
                continue;
            };
            match envelope_of(sealed) {
                Some(text) if Some(crypto::key_id(text)) != current.as_deref() => {}
                _ => continue,
            }
            let plain = self.open(&location, sealed)?;
            out.push((location.clone(), self.seal(&location, &plain)?));
        }
        Ok(out)
    }

    /// Locations in `doc` that hold a plaintext (written before the key was sensitive).
    pub fn plaintext_locations(&self, doc: &Node) -> Vec<KeyPath> {
        self.locations(doc, &KeyPath::root())
            .into_iter()
            .filter(|l| doc.get(l).and_then(envelope_of).is_none())
            .collect()
    }

    /// Seals, in place, every plaintext at a location of `doc` (a document put in place
    /// whole: defaults, a backup); returns where.
    pub fn seal_plaintext(&self, doc: &mut Node) -> Result<Vec<KeyPath>> {
        if self.missing.is_some() {
            // Nothing can be sealed; what is there is left as it is.
            return Ok(Vec::new());
        }
        let plain = self.plaintext_locations(doc);
        for location in &plain {
            if let Some(value) = doc.get(location) {
                let envelope = self.seal(location, value)?;
                doc.set(location, envelope)?;
            }
        }
        Ok(plain)
    }
}

/// The envelope a node holds, if it holds one.
fn envelope_of(node: &Node) -> Option<&str> {
    match node {
        Node::String(text) if crypto::is_envelope(text) => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }

    fn secrets(patterns: &[&str]) -> Secrets {
        secrets_with(patterns, false)
    }

    /// With `literal_keys`: a store without dot notation.
    fn secrets_with(patterns: &[&str], literal_keys: bool) -> Secrets {
        Secrets::new(
            patterns
                .iter()
                .map(|p| Pattern::parse(p).unwrap())
                .collect(),
            "store-1".into(),
            vec![DataKey::generate().unwrap()],
            true,
            literal_keys,
        )
    }

    fn doc(json: &str) -> Node {
        Node::from_json(json).unwrap()
    }

    fn set(key: &str, json: &str) -> Op {
        Op::Set {
            key: p(key),
            value: doc(json),
        }
    }

    /// Applies `ops` the way the engine does: open, apply, seal.
    fn write(s: &Secrets, base: &Node, mut ops: Vec<Op>) -> (Node, Vec<Op>) {
        let mut work = base.clone();
        s.open_for_write(&mut work, &ops).unwrap();
        for op in &ops {
            match op {
                Op::Set { key, value } => {
                    work.set(key, value.clone()).unwrap();
                }
                Op::Delete { key } => {
                    work.delete(key);
                }
                Op::Append { key, value } => work.append(key, value.clone()).unwrap(),
            }
        }
        s.seal_ops(&mut work, &mut ops, true).unwrap();
        (work, ops)
    }

    #[test]
    fn patterns_parse_and_refuse_nonsense() {
        assert_eq!(Pattern::parse("a.*.b").unwrap().text(), "a.*.b");
        for bad in ["", "a..b", "a.__proto__", "__internal__.x", "."] {
            assert_eq!(
                Pattern::parse(bad).unwrap_err().code(),
                "INVALID_OPTION",
                "{bad}"
            );
        }
    }

    #[test]
    fn without_a_key_secrets_are_out_of_reach_and_untouched_until_one_is_supplied() {
        let keyed = secrets(&["ai.apiKey"]);
        let key = keyed.keys()[0].clone();
        let (d, _) = write(
            &keyed,
            &doc("{}"),
            vec![set("ai", r#"{"apiKey":"sk-1","model":"m"}"#)],
        );
        let mut s = Secrets::new(
            vec![Pattern::parse("ai.apiKey").unwrap()],
            "store-1".into(),
            Vec::new(),
            true,
            false,
        )
        .without_key("KEYRING_UNAVAILABLE", "no keyring".into());
        assert_eq!(s.missing().map(|(c, _)| c), Some("KEYRING_UNAVAILABLE"));
        assert_eq!(
            s.reveal(&d, &p("ai.apiKey")).unwrap_err().code(),
            "KEYRING_UNAVAILABLE"
        );
        assert_eq!(
            s.reveal(&d, &p("ai")).unwrap(),
            Some(doc(r#"{"model":"m"}"#)),
            "a parent reads without it"
        );
        assert_eq!(
            s.seal(&p("ai.apiKey"), &doc("1")).unwrap_err().code(),
            "KEYRING_UNAVAILABLE"
        );
        // Any change that would rewrite, replace or drop the envelope is refused.
        let kept = s.to_keep(&d, &[s.lifted(&p("ai")).unwrap()]);
        assert_eq!(kept.len(), 1);
        let mut dropped = d.clone();
        dropped.delete(&p("ai"));
        assert!(s.check_kept(&dropped, &kept).is_err());
        let mut beside = d.clone();
        beside.set(&p("ai.model"), doc(r#""n""#)).unwrap();
        assert_eq!(s.lifted(&p("ai.model")), None);
        assert!(s.check_kept(&beside, &kept).is_ok());
        // A wrong key is not taken; the right one opens everything again.
        assert!(s.supply_key(DataKey::generate().unwrap(), &d).is_err());
        assert!(s.missing().is_some());
        s.supply_key(key, &d).unwrap();
        assert!(s.missing().is_none());
        assert_eq!(
            s.reveal(&d, &p("ai.apiKey")).unwrap(),
            Some(doc(r#""sk-1""#))
        );
    }

    #[test]
    fn patterns_that_could_never_match_a_key_are_refused_by_name() {
        let deep = vec!["a"; MAX_DEPTH + 1].join(".");
        for bad in ["accounts[0].token", "tokens\\.github", "a]", deep.as_str()] {
            let err = Pattern::parse(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_OPTION", "{bad}");
            assert!(err.to_string().contains("can never match"), "{err}");
            assert!(
                err.to_string().contains(&bad[..bad.len().min(100)]),
                "names it: {err}"
            );
        }
        // What the refusal suggests does match an array item.
        let s = secrets(&["accounts.0.token"]);
        assert_eq!(
            s.locations(
                &doc(r#"{"accounts":[{"token":"t"},{"token":"u"}]}"#),
                &KeyPath::root()
            ),
            [p("accounts[0].token")]
        );
    }

    #[test]
    fn without_dot_notation_a_dotted_property_name_is_matched_too() {
        let s = secrets_with(&["ai.apiKey", "accounts.*.token"], true);
        let literal = |k: &str| KeyPath::literal(k).unwrap();
        assert!(s.touches(&literal("ai.apiKey")));
        assert!(s.touches(&literal("accounts.a1")));
        assert!(s.touches(&literal("accounts.a1.token")));
        assert!(!s.touches(&literal("ai.model")));
        assert!(
            !s.touches(&literal("ai.apiKey.x.y")),
            "more parts than the pattern"
        );
        let d = doc(
            r#"{"ai.apiKey":"sk-1","accounts.a1":{"token":"t1","n":1},"accounts.a2.token":"t2","ai":{"apiKey":"sk-2"},"ai.model":"m"}"#,
        );
        let mut found: Vec<String> = s
            .locations(&d, &KeyPath::root())
            .iter()
            .map(|l| l.to_string())
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "accounts\\.a1.token",
                "accounts\\.a2\\.token",
                "ai.apiKey",
                "ai\\.apiKey"
            ]
        );
        // Declared patterns are listed once, as written.
        assert_eq!(s.patterns(), ["ai.apiKey", "accounts.*.token"]);
        assert_eq!(
            s.pattern_segments(),
            [
                vec![Some("ai".to_string()), Some("apiKey".to_string())],
                vec![
                    Some("accounts".to_string()),
                    None,
                    Some("token".to_string())
                ]
            ]
        );
    }

    #[test]
    fn touches_above_and_locations() {
        let s = secrets(&["ai.apiKey", "spaces.*.token", "auth"]);
        assert!(s.touches(&p("ai")));
        assert!(s.touches(&KeyPath::root()));
        assert!(s.touches(&p("ai.apiKey")));
        assert!(!s.touches(&p("theme")));
        assert!(!s.touches(&p("ai.model")));
        assert_eq!(s.above(&p("auth.token.x")), Some(p("auth")));
        assert_eq!(s.above(&p("auth")), None);
        let d = doc(r#"{"ai":{"apiKey":"k"},"spaces":[{"token":"a"},{"x":1}],"auth":{"t":1}}"#);
        let mut found: Vec<String> = s
            .locations(&d, &KeyPath::root())
            .iter()
            .map(|l| l.to_string())
            .collect();
        found.sort();
        assert_eq!(found, ["ai.apiKey", "auth", "spaces[0].token"]);
    }

    #[test]
    fn writes_seal_and_reads_reveal_at_every_depth() {
        let s = secrets(&["ai.apiKey", "auth"]);
        let (d, ops) = write(
            &s,
            &doc("{}"),
            vec![set("ai", r#"{"apiKey":"sk-canary","model":"m"}"#)],
        );
        let raw = d.to_json();
        assert!(!raw.contains("sk-canary"), "{raw}");
        assert!(
            !format!("{ops:?}").contains("sk-canary"),
            "the journal op is sealed"
        );
        assert_eq!(
            s.reveal(&d, &p("ai.apiKey")).unwrap(),
            Some(doc(r#""sk-canary""#))
        );
        assert_eq!(
            s.reveal(&d, &KeyPath::root()).unwrap().unwrap().to_json(),
            r#"{"ai":{"apiKey":"sk-canary","model":"m"}}"#
        );
        // A write inside a sealed object opens it, changes it and seals it again.
        let (d, ops) = write(&s, &d, vec![set("auth.token", r#""t-1""#)]);
        let (d, _) = write(&s, &d, vec![set("auth.refresh", r#""r-1""#)]);
        assert!(matches!(&ops[0], Op::Set { key, .. } if *key == p("auth")));
        assert_eq!(
            s.reveal(&d, &p("auth")).unwrap().unwrap().to_json(),
            r#"{"token":"t-1","refresh":"r-1"}"#
        );
        assert_eq!(
            s.reveal(&d, &p("auth.token")).unwrap(),
            Some(doc(r#""t-1""#))
        );
        assert!(!d.to_json().contains("t-1"));
        // Deleting inside it keeps it sealed; deleting it removes it.
        let (d, _) = write(
            &s,
            &d,
            vec![Op::Delete {
                key: p("auth.token"),
            }],
        );
        assert_eq!(
            s.reveal(&d, &p("auth")).unwrap().unwrap().to_json(),
            r#"{"refresh":"r-1"}"#
        );
    }

    #[test]
    fn a_plaintext_where_an_envelope_belongs_is_refused_on_read() {
        let s = secrets(&["ai.apiKey"]);
        let d = doc(r#"{"ai":{"apiKey":"sk-legacy"}}"#);
        assert_eq!(
            s.reveal(&d, &p("ai.apiKey")).unwrap_err().code(),
            "SECRET_NOT_ENCRYPTED"
        );
        assert_eq!(
            s.reveal(&d, &p("ai")).unwrap_err().code(),
            "SECRET_NOT_ENCRYPTED"
        );
        assert_eq!(s.plaintext_locations(&d), vec![p("ai.apiKey")]);
        let (d, _) = write(&s, &d, vec![set("ai.apiKey", r#""sk-new""#)]);
        assert!(s.plaintext_locations(&d).is_empty());
    }

    #[test]
    fn a_rotation_reseals_under_the_new_key_only_what_the_old_one_sealed() {
        let mut s = secrets(&["a", "b"]);
        let (d, _) = write(&s, &doc("{}"), vec![set("a", "1"), set("b", "2")]);
        let old = s.keys()[0].clone();
        let new = DataKey::generate().unwrap();
        s.set_keys(vec![new.clone(), old]);
        let resealed = s.reseal_all(&d).unwrap();
        assert_eq!(resealed.len(), 2);
        let mut d = d;
        for (k, v) in resealed {
            d.set(&k, v).unwrap();
        }
        assert!(
            s.reseal_all(&d).unwrap().is_empty(),
            "all under the new key now"
        );
        s.set_keys(vec![new]);
        assert_eq!(s.reveal(&d, &p("b")).unwrap(), Some(doc("2")));
    }

    #[test]
    fn covering_segments_drop_a_trailing_star_and_refusals_name_the_option() {
        let segs = |t: &str| {
            Pattern::parse_option(t, "read")
                .unwrap()
                .covering_segments()
                .unwrap()
        };
        assert_eq!(segs("*"), Vec::<Option<String>>::new());
        assert_eq!(segs("a.*"), vec![Some("a".to_string())]);
        assert_eq!(
            segs("a.*.c"),
            vec![Some("a".into()), None, Some("c".into())]
        );
        for bad in ["a[0]", "a..b", "__proto__.x", "a\\.b", ""] {
            let err = Pattern::parse_option(bad, "origins.read").err().unwrap();
            assert_eq!(err.code(), "INVALID_OPTION", "{bad}");
            assert!(err.to_string().contains("origins.read"), "{err}");
        }
    }
}
