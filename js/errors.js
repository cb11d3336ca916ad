'use strict'
// Every error tad-store throws is an Error with a stable `code`, a `kind`
// (`transient`, `persistent` or `critical`) and, where there is one, the `key` or `file`.

/** Turns the engine's `{code, kind, message, key, file}` into a thrown-ready Error. */
function toError(info) {
  const error = new Error(info.message)
  error.code = info.code
  error.kind = info.kind
  if (info.key != null) error.key = info.key
  if (info.file != null) error.file = info.file
  return error
}

/** An error about the caller's input: a TypeError, as electron-store throws. */
function inputError(code, message, key) {
  const error = new TypeError(message)
  error.code = code
  error.kind = 'persistent'
  if (key !== undefined) error.key = key
  return error
}

module.exports = { toError, inputError }
