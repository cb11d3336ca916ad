'use strict'
// Every error tad-store throws is an Error with a stable `code`, a `kind`
// (`transient`, `persistent` or `critical`) and, where there is one, the `key` or `file`.

/**
 * A file that does not read as a store is a `SyntaxError`, as conf throws it (apps catch
 * it with `instanceof SyntaxError`), still with `code: 'CORRUPT_FILE'`.
 */
function retype(error) {
  if (error?.code !== 'CORRUPT_FILE' || error instanceof SyntaxError) return error
  const syntax = new SyntaxError(error.message)
  for (const name of ['code', 'kind', 'key', 'file']) if (error[name] !== undefined) syntax[name] = error[name]
  return syntax
}

/** Turns the engine's `{ message, code, kind, key?, file?, errors? }` into a thrown-ready Error. */
function toError(info) {
  const error = /** @type {any} */ (new (info.code === 'CORRUPT_FILE' ? SyntaxError : Error)(info.message))
  error.code = info.code
  error.kind = info.kind
  if (info.key != null) error.key = info.key
  if (info.file != null) error.file = info.file
  if (info.errors != null) error.errors = info.errors
  if (info.keys != null) error.keys = info.keys
  return error
}

/** An error about the caller's input: a TypeError, as electron-store throws. */
function inputError(code, message, key) {
  const error = /** @type {any} */ (new TypeError(message))
  error.code = code
  error.kind = 'persistent'
  if (key !== undefined) error.key = key
  return error
}

/**
 * The result of a native background call (flush, close, history…). It rejects with the
 * store's typed error, which gets the caller's stack here (it was made on the JS thread
 * with none) and is a `SyntaxError` where conf's would be.
 */
async function settled(promise) {
  try {
    return await promise
  } catch (error) {
    if (error instanceof Error) Error.captureStackTrace(error, settled)
    throw retype(error)
  }
}

module.exports = { toError, inputError, retype, settled }
