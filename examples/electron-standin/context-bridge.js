'use strict'
// Electron's contextBridge, as far as what crosses it: the rules a preload's API obeys
// between the isolated world (the preload's) and the main world (the page's). Used by
// the stand-in's renderer and by the browser test, so both hold a preload to them.
//
// From Electron's documentation (https://www.electronjs.org/docs/latest/api/context-bridge,
// "Parameter / Error / Return Type support") and its source
// (shell/renderer/api/electron_api_context_bridge.cc, `PassValueToOtherContext`):
// - functions are proxied: calling one runs the original in its own world, its arguments
//   and result crossing by these same rules; a function that throws throws a new `Error`
//   with the message only;
// - promises are proxied; what they settle with crosses by these rules;
// - an `Error` is "pulled apart": a new `Error` is made in the other world from its
//   `message` alone (`code`, `key` and any other property are lost);
// - arrays and plain objects are copied, own enumerable string keys only; "prototype
//   modifications are dropped", so an instance of a class arrives as a plain object
//   without its methods;
// - "Symbols cannot be copied across contexts so they are dropped";
// - other cloneable values (Date, RegExp, Map, Set, ArrayBuffer, typed arrays) are
//   structured-cloned;
// - objects nested deeper than 1000 levels are refused with a TypeError;
// - `exposeInMainWorld` deep-freezes the copy and refuses a key `window` already has;
// - since Electron 29 the `ipcRenderer` module cannot be sent: it arrives as an empty
//   object (https://www.electronjs.org/docs/latest/breaking-changes, "ipcRenderer can no
//   longer be sent over the contextBridge").

const MAX_DEPTH = 1000

/** Tags of values copied by structured clone rather than as plain objects. */
const CLONED = new Set(['Date', 'RegExp', 'Map', 'Set', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Blob', 'File', 'Boolean', 'Number', 'String', 'BigInt', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'])

const tagOf = (value) => Object.prototype.toString.call(value).slice(8, -1)

/** The source of a world's factory: evaluated inside a JS context, it makes values there. */
const WORLD_SOURCE = `({
  object: () => ({}),
  array: () => [],
  error: (message) => new Error(message),
  typeError: (message) => new TypeError(message),
  promise: (executor) => new Promise(executor),
  fn: (call) => function (...args) { return call(args) },
})`

/**
 * A world: how values are made in one JS context. `evaluate(source)` runs source in that
 * context (a vm context's `runInContext`, or plain `eval` where both worlds share one
 * realm, as in a browser page); `clone(value)` structured-clones into it.
 */
function makeWorld(evaluate, clone) {
  return { ...evaluate(WORLD_SOURCE), clone }
}

/**
 * The world of this very realm, made without evaluating source (a page whose Content
 * Security Policy forbids `eval`, as the example app's does, can still use it).
 */
function localWorld(clone) {
  return {
    object: () => ({}),
    array: () => [],
    error: (message) => new Error(message),
    typeError: (message) => new TypeError(message),
    promise: (executor) => new Promise(executor),
    fn: (call) => function (...args) { return call(args) },
    clone,
  }
}

function messageOf(error) {
  if (error && typeof error === 'object' && typeof error.message === 'string') return error.message
  return `Uncaught ${String(error)}`
}

/**
 * `value`, from world `from`, as world `to` receives it. `blocked` holds objects that
 * must arrive empty (the `ipcRenderer` module).
 */
function passValue(value, from, to, { blocked = new Set(), cache = new Map(), depth = 0 } = {}) {
  if (depth >= MAX_DEPTH) throw to.typeError('Electron contextBridge recursion depth exceeded.  Nested objects deeper than 1000 are not supported.')
  const type = typeof value
  if (value === null || value === undefined || type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint') return value
  if (type === 'symbol') return undefined
  if (cache.has(value)) return cache.get(value)
  const again = (v, d = depth + 1) => passValue(v, from, to, { blocked, cache, depth: d })
  const fresh = (v, a, b) => passValue(v, a, b, { blocked })
  if (type === 'function') {
    const proxy = to.fn((args) => {
      const passed = args.map((arg) => fresh(arg, to, from))
      let result
      try {
        result = value(...passed)
      } catch (error) {
        throw to.error(messageOf(error))
      }
      return fresh(result, from, to)
    })
    cache.set(value, proxy)
    return proxy
  }
  const tag = tagOf(value)
  if (tag === 'Promise') {
    const proxy = to.promise((resolve, reject) => {
      value.then(
        (result) => resolve(fresh(result, from, to)),
        (reason) => reject(fresh(reason, from, to)),
      )
    })
    cache.set(value, proxy)
    return proxy
  }
  if (tag === 'Error') return to.error(messageOf(value))
  if (blocked.has(value)) return to.object()
  if (Array.isArray(value)) {
    const out = to.array()
    cache.set(value, out)
    for (let i = 0; i < value.length; i++) out[i] = again(value[i])
    return out
  }
  if (CLONED.has(tag)) return to.clone(value)
  // A plain object, or an instance of a class: its own enumerable string keys, no prototype.
  const out = to.object()
  cache.set(value, out)
  for (const key of Object.keys(value)) {
    const child = value[key]
    if (typeof child !== 'symbol') out[key] = again(child)
  }
  return out
}

/** Freezes `value` and everything reachable from it, as `exposeInMainWorld` does. */
function deepFreeze(value, seen = new Set()) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value) || ArrayBuffer.isView(value)) return value
  seen.add(value)
  for (const key of Object.getOwnPropertyNames(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key)
    if ('value' in descriptor) deepFreeze(descriptor.value, seen)
  }
  return Object.freeze(value)
}

/**
 * A `contextBridge` for a preload running in world `isolated`, exposing into `page`
 * (whose global object is `window`).
 */
function createContextBridge({ isolated, page, window, blocked }) {
  return Object.freeze({
    exposeInMainWorld(apiKey, api) {
      if (typeof apiKey !== 'string') throw new TypeError('contextBridge.exposeInMainWorld: the key must be a string')
      if (Object.prototype.hasOwnProperty.call(window, apiKey) || apiKey in window) {
        throw new Error('Cannot bind an API on top of an existing property on the window object')
      }
      const proxy = deepFreeze(passValue(api, isolated, page, { blocked }))
      Object.defineProperty(window, apiKey, { value: proxy, enumerable: true, writable: false, configurable: false })
    },
  })
}

module.exports = { makeWorld, localWorld, passValue, deepFreeze, createContextBridge }
