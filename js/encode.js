'use strict'
// Values cross to the engine as JSON text. JSON.stringify alone would silently change
// some values (drop functions, turn NaN into null, Map into {}); those are refused here
// with INVALID_VALUE instead, and nothing is written. A Date becomes its ISO string, as
// in electron-store.
const { inputError } = require('./errors')

// Built-ins JSON.stringify turns into `{}` or worse.
const LOSSY = [Map, Set, WeakMap, WeakSet, RegExp, Promise, Error, ArrayBuffer, DataView]
if (typeof WeakRef === 'function') LOSSY.push(WeakRef)

function lossyKind(value) {
  for (const type of LOSSY) if (value instanceof type) return type.name
  if (ArrayBuffer.isView(value) && typeof value.toJSON !== 'function') return value.constructor.name
  return undefined
}

/**
 * JSON text for `value`, written to `key` (used in messages only).
 * @throws {TypeError} code INVALID_VALUE, naming the key and what was wrong.
 */
function encode(key, value) {
  if (value === undefined) throw inputError('INVALID_VALUE', 'Use `delete()` to clear values', key)
  const refuse = (where, what) => {
    const at = where ? `${key}${where}` : key
    return inputError('INVALID_VALUE', `Invalid value for \`${at}\`: ${what} cannot be stored as JSON without changing it`, at)
  }
  // Path of the value being visited, for messages; kept cheap by building it lazily.
  const holders = new Map()
  const where = (holder, name) => {
    const parent = holders.get(holder) ?? ''
    return Array.isArray(holder) ? `${parent}[${name}]` : name === '' ? parent : `${parent}.${name}`
  }
  let text
  try {
    text = JSON.stringify(value, function replacer(name, v) {
      const raw = this[name]
      switch (typeof v) {
        case 'function':
          throw refuse(where(this, name), 'a function')
        case 'symbol':
          throw refuse(where(this, name), 'a symbol')
        case 'bigint':
          throw refuse(where(this, name), 'a BigInt')
        case 'number':
          if (!Number.isFinite(v)) throw refuse(where(this, name), String(v))
          return v
        case 'undefined':
          // An undefined property is left out, as in JSON and electron-store; in an
          // array it would become null, which changes the data.
          if (Array.isArray(this)) throw refuse(where(this, name), 'undefined in an array')
          return v
        case 'object': {
          if (v === null) {
            if (raw instanceof Date) throw refuse(where(this, name), 'an invalid Date')
            return v
          }
          const kind = lossyKind(raw)
          if (kind) throw refuse(where(this, name), `a ${kind}`)
          holders.set(v, where(this, name))
          return v
        }
        default:
          return v
      }
    })
  } catch (error) {
    if (error.code === 'INVALID_VALUE') throw error
    // Cycles and stack overflow from absurd nesting land here.
    const what = /circular/i.test(error.message) ? 'a cyclic structure' : `a value JSON.stringify rejects (${error.message})`
    throw refuse('', what)
  }
  if (text === undefined) throw refuse('', `a ${typeof value}`)
  return text
}

module.exports = { encode }
