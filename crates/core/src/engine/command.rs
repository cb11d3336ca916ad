//! The engine's less frequent calls as data: a [`Command`] answered at once, a [`Task`]
//! answered when background work ends. A binding forwards them whole (one native entry
//! point for each kind, as lightningcss forwards a config object) instead of one per
//! call; the hot reads and writes (`get`, `has`, `set`, `setMany`, `appendToArray`,
//! `delete`, `takeEvents`) stay direct calls on [`Text`](super::Text), where a JSON
//! round trip would cost more than the call.
//!
//! A command is JSON `{ "op": "<name>", ...arguments }` (names and arguments in
//! camelCase); a value it carries (a whole store, a bookkeeping value) comes beside it as
//! JSON text, so it is parsed once, by the same parser as `set`'s.

use super::state::*;
use super::text::TextCompletion;
use crate::error::{Result, StoreError};
use serde::Deserialize;

/// A call answered at once, with JSON text (see each variant; `null` when there is
/// nothing to say). Every write answers its change's sequence number.
#[derive(Debug, Deserialize, PartialEq)]
/// (Variants without arguments are `{}`: serde refuses unknown fields only there.)
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum Command {
    /// Sets `keys` back to their defaults (absent when they have none).
    Reset {
        keys: Vec<String>,
    },
    /// Every key back to its default.
    Clear {},
    /// The whole store becomes the object in the value (bookkeeping kept).
    Replace {},
    /// The whole document becomes the value, bookkeeping included: a rollback.
    Restore {},
    /// conf's migration bookkeeping at `key` (a dot path whatever the key style) becomes
    /// the value.
    SetInternal {
        key: String,
    },
    /// Starts a transaction: changes until `commit` are one; `validate: false` defers
    /// validation to `settle` (migrations).
    Begin {
        validate: bool,
    },
    Commit {},
    Rollback {},
    /// Fills defaults and validates the whole document (after migrations);
    /// `allowClear` lets `clearInvalidConfig` move an invalid file aside.
    #[serde(rename_all = "camelCase")]
    Settle {
        allow_clear: bool,
    },
    /// The whole store (without bookkeeping).
    StoreJson {},
    /// The number of top-level keys.
    Size {},
    /// What opening found and did ([`crate::options::OpenReport`]).
    OpenReport {},
    /// What the store has been doing ([`crate::stats::Report`]).
    Stats {},
    /// Every recorded state, newest first: `[{ timestamp, size, hash, kind }]`.
    ListHistory {},
    /// Writes the whole document to `backups/<fileName>` durably; answers its path.
    #[serde(rename_all = "camelCase")]
    WriteBackup {
        file_name: String,
    },
    /// Starts reporting changes to `key` (absent: the whole store); answers an id for
    /// `unwatch`.
    Watch {
        key: Option<String>,
    },
    /// Starts a key feed (the paths each change touched, with their values now);
    /// answers an id for `unwatch`.
    Follow {},
    Unwatch {
        id: u64,
    },
    /// Starts following other programs' edits to the file, if not already.
    WatchFile {},
    /// The sensitive-key patterns in force (the option's and the schema's).
    SensitiveKeys {},
    /// The same patterns as segments, `null` for `*` (for the renderer bridge).
    SensitivePatterns {},
    /// Stops whole-file encryption: the next checkpoint writes JSON.
    DropFileCipher {},
    /// The sync's status ([`crate::sync::status::SyncStatus`]); `null` without `sync`,
    /// or before the first look at the folder.
    SyncStatus {},
    /// Looks at the sync folder now, without waiting for its watch or interval.
    SyncNow {},
    /// Counts an error the caller refused before calling in, for `stats`.
    NoteError {
        code: String,
    },
    /// Stops without writing anything: opening failed after the engine was made.
    Abandon {},
}

/// A call answered when background work ends, with text or nothing (see each variant),
/// or with the error that stopped it.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum Task {
    /// Every change so far durable ([`Engine::flush`]).
    Flush {},
    /// The file itself holds every change so far ([`Engine::write_file`]).
    WriteFile {},
    /// Everything committed, a final snapshot written, the engine stopped.
    Close {},
    /// The snapshot text recorded at `timestamp` (after recording the current state).
    StateAt { timestamp: String },
    /// A check of the whole history chain as JSON: `{ ok, entries, verified, brokenAt,
    /// reason }`.
    VerifyHistory {},
}

/// `text` as a `T`, or an error naming what the caller sent.
fn parse<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::InvalidOption {
        option: "op".into(),
        reason: format!("`{text}` is not a call the engine knows ({e})"),
    })
}

impl Command {
    pub fn parse(text: &str) -> Result<Command> {
        parse(text)
    }
}

impl Task {
    pub fn parse(text: &str) -> Result<Task> {
        parse(text)
    }
}

/// Called once with a task's answer.
pub type TaskCompletion = Box<dyn FnOnce(Result<Option<String>>) + Send>;

/// The answer of a command that has nothing to say.
fn null() -> String {
    "null".into()
}

/// Anything as JSON text (what a command answers).
fn json(value: impl serde::Serialize) -> String {
    serde_json::to_string(&value).expect("plain data is always JSON")
}

impl Engine {
    /// Runs `command`; `value` is the JSON text of the value it carries, if it carries
    /// one. Answers JSON text (see [`Command`]).
    pub fn run(&mut self, command: Command, value: Option<&str>) -> Result<String> {
        let value = || {
            value.ok_or_else(|| StoreError::InvalidOption {
                option: "op".into(),
                reason: format!("`{command:?}` carries a value and none was given"),
            })
        };
        Ok(match &command {
            Command::Reset { keys } => json(self.text().reset(keys)?),
            Command::Clear {} => json(self.text().clear()?),
            Command::Replace {} => json(self.text().replace(value()?)?),
            Command::Restore {} => json(self.text().restore(value()?)?),
            Command::SetInternal { key } => json(self.text().set_internal(key, value()?)?),
            Command::Begin { validate } => {
                self.begin(*validate)?;
                null()
            }
            Command::Commit {} => {
                self.commit();
                null()
            }
            Command::Rollback {} => {
                self.rollback();
                null()
            }
            Command::Settle { allow_clear } => {
                self.settle(*allow_clear)?;
                null()
            }
            Command::StoreJson {} => self.store_json()?,
            Command::Size {} => json(self.size()?),
            Command::OpenReport {} => self.text().open_report()?,
            Command::Stats {} => self.text().stats()?,
            Command::ListHistory {} => self.text().list_history()?,
            Command::WriteBackup { file_name } => json(self.text().write_backup(file_name)?),
            Command::Watch { key } => json(self.text().watch(key.as_deref())?),
            Command::Follow {} => json(self.follow()),
            Command::Unwatch { id } => {
                self.unwatch(*id);
                null()
            }
            Command::WatchFile {} => {
                self.watch_file()?;
                null()
            }
            Command::SensitiveKeys {} => json(self.sensitive_keys()),
            Command::SensitivePatterns {} => json(self.sensitive_pattern_segments()),
            Command::DropFileCipher {} => {
                self.drop_file_cipher();
                null()
            }
            Command::SyncStatus {} => json(self.sync_status()),
            Command::SyncNow {} => {
                self.sync_now();
                null()
            }
            Command::NoteError { code } => {
                self.note_error(code);
                null()
            }
            Command::Abandon {} => {
                self.abandon();
                null()
            }
        })
    }

    /// Starts `task`; `done` is called once with its answer (see [`Task`]), possibly on
    /// the committer's thread.
    pub fn run_task(&self, task: Task, done: TaskCompletion) {
        let nothing = |done: TaskCompletion| -> Completion {
            Box::new(move |result| done(result.map(|()| None)))
        };
        let text = |done: TaskCompletion| -> TextCompletion {
            Box::new(move |result| done(result.map(Some)))
        };
        match task {
            Task::Flush {} => self.flush(nothing(done)),
            Task::WriteFile {} => self.write_file(nothing(done)),
            Task::Close {} => self.close(nothing(done)),
            Task::StateAt { timestamp } => self.text().state_at(timestamp, text(done)),
            Task::VerifyHistory {} => self.text().verify_history(text(done)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::EngineOptions;
    use crate::sim_fs::SimFs;
    use std::sync::Arc;

    fn open() -> Engine {
        Engine::open(EngineOptions::new(
            "/app/config.json",
            Arc::new(SimFs::new()),
        ))
        .unwrap()
    }

    fn run(engine: &mut Engine, command: &str, value: Option<&str>) -> Result<String> {
        let command = Command::parse(command)?;
        engine.run(command, value)
    }

    #[test]
    fn commands_are_json_with_camel_case_names_and_arguments() {
        assert_eq!(
            Command::parse(r#"{"op":"writeBackup","fileName":"x.json"}"#).unwrap(),
            Command::WriteBackup {
                file_name: "x.json".into()
            }
        );
        assert_eq!(
            Command::parse(r#"{"op":"settle","allowClear":true}"#).unwrap(),
            Command::Settle { allow_clear: true }
        );
        assert_eq!(
            Command::parse(r#"{"op":"watch"}"#).unwrap(),
            Command::Watch { key: None }
        );
        assert_eq!(
            Task::parse(r#"{"op":"stateAt","timestamp":"t"}"#).unwrap(),
            Task::StateAt {
                timestamp: "t".into()
            }
        );
        // What the engine does not know is refused, never guessed at.
        for bad in [
            r#"{"op":"dropEverything"}"#,
            r#"{"op":"reset"}"#,
            r#"{"op":"clear","keys":[]}"#,
            r#"{"op":"flush"}x"#,
            "[]",
        ] {
            assert_eq!(
                Command::parse(bad).unwrap_err().code(),
                "INVALID_OPTION",
                "{bad}"
            );
        }
        assert_eq!(
            Task::parse(r#"{"op":"clear"}"#).unwrap_err().code(),
            "INVALID_OPTION"
        );
    }

    #[test]
    fn commands_answer_json() {
        let mut engine = open();
        let seq = run(
            &mut engine,
            r#"{"op":"replace"}"#,
            Some(r#"{"a":{"b":1},"c":2}"#),
        );
        assert_eq!(seq.unwrap(), "1");
        assert_eq!(
            run(&mut engine, r#"{"op":"storeJson"}"#, None).unwrap(),
            r#"{"a":{"b":1},"c":2}"#
        );
        assert_eq!(run(&mut engine, r#"{"op":"size"}"#, None).unwrap(), "2");
        let id = run(&mut engine, r#"{"op":"watch","key":"a.b"}"#, None).unwrap();
        run(&mut engine, r#"{"op":"begin","validate":true}"#, None).unwrap();
        run(&mut engine, r#"{"op":"reset","keys":["a"]}"#, None).unwrap();
        assert_eq!(
            run(&mut engine, r#"{"op":"rollback"}"#, None).unwrap(),
            "null"
        );
        assert_eq!(engine.store_json().unwrap(), r#"{"a":{"b":1},"c":2}"#);
        assert_eq!(
            engine.take_events().len(),
            0,
            "a rolled back change is no event"
        );
        run(&mut engine, r#"{"op":"clear"}"#, None).unwrap();
        let events = engine.take_events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].watch_id.to_string(), id);
        run(
            &mut engine,
            &format!(r#"{{"op":"unwatch","id":{id}}}"#),
            None,
        )
        .unwrap();
        assert_eq!(
            run(&mut engine, r#"{"op":"sensitivePatterns"}"#, None).unwrap(),
            "[]"
        );
        assert!(run(&mut engine, r#"{"op":"stats"}"#, None)
            .unwrap()
            .contains("\"operations\""));
        // A command that carries a value refuses to run without one, changing nothing.
        let err = run(&mut engine, r#"{"op":"restore"}"#, None).unwrap_err();
        assert_eq!(err.code(), "INVALID_OPTION");
        // The value is parsed as `set`'s is: bad text and `__proto__` keys are refused.
        let err = run(&mut engine, r#"{"op":"replace"}"#, Some("{")).unwrap_err();
        assert_eq!(err.code(), "INVALID_VALUE");
        assert_eq!(engine.store_json().unwrap(), "{}");
    }

    #[test]
    fn tasks_answer_through_their_completion() {
        let engine = open();
        engine.text().set("a", "1").unwrap();
        let answer = engine.wait_for(|done| engine.run_task(Task::Flush {}, done));
        assert_eq!(answer.unwrap(), None);
        let report = engine.wait_for(|done| engine.run_task(Task::VerifyHistory {}, done));
        assert!(report.unwrap().unwrap().contains("\"ok\":true"));
        let missing = engine.wait_for(|done| {
            engine.run_task(
                Task::StateAt {
                    timestamp: "1999".into(),
                },
                done,
            )
        });
        assert_eq!(missing.unwrap_err().code(), "HISTORY_NOT_FOUND");
        let closed = engine.wait_for(|done| engine.run_task(Task::Close {}, done));
        assert_eq!(closed.unwrap(), None);
        let after = engine.wait_for(|done| engine.run_task(Task::Flush {}, done));
        assert!(after.is_ok(), "nothing left to make durable");
    }
}
