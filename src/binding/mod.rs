//! The Node-API binding: converts arguments and errors, and delivers events and
//! completions on the JS thread. No store logic lives here; see the core crate
//! (`crate::engine`).
//!
//! Values cross as JSON text: the JS shim `JSON.stringify`s (after refusing what JSON
//! would silently change) and `JSON.parse`s what comes back. V8's JSON is faster than
//! building objects through Node-API one property at a time, and `JSON.parse` makes a
//! `__proto__` key an own property, never a prototype.
//!
//! | file | what |
//! | --- | --- |
//! | [`options`] | the options object, turned into the engine's |
//! | [`errors`] | typed errors, thrown or rejecting promises |
//! | [`key`] | key arguments, read in one call |
//! | [`store`] | `NativeStore`: the hot reads and writes, and the core's `Command`s and `Task`s |
//! | [`tools`] | functions without a store: the config directory, key patterns, atomic writes, file names |

pub mod errors;
pub mod key;
pub mod options;
pub mod store;
pub mod tools;
