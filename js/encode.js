'use strict'
// Values cross to the engine as JSON text. JSON.stringify alone would silently change
// some values (drop functions, turn NaN into null, Map into {}); those are refused here
// with INVALID_VALUE instead, and nothing is written. A Date becomes its ISO string, as
// in electron-store.
//
// Messages are worded as conf (electron-store's engine) words them, so an app that
// switched reads what it knows: "Setting a value of type `function` for key `a` at `b`
// is not allowed as it's not supported by JSON", the path below the key written
// `b.0` for an array item.
const { inputError } = require('./errors')

// Built-ins JSON.stringify turns into `{}` or worse.
/** @type {Function[]} */
const LOSSY = [Map, Set, WeakMap, WeakSet, RegExp, Promise, Error, ArrayBuffer, DataView]
if (typeof WeakRef === 'function') LOSSY.push(WeakRef)

function lossyKind(value) {
  for (const type of LOSSY) if (value instanceof type) return type.name
  if (ArrayBuffer.isView(value) && typeof (/** @type {any} */ (value).toJSON) !== 'function') return value.constructor.name
  return undefined
}

/** conf's sentence for a value the store will not hold (`detail` is ours: conf takes these). */
function notSupported(key, at, type, detail) {
  const where = at ? ` at \`${at}\`` : ''
  return `Setting a value of type \`${type}\`${detail ? ` (${detail})` : ''} for key \`${key}\`${where} is not allowed as it's not supported by JSON`
}

/**
 * The path (conf's form, `a.0.b`) at which `value` reaches back into itself, or '' when
 * the value itself does. Only called once JSON.stringify has found a cycle.
 */
function cyclePath(value) {
  const onPath = new Set()
  const walk = (node, path) => {
    if (node === null || typeof node !== 'object' || typeof node.toJSON === 'function') return undefined
    if (onPath.has(node)) return path
    onPath.add(node)
    for (const [name, child] of Object.entries(node)) {
      const found = walk(child, path === undefined ? name : `${path}.${name}`)
      if (found !== undefined) return found
    }
    onPath.delete(node)
    return undefined
  }
  for (const [name, child] of Object.entries(value ?? {})) {
    onPath.add(value)
    const found = walk(child, name)
    if (found !== undefined) return found
  }
  return ''
}

/**
 * JSON text for `value`, written to `key`. With `entries` (`set(object)`, `defaults`)
 * every top-level property is a key of its own: a top-level `undefined`, function or
 * symbol is refused as conf refuses it; elsewhere an `undefined` property is left out,
 * as JSON and electron-store leave it. With `item` (`appendToArray`) the value is an
 * array item, for which `undefined` is a value JSON cannot hold rather than a delete.
 * @throws {TypeError} code INVALID_VALUE, naming the key and what was wrong.
 */
function encode(key, value, { entries = false, item = false } = {}) {
  if (value === undefined && !entries) throw inputError('INVALID_VALUE', item ? notSupported(key, '', 'undefined') : 'Use `delete()` to clear values', key)
  // Where each object sits: the key written and the path below it (`null` for the value
  // of `set(object)`, whose properties are keys), so messages name both cheaply.
  const holders = new Map()
  const refuse = ({ key: written, at }, type, detail) => inputError('INVALID_VALUE', notSupported(written, at, type, detail), at ? `${written}.${at}` : written)
  let text
  try {
    text = JSON.stringify(value, function replacer(name, v) {
      let here
      let top = false
      if (!holders.has(this)) {
        // The value itself (JSON.stringify's first call, on a wrapper).
        if (entries) {
          if (v !== null && typeof v === 'object') holders.set(v, null)
          return v
        }
        here = { key, at: '' }
      } else {
        const parent = holders.get(this)
        top = parent === null
        here = top ? { key: name, at: '' } : { key: parent.key, at: parent.at ? `${parent.at}.${name}` : name }
      }
      const raw = this[name]
      switch (typeof v) {
        case 'function':
        case 'symbol':
        case 'bigint':
          throw refuse(here, typeof v)
        case 'number':
          if (!Number.isFinite(v)) throw refuse(here, 'number', `\`${v}\``)
          return v
        case 'undefined':
          // A key written with nothing is refused; an undefined property inside a
          // value is left out, as in JSON; in an array it would become null.
          if (top || Array.isArray(this)) throw refuse(here, 'undefined')
          return v
        case 'object': {
          if (v === null) {
            if (raw instanceof Date) throw refuse(here, 'Date', 'an invalid date')
            return v
          }
          const kind = lossyKind(raw)
          if (kind) throw refuse(here, kind)
          holders.set(v, here)
          return v
        }
        default:
          return v
      }
    })
  } catch (error) {
    if (error.code === 'INVALID_VALUE') throw error
    if (/circular/i.test(error.message)) {
      const found = cyclePath(value)
      const [written, ...rest] = entries ? found.split('.') : [key, ...(found ? found.split('.') : [])]
      const at = rest.join('.')
      throw inputError('INVALID_VALUE', `Setting a value for key \`${written}\`${at ? ` at \`${at}\`` : ''} is not allowed as a value that holds itself is not supported by JSON, which refuses one as a circular structure`, at ? `${written}.${at}` : written)
    }
    // A stack overflow from absurd nesting.
    throw inputError('INVALID_VALUE', `Setting a value for key \`${key}\` is not allowed as it is nested too deeply to be stored as JSON`, key)
  }
  if (text === undefined) throw inputError('INVALID_VALUE', notSupported(key, '', typeof value), key)
  return text
}

/**
 * A value the engine's `get` gave (the core's `Read`): null, a boolean or a number as
 * itself; a string, object or array as one text, JSON when it starts with `{` or `[`, a
 * string marked with a NUL when it starts with one of those three, else the string;
 * undefined (absent) as itself.
 * @param {undefined | null | boolean | number | string} value
 */
function decodeRead(value) {
  if (typeof value !== 'string') return value
  const first = value.charCodeAt(0)
  if (first === 0x7b || first === 0x5b) return JSON.parse(value)
  return first === 0 ? value.slice(1) : value
}

module.exports = { encode, decodeRead }
