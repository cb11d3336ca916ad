//! The engine as a binding calls it ([`Engine::text`]): keys as the app writes them (dot
//! paths, or literal names without `accessPropertiesByDotNotation`), values, reports and
//! listings as JSON text. A binding then only converts strings, numbers and errors.
//!
//! Each method is the engine method of the same name after parsing; a write returns the
//! change's sequence number.

use super::events::user_json;
use super::state::*;
use crate::document::Node;
use crate::document::{object_entries, parse_value};
use crate::error::{Result, StoreError};
use crate::history;
use crate::path::KeyPath;
use crate::store_files::HISTORY_DIR;

/// A value as a binding hands it to JS, with no JSON for a primitive on either side:
/// null, booleans and numbers as themselves, and one [`Read::Text`] for strings, objects
/// and arrays (see there how JS tells them apart).
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Null,
    Bool(bool),
    Number(f64),
    /// An object or array as its compact JSON (conf's `__internal__` left out at the
    /// root), which starts with `{` or `[`; a string as itself, except that one starting
    /// with `{`, `[` or NUL gets a NUL put before it. So JS reads it by its first
    /// character: `{` or `[`, `JSON.parse`; NUL, drop it; anything else, the string.
    Text(String),
}

/// A string value as [`Read::Text`] carries it.
fn string_text(s: &str) -> String {
    if s.starts_with(['{', '[', '\0']) {
        format!("\0{s}")
    } else {
        s.to_owned()
    }
}

/// Called once with a text result (a rebuilt state, a report).
pub type TextCompletion = Box<dyn FnOnce(Result<String>) + Send>;

/// A view of an [`Engine`] that speaks text; see the module doc.
pub struct Text<'a> {
    engine: &'a Engine,
}

impl Engine {
    /// The engine with keys and values as text.
    pub fn text(&self) -> Text<'_> {
        Text { engine: self }
    }
}

impl Text<'_> {
    /// `key` as the store reads it: a dot path, or one literal name.
    pub fn key(&self, key: &str) -> Result<KeyPath> {
        if self.engine.literal_keys {
            KeyPath::literal(key)
        } else {
            KeyPath::parse(key)
        }
    }

    /// The value at `key` (see [`Read`]), `None` when absent.
    pub fn read(&self, key: &str) -> Result<Option<Read>> {
        let path = self.key(key)?;
        self.engine.get_with(&path, |node| match node {
            Node::Null => Read::Null,
            Node::Bool(b) => Read::Bool(*b),
            // `as_f64` always answers without serde_json's arbitrary precision; the text's
            // nearest double is what `JSON.parse` would read otherwise.
            Node::Number(n) => Read::Number(
                n.as_f64()
                    .unwrap_or_else(|| n.to_string().parse().unwrap_or(f64::NAN)),
            ),
            Node::String(s) => Read::Text(string_text(s)),
            Node::Array(_) | Node::Object(_) => Read::Text(user_json(&path, node)),
        })
    }

    pub fn has(&self, key: &str) -> Result<bool> {
        self.engine.has(&self.key(key)?)
    }

    pub fn set(&self, key: &str, json: &str) -> Result<u64> {
        let path = self.key(key)?;
        let value = parse_value(&path, json)?;
        // `set_many` of one: [`Engine::set`] with the path moved, not cloned.
        Ok(self.engine.set_many(vec![(path, value)])?.seq)
    }

    /// Sets every key of the object in `json` as one change.
    pub fn set_many(&self, json: &str) -> Result<u64> {
        let entries = object_entries(json, self.engine.literal_keys)?;
        Ok(self.engine.set_many(entries)?.seq)
    }

    pub fn append_to_array(&self, key: &str, json: &str) -> Result<u64> {
        let path = self.key(key)?;
        let value = parse_value(&path, json)?;
        Ok(self.engine.append(&path, value)?.seq)
    }

    pub fn delete(&self, key: &str) -> Result<u64> {
        Ok(self.engine.delete(&self.key(key)?)?.seq)
    }

    pub fn reset(&self, keys: &[String]) -> Result<u64> {
        let paths = keys
            .iter()
            .map(|k| self.key(k))
            .collect::<Result<Vec<_>>>()?;
        Ok(self.engine.reset(&paths)?.seq)
    }

    pub fn clear(&self) -> Result<u64> {
        Ok(self.engine.clear()?.seq)
    }

    /// Replaces the whole store (conf's `__internal__` bookkeeping kept).
    pub fn replace(&self, json: &str) -> Result<u64> {
        Ok(self
            .engine
            .replace(parse_value(&KeyPath::root(), json)?)?
            .seq)
    }

    /// Replaces the whole document, bookkeeping included: a rollback.
    pub fn restore(&self, json: &str) -> Result<u64> {
        Ok(self
            .engine
            .restore(parse_value(&KeyPath::root(), json)?)?
            .seq)
    }

    /// Writes conf's migration bookkeeping: `key` is always a dot path
    /// (`__internal__.migrations.version`), whatever the store's key style.
    pub fn set_internal(&self, key: &str, json: &str) -> Result<u64> {
        let path = KeyPath::parse(key)?;
        let value = parse_value(&path, json)?;
        Ok(self.engine.set_internal(&path, value)?.seq)
    }

    /// Starts reporting changes to `key` (`None`: the whole store). Returns an id.
    pub fn watch(&self, key: Option<&str>) -> Result<u64> {
        let path = match key {
            Some(key) => self.key(key)?,
            None => KeyPath::root(),
        };
        Ok(self.engine.watch(path))
    }

    /// The changes since the last call (see [`Engine::take_events`]) as one JSON array,
    /// `None` when there are none: `[{ watchId, seq, path?, newValue?, oldValue? }]`, the
    /// values as JSON (absent where the key is), `path` for a key feed as one string per
    /// segment. One text for the batch: the JS side parses it once.
    pub fn take_events(&self) -> Option<String> {
        let events = self.engine.take_events();
        if events.is_empty() {
            return None;
        }
        let mut out = String::from("[");
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out += &format!(r#"{{"watchId":{},"seq":{}"#, event.watch_id, event.seq);
            if let Some(path) = &event.path {
                out += r#","path":"#;
                out += &serde_json::Value::from(path.segment_names()).to_string();
            }
            for (name, value) in [("newValue", &event.new_json), ("oldValue", &event.old_json)] {
                if let Some(json) = value {
                    out += &format!(r#","{name}":{json}"#);
                }
            }
            out.push('}');
        }
        out.push(']');
        Some(out)
    }

    /// What opening found and did (see [`crate::options::OpenReport`]).
    pub fn open_report(&self) -> Result<String> {
        serde_json::to_string(self.engine.report()).map_err(|e| self.unwritable(e))
    }

    /// What the store has been doing (see [`crate::stats::Report`]).
    pub fn stats(&self) -> Result<String> {
        serde_json::to_string(&self.engine.stats()?).map_err(|e| self.unwritable(e))
    }

    /// Every recorded state: `[{ timestamp, size, hash, kind }]`, newest first.
    pub fn list_history(&self) -> Result<String> {
        Ok(history::listing_json(&self.engine.list_history()?))
    }

    /// [`Engine::state_at`], the state as snapshot text.
    pub fn state_at(&self, timestamp: String, done: TextCompletion) {
        self.engine.state_at(
            timestamp,
            Box::new(move |state| {
                done(state.and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| StoreError::HistoryCorrupt {
                        file: HISTORY_DIR.into(),
                        reason: "the rebuilt state is not text".into(),
                    })
                }))
            }),
        );
    }

    /// [`Engine::verify_history`]: `{ ok, entries, verified, brokenAt, reason }`.
    pub fn verify_history(&self, done: TextCompletion) {
        self.engine
            .verify_history(Box::new(move |report| done(report.map(|r| r.to_json()))));
    }

    /// [`Engine::write_backup`], the path as text.
    pub fn write_backup(&self, file_name: &str) -> Result<String> {
        let path = self.engine.write_backup(file_name)?;
        Ok(path.to_string_lossy().into_owned())
    }

    /// One of the engine's own reports could not be written as JSON.
    fn unwritable(&self, e: serde_json::Error) -> StoreError {
        StoreError::Serialize {
            file: self.engine.path().to_path_buf(),
            reason: format!("a report could not be written as JSON ({e})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::EngineOptions;
    use crate::sim_fs::SimFs;
    use std::sync::Arc;

    fn open(literal_keys: bool) -> Engine {
        let mut options = EngineOptions::new("/app/config.json", Arc::new(SimFs::new()));
        options.literal_keys = literal_keys;
        Engine::open(options).unwrap()
    }

    /// The value at `key`, read as the store's key style reads it, as JSON.
    fn json(engine: &Engine, key: &str) -> Option<String> {
        engine.get_json(&engine.text().key(key).unwrap()).unwrap()
    }

    #[test]
    fn keys_are_dot_paths_unless_the_store_says_literal() {
        let dotted = open(false);
        dotted.text().set("a.b", "1").unwrap();
        assert_eq!(json(&dotted, "a").as_deref(), Some(r#"{"b":1}"#));

        let literal = open(true);
        literal.text().set("a.b", "1").unwrap();
        assert_eq!(json(&literal, "a"), None);
        assert_eq!(literal.store_json().unwrap(), r#"{"a.b":1}"#);
        literal.text().set_many(r#"{"c.d":2}"#).unwrap();
        assert!(literal.text().has("c.d").unwrap());
        // Bookkeeping is always a path, whatever the store's key style.
        literal
            .text()
            .set_internal("__internal__.migrations.version", r#""1.0.0""#)
            .unwrap();
        assert_eq!(literal.store_json().unwrap(), r#"{"a.b":1,"c.d":2}"#);
    }

    #[test]
    fn a_read_gives_primitives_as_themselves_and_containers_as_json() {
        let engine = open(false);
        let text = engine.text();
        text.replace(
            r#"{"n":null,"b":true,"x":-0.5,"big":18446744073709551615,"s":"d\"k","o":{"a":[1]}}"#,
        )
        .unwrap();
        assert_eq!(text.read("n").unwrap(), Some(Read::Null));
        assert_eq!(text.read("b").unwrap(), Some(Read::Bool(true)));
        assert_eq!(text.read("x").unwrap(), Some(Read::Number(-0.5)));
        // As JSON.parse reads it: the nearest double.
        assert_eq!(
            text.read("big").unwrap(),
            Some(Read::Number(18446744073709551615.0))
        );
        assert_eq!(text.read("s").unwrap(), Some(Read::Text("d\"k".into())));
        assert_eq!(
            text.read("o").unwrap(),
            Some(Read::Text(r#"{"a":[1]}"#.into()))
        );
        // Strings that could be taken for JSON, or for the mark, are marked.
        text.set_many(r#"{"t1":"{x","t2":"[1]","t3":"\u0000z","t4":"","t5":"a{"}"#)
            .unwrap();
        let read = |k| match text.read(k).unwrap() {
            Some(Read::Text(t)) => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(read("t1"), "\0{x");
        assert_eq!(read("t2"), "\0[1]");
        assert_eq!(read("t3"), "\0\0z");
        assert_eq!(read("t4"), "");
        assert_eq!(read("t5"), "a{");
        assert_eq!(text.read("o.a[0]").unwrap(), Some(Read::Number(1.0)));
        assert_eq!(text.read("missing").unwrap(), None);
    }

    #[test]
    fn writes_return_increasing_sequence_numbers_and_refuse_bad_text() {
        let engine = open(false);
        let text = engine.text();
        let first = text.set("list", "[]").unwrap();
        let second = text.append_to_array("list", r#"{"x":1}"#).unwrap();
        let third = text.delete("list").unwrap();
        assert!(first < second && second < third);
        assert_eq!(json(&engine, "list"), None);

        let err = text.set("a", "{not json").unwrap_err();
        assert_eq!(err.code(), "INVALID_VALUE");
        let err = text.set("a.__proto__.b", "1").unwrap_err();
        assert_eq!(err.code(), "INVALID_KEY");
        let err = text.set_many("[1]").unwrap_err();
        assert_eq!(err.code(), "INVALID_VALUE");
        assert_eq!(engine.seq(), third, "nothing refused was applied");
    }

    #[test]
    fn replace_reset_and_watch_take_text() {
        let engine = open(false);
        let text = engine.text();
        text.replace(r#"{"a":{"b":1},"c":2}"#).unwrap();
        let id = text.watch(Some("a.b")).unwrap();
        text.reset(&["c".to_string()]).unwrap(); // no default: left alone
        text.delete("a").unwrap();
        let feed = engine.follow();
        text.set("c", r#"{"d":[1]}"#).unwrap();
        let events: serde_json::Value = serde_json::from_str(&text.take_events().unwrap()).unwrap();
        assert_eq!(
            events,
            serde_json::json!([
                { "watchId": id, "seq": 3, "oldValue": 1 },
                { "watchId": feed, "seq": 3, "path": ["c"], "newValue": { "d": [1] } },
            ])
        );
        assert_eq!(text.take_events(), None, "taken once");
        assert_eq!(json(&engine, "c").as_deref(), Some(r#"{"d":[1]}"#));
        assert!(text.open_report().unwrap().starts_with('{'));
        assert!(text.stats().unwrap().contains("\"operations\""));
    }
}
