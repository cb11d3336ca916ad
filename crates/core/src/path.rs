//! Key paths: `settings.theme`, `list[0].name`, `a\.b` (a key holding a dot).
//!
//! The grammar is dot-prop 9's, which electron-store uses, with one difference: where
//! dot-prop silently ignores a `__proto__`, `constructor` or `prototype` segment, we
//! refuse the key with `INVALID_KEY`.

use super::error::{Result, StoreError};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Segments that would reach an object's prototype in JS. Refused everywhere.
pub const FORBIDDEN_SEGMENTS: [&str; 3] = ["__proto__", "constructor", "prototype"];

/// The key conf and electron-store keep their migration bookkeeping under.
pub const INTERNAL_KEY: &str = "__internal__";

/// Deepest nesting a stored document may reach. serde_json refuses to parse deeper than
/// 128 levels, so anything deeper could be written but never reloaded.
pub const MAX_DEPTH: usize = 100;

/// One step of a path. Equality and hashing go by the name a segment gives JS: `a.0`
/// and `a[0]` are the same step, since an index on an object reads the property of its
/// digits and a name of canonical digits on an array reads that item (dot-prop's rule,
/// see `document`). So a listener on one spelling hears a write through the other.
#[derive(Debug, Clone)]
pub enum Segment {
    /// An object property (`a` in `a.b`).
    Key(String),
    /// An array index written with brackets (`0` in `a[0]`).
    Index(usize),
}

impl PartialEq for Segment {
    fn eq(&self, other: &Segment) -> bool {
        match (self, other) {
            (Segment::Key(a), Segment::Key(b)) => a == b,
            (Segment::Index(a), Segment::Index(b)) => a == b,
            (Segment::Key(name), Segment::Index(i)) | (Segment::Index(i), Segment::Key(name)) => {
                name.parse::<usize>().is_ok_and(|n| n == *i) && *name == i.to_string()
            }
        }
    }
}

impl Eq for Segment {}

impl std::hash::Hash for Segment {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Segment::Key(name) => name.hash(state),
            Segment::Index(i) => i.to_string().hash(state),
        }
    }
}

/// A parsed key path. Invariant: no segment is a forbidden name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KeyPath {
    segments: Vec<Segment>,
}

impl KeyPath {
    /// The whole store.
    pub fn root() -> KeyPath {
        KeyPath::default()
    }

    /// Parses a dot-notation key.
    pub fn parse(key: &str) -> Result<KeyPath> {
        // Most keys are plain names and dots: split them without the escape and index
        // grammar (the same segments, checked by a test against the full parser).
        let segments = match split_plain(key) {
            Some(segments) => segments,
            None => parse_segments(key).map_err(|reason| StoreError::invalid_key(key, reason))?,
        };
        KeyPath::from_segments(key, segments)
    }

    /// A key taken literally as one top-level property (`accessPropertiesByDotNotation: false`).
    pub fn literal(key: &str) -> Result<KeyPath> {
        KeyPath::from_segments(key, vec![Segment::Key(key.to_string())])
    }

    pub fn from_segments(display: &str, segments: Vec<Segment>) -> Result<KeyPath> {
        for segment in &segments {
            if let Segment::Key(name) = segment {
                check_property_name(display, name)?;
            }
        }
        if segments.len() > MAX_DEPTH {
            return Err(StoreError::invalid_key(
                display,
                format!("it is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(KeyPath { segments })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_prefix_of(&self, other: &KeyPath) -> bool {
        other.segments.starts_with(&self.segments)
    }

    /// Whether a change at one path can change the value at the other.
    pub fn overlaps(&self, other: &KeyPath) -> bool {
        self.is_prefix_of(other) || other.is_prefix_of(self)
    }

    /// Whether the path starts at conf's reserved `__internal__` key.
    pub fn is_internal(&self) -> bool {
        matches!(self.segments.first(), Some(Segment::Key(k)) if k == INTERNAL_KEY)
    }

    /// The first `n` segments (all of them when `n` is larger).
    pub fn prefix(&self, n: usize) -> KeyPath {
        KeyPath {
            segments: self.segments[..n.min(self.segments.len())].to_vec(),
        }
    }

    /// The path without its last segment; `None` for the root.
    pub fn parent(&self) -> Option<KeyPath> {
        (!self.is_root()).then(|| self.prefix(self.len() - 1))
    }

    /// The segments as property names, an index as its digits (how JS names them).
    pub fn segment_names(&self) -> Vec<String> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Key(name) => name.clone(),
                Segment::Index(i) => i.to_string(),
            })
            .collect()
    }

    pub fn last(&self) -> Option<&Segment> {
        self.segments.last()
    }

    pub fn child(&self, segment: Segment) -> KeyPath {
        let mut segments = self.segments.clone();
        segments.push(segment);
        KeyPath { segments }
    }
}

/// Refuses a property name that would reach a prototype in JS.
pub fn check_property_name(display: &str, name: &str) -> Result<()> {
    if FORBIDDEN_SEGMENTS.contains(&name) {
        return Err(StoreError::invalid_key(
            display,
            format!("`{name}` is a reserved name that could reach an object prototype"),
        ));
    }
    Ok(())
}

/// As the journal stores a key: names as strings, bracket indices as numbers
/// (`["list", 3, "name"]`).
impl Serialize for KeyPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.segments.len()))?;
        for segment in &self.segments {
            match segment {
                Segment::Key(name) => seq.serialize_element(name)?,
                Segment::Index(i) => seq.serialize_element(i)?,
            }
        }
        seq.end()
    }
}

/// The journal's form back, checked as any key is: a record naming `__proto__` does not
/// parse.
impl<'de> Deserialize<'de> for KeyPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Key(String),
            Index(usize),
        }
        let segments = Vec::<Stored>::deserialize(deserializer)?
            .into_iter()
            .map(|s| match s {
                Stored::Key(name) => Segment::Key(name),
                Stored::Index(i) => Segment::Index(i),
            })
            .collect();
        KeyPath::from_segments("journal", segments).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for KeyPath {
    /// Writes the path back in dot notation, escaping what needs it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    for c in name.chars() {
                        // dot-prop reads `]` outside an index as itself, and `\]` as two
                        // characters: only these three need escaping.
                        if matches!(c, '.' | '[' | '\\') {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Start,
    Property,
    Index,
    IndexEnd,
}

/// dot-prop 9's `getPathSegments`, character for character, returning a reason where it
/// throws.
/// `key` split at its dots, or `None` when it uses escapes or indices (`\\`, `[`, `]`).
/// One pass over the bytes: every `get` and `set` starts here.
fn split_plain(key: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::with_capacity(4);
    let mut start = 0;
    for (i, byte) in key.bytes().enumerate() {
        match byte {
            b'.' => {
                segments.push(Segment::Key(key[start..i].to_owned()));
                start = i + 1;
            }
            b'\\' | b'[' | b']' => return None,
            _ => {}
        }
    }
    segments.push(Segment::Key(key[start..].to_owned()));
    Some(segments)
}

fn parse_segments(path: &str) -> std::result::Result<Vec<Segment>, &'static str> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut part = Part::Start;
    let mut ignoring = false;
    for c in path.chars() {
        match c {
            '\\' => {
                if part == Part::Index {
                    return Err("invalid character in an index");
                }
                if part == Part::IndexEnd {
                    return Err("invalid character after an index");
                }
                if ignoring {
                    current.push(c);
                }
                part = Part::Property;
                ignoring = !ignoring;
            }
            '.' => {
                if part == Part::Index {
                    return Err("invalid character in an index");
                }
                if part == Part::IndexEnd {
                    part = Part::Property;
                    continue;
                }
                if ignoring {
                    ignoring = false;
                    current.push(c);
                    continue;
                }
                parts.push(Segment::Key(std::mem::take(&mut current)));
                part = Part::Property;
            }
            '[' => {
                if part == Part::Index {
                    return Err("invalid character in an index");
                }
                if part == Part::IndexEnd {
                    part = Part::Index;
                    continue;
                }
                if ignoring {
                    ignoring = false;
                    current.push(c);
                    continue;
                }
                if part == Part::Property {
                    parts.push(Segment::Key(std::mem::take(&mut current)));
                }
                part = Part::Index;
            }
            ']' if part == Part::Index => {
                let index = current
                    .parse::<usize>()
                    .map_err(|_| "an index must be a number")?;
                current.clear();
                parts.push(Segment::Index(index));
                part = Part::IndexEnd;
            }
            _ => {
                if part == Part::Index && !c.is_ascii_digit() {
                    return Err("invalid character in an index");
                }
                if part == Part::IndexEnd {
                    return Err("invalid character after an index");
                }
                if part == Part::Start {
                    part = Part::Property;
                }
                if ignoring {
                    ignoring = false;
                    current.push('\\');
                }
                current.push(c);
            }
        }
    }
    if ignoring {
        current.push('\\');
    }
    match part {
        Part::Property => parts.push(Segment::Key(current)),
        Part::Index => return Err("an index was not closed"),
        Part::Start => parts.push(Segment::Key(String::new())),
        Part::IndexEnd => {}
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(path: &str) -> Vec<Segment> {
        KeyPath::parse(path).unwrap().segments
    }

    fn k(s: &str) -> Segment {
        Segment::Key(s.to_string())
    }

    #[test]
    fn plain_keys_split_as_the_full_grammar_parses_them() {
        for key in [
            "",
            ".",
            "a",
            "a.b",
            "a..b",
            ".a",
            "a.",
            "a.b.c.d",
            "ünï.cödé",
            "a b.c-d",
        ] {
            let full = parse_segments(key).unwrap();
            assert_eq!(keys(key), full, "{key:?}");
        }
    }

    #[test]
    fn dots_separate_segments() {
        assert_eq!(keys("a.b.c"), vec![k("a"), k("b"), k("c")]);
        assert_eq!(keys("theme"), vec![k("theme")]);
        assert_eq!(keys(""), vec![k("")]);
    }

    #[test]
    fn backslash_escapes_a_dot() {
        assert_eq!(keys(r"a\.b.c"), vec![k("a.b"), k("c")]);
        assert_eq!(keys(r"a\\b"), vec![k(r"a\b")]);
        assert_eq!(keys(r"a\b"), vec![k(r"a\b")]);
    }

    #[test]
    fn brackets_are_indices() {
        assert_eq!(
            keys("list[0].name"),
            vec![k("list"), Segment::Index(0), k("name")]
        );
        assert_eq!(
            keys("m[1][2]"),
            vec![k("m"), Segment::Index(1), Segment::Index(2)]
        );
    }

    #[test]
    fn malformed_indices_are_refused() {
        for bad in ["a[x]", "a[0", "a[0]b", "a[1.5]"] {
            let err = KeyPath::parse(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_KEY", "{bad}");
        }
    }

    #[test]
    fn prototype_segments_are_refused_anywhere() {
        for bad in [
            "__proto__",
            "a.__proto__",
            "constructor.x",
            "a.prototype",
            "a[0].constructor",
        ] {
            let err = KeyPath::parse(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_KEY", "{bad}");
            assert_eq!(err.key(), Some(bad));
        }
        assert_eq!(
            KeyPath::literal("__proto__").unwrap_err().code(),
            "INVALID_KEY"
        );
        // An escaped dot does not smuggle one through either.
        assert!(KeyPath::parse(r"a\.b.__proto__").is_err());
        // A name that merely contains one is fine.
        assert!(KeyPath::parse("my__proto__").is_ok());
    }

    #[test]
    fn too_deep_keys_are_refused() {
        let deep = vec!["a"; MAX_DEPTH + 1].join(".");
        assert_eq!(KeyPath::parse(&deep).unwrap_err().code(), "INVALID_KEY");
    }

    #[test]
    fn the_journal_form_is_names_and_numbers_and_is_checked_back() {
        let key = KeyPath::parse("list[3].na\\.me").unwrap();
        let text = serde_json::to_string(&key).unwrap();
        assert_eq!(text, r#"["list",3,"na.me"]"#);
        assert_eq!(serde_json::from_str::<KeyPath>(&text).unwrap(), key);
        assert!(serde_json::from_str::<KeyPath>(r#"["a","__proto__"]"#).is_err());
        assert!(serde_json::from_str::<KeyPath>(r#"["a",-1]"#).is_err());
        assert!(serde_json::from_str::<KeyPath>(r#"[true]"#).is_err());
    }

    #[test]
    fn display_round_trips() {
        for key in [
            "a.b",
            r"a\.b.c",
            "list[3].x",
            r"back\\slash",
            "list[0].].na",
            "]a",
            r"a\[",
        ] {
            let parsed = KeyPath::parse(key).unwrap();
            assert_eq!(
                KeyPath::parse(&parsed.to_string()).unwrap(),
                parsed,
                "{key}"
            );
        }
    }

    #[test]
    fn overlap_is_ancestry_either_way() {
        let a = KeyPath::parse("a").unwrap();
        let ab = KeyPath::parse("a.b").unwrap();
        let ac = KeyPath::parse("a.c").unwrap();
        assert!(a.overlaps(&ab) && ab.overlaps(&a));
        assert!(!ab.overlaps(&ac));
        assert!(KeyPath::root().overlaps(&ac));
    }

    #[test]
    fn a_number_name_and_an_index_are_the_same_step() {
        use std::collections::HashSet;
        let dotted = KeyPath::parse("list.0.name").unwrap();
        let bracketed = KeyPath::parse("list[0].name").unwrap();
        assert_eq!(dotted, bracketed);
        assert!(KeyPath::parse("list[0]").unwrap().is_prefix_of(&dotted));
        assert_eq!(HashSet::from([dotted, bracketed]).len(), 1);
        for other in ["list.00.name", "list.1.name", "list.+0.name"] {
            assert_ne!(
                KeyPath::parse(other).unwrap(),
                KeyPath::parse("list[0].name").unwrap()
            );
        }
    }
}
