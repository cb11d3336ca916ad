//! One open store ([`Engine`]), a room per concept:
//!
//! | file | what it holds |
//! | --- | --- |
//! | [`state`] | the engine's types: what the JS thread, the committer and the watch share, and the lock order |
//! | [`open`] | opening, in named phases |
//! | [`recovery`] | the recovery ladder: every way a crash or a bad file is recovered from |
//! | [`changes`] | applying a change: in place with an undo log, defaults filled, validated, sealed, queued |
//! | [`events`] | change tracking: watchers and key feeds, and the events they deliver |
//! | [`reads`] | reads of the document, the history and the counters |
//! | [`sealing`] | sensitive keys: the data keys at open, sealing plaintext, key rotation |
//! | [`durability`] | flush, write the file, close |
//! | [`committer`] | the background writer: journal, checkpoints, history (its schedule is [`committer::decide`]) |
//! | [`external_edit`] | edits other programs make to the file |
//! | [`sync`] | sync across devices as the committer runs it: local changes out, merges in |
//! | [`text`] | the engine as a binding calls it: keys and values as text |
//! | [`command`] | the less frequent calls as data, so a binding forwards them whole |

mod changes;
mod command;
mod committer;
mod durability;
mod events;
mod external_edit;
mod open;
mod reads;
mod recovery;
mod sealing;
mod state;
mod sync;
mod text;

pub use command::{Command, Task, TaskCompletion};
pub use state::{
    ChangeEvent, Completion, Engine, ErrorListener, Receipt, StateCompletion, VerifyCompletion,
};
pub use text::{Read, Text, TextCompletion};

#[cfg(test)]
mod sync_tests;
#[cfg(test)]
mod tests;
