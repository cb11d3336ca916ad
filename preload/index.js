'use strict'
// `window.storeAPI` for renderers with contextIsolation and sandbox on. One method per
// operation; `ipcRenderer` and channel names are never exposed, and every reply is plain
// structured-clone data.
//
// Two ways in, because a sandboxed preload cannot `require` a package or another file
// (its `require` answers only `electron`, `events`, `timers` and `url`:
// https://www.electronjs.org/docs/latest/tutorial/sandbox#preload-scripts):
// - name the shipped file as the window's preload: `webPreferences.preload:
//   require('tad-store/preload').path` (`preload/sandboxed.js`, this file made
//   self-contained by scripts/build-preload.js, which exposes the API when it runs);
// - or, with a preload of your own, import `exposeStoreAPI` from `tad-store/preload`
//   and bundle it (esbuild, Vite, webpack) with `electron` left external.
// This file therefore requires nothing but `electron` (only when it is called) and the
// channel names (`js/channels.js`, inlined into the sandboxed file).
//
// Change events arrive as deltas: the paths that changed, with their values now, never
// the old values nor the whole store (so that following everything costs the main
// process what changed). This preload keeps, per watched key, the value it last reported
// and works out `(newValue, oldValue)` itself.

const { channelOf, EVENT_CHANNEL } = require('../js/channels')
const ANY = ''

/**
 * What a refused call rejects with: a plain object, not an `Error`. Electron's
 * contextBridge copies an `Error` by taking its message alone and building a new one in
 * the page ("Errors aren't serializable currently, we need to pull the message out and
 * re-construct in the destination context", shell/renderer/api/electron_api_context_bridge.cc),
 * so an `Error` would reach the page without its `code`; a plain object crosses whole.
 */
function toStoreError(error) {
  const out = { name: 'StoreError', code: String(error?.code ?? 'INTERNAL'), kind: String(error?.kind ?? 'persistent'), message: String(error?.message ?? 'The request failed') }
  if (error?.key !== undefined) out.key = error.key
  if (Array.isArray(error?.errors)) out.errors = error.errors
  return out
}

/** Whether two structured-clone values are equal; shared subtrees compare at once. */
function equal(a, b) {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]))
}

/** `root` with the value at `relative` replaced (`deleted`: removed), copying only the path. */
function setIn(root, relative, value, deleted) {
  if (relative.length === 0) return deleted ? undefined : value
  const [head, ...rest] = relative
  const copy = Array.isArray(root) ? [...root] : root !== null && typeof root === 'object' ? { ...root } : {}
  if (rest.length === 0 && deleted) delete copy[head]
  else copy[head] = setIn(Object.hasOwn(copy, head) ? copy[head] : undefined, rest, value, deleted)
  return copy
}

// (js/ipc.js has its twin, `valueAt`: a sandboxed preload cannot require another file.)
function getIn(value, relative) {
  let node = value
  for (const segment of relative) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined
    node = node[segment]
  }
  return node
}

const isPrefix = (prefix, path) => prefix.length <= path.length && prefix.every((s, i) => s === path[i])

/**
 * The value a subscription at `path` holds after one delta. A deletion may name `prune`
 * containers above it that the page cannot read: emptied, they go too.
 */
function applyDelta(current, path, change) {
  if (isPrefix(path, change.path)) {
    const relative = change.path.slice(path.length)
    let value = setIn(current, relative, change.value, change.deleted)
    for (let up = 1; up <= (change.prune ?? 0) && up < relative.length; up++) {
      const above = relative.slice(0, relative.length - up)
      const container = getIn(value, above)
      if (container === null || typeof container !== 'object' || Array.isArray(container) || Object.keys(container).length > 0) break
      value = setIn(value, above, undefined, true)
    }
    return value
  }
  if (isPrefix(change.path, path)) return change.deleted ? undefined : getIn(change.value, path.slice(change.path.length))
  return current
}

/**
 * Exposes `window.storeAPI`. The Electron modules are injected for tests and default to
 * `require('electron')`.
 */
function exposeStoreAPI({ contextBridge, ipcRenderer } = require('electron')) {
  const call = async (op, ...args) => {
    const reply = await ipcRenderer.invoke(channelOf(op), ...args)
    if (!reply || reply.ok !== true) throw toStoreError(reply?.error ?? { code: 'INTERNAL', message: 'No reply from the main process' })
    return reply.value
  }

  // This page load's name for its subscriptions: the main process drops those of a
  // document its window navigated away from, and keeps the next document's.
  const documentId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`

  /**
   * key -> { callbacks, path, value, since }: `value` is what the callbacks last saw,
   * as of message `since`; both are undefined until the main process answered.
   */
  const subscriptions = new Map()
  let lastSeq = 0
  /** Messages that arrived while a subscription waited for its first value. */
  let buffered = []
  let waiting = 0

  function apply(subscription, messages) {
    const before = subscription.value
    let value = before
    for (const { seq, changes } of messages) {
      if (seq <= subscription.since) continue
      for (const change of changes) value = applyDelta(value, subscription.path, change)
      subscription.since = seq
    }
    if (equal(before, value)) return
    subscription.value = value
    for (const callback of subscription.callbacks) callback(value, before)
  }

  ipcRenderer.on(EVENT_CHANNEL, (_event, message) => {
    if (!message || typeof message.seq !== 'number' || !Array.isArray(message.changes)) return
    const gap = lastSeq !== 0 && message.seq !== lastSeq + 1
    lastSeq = Math.max(lastSeq, message.seq)
    if (waiting > 0) buffered.push(message)
    for (const subscription of subscriptions.values()) if (subscription.since !== undefined) apply(subscription, [message])
    if (gap) resync()
  })

  /** Subscribes `key` in the main process; resolves to its `{ seq, path, value }`. */
  async function start(key, subscription) {
    waiting += 1
    try {
      const { seq, path, value } = await call('subscribe', key, documentId)
      subscription.path = path
      subscription.value = value
      subscription.since = seq
      apply(subscription, buffered)
      return true
    } finally {
      if (--waiting === 0) buffered = []
    }
  }

  // A gap in sequence numbers means lost messages: take each watched key's value again
  // (a subscribe, undone at once) and report what differs from what callbacks last saw.
  async function resync() {
    for (const [key, subscription] of subscriptions) {
      if (subscription.since === undefined) continue
      try {
        const { seq, value } = await call('subscribe', key, documentId)
        await call('unsubscribe', key, documentId)
        const before = subscription.value
        subscription.since = Math.max(subscription.since, seq)
        if (!equal(before, value)) {
          subscription.value = value
          for (const callback of subscription.callbacks) callback(value, before)
        }
      } catch (error) {
        console.error(`storeAPI could not resync '${key}': ${error.message}`)
      }
    }
  }

  function watch(key, callback) {
    if (typeof callback !== 'function') throw new TypeError('Expected `callback` to be a function')
    let subscription = subscriptions.get(key)
    if (!subscription) {
      subscription = { callbacks: new Set(), path: undefined, value: undefined, since: undefined }
      subscriptions.set(key, subscription)
      subscription.started = start(key, subscription).catch((error) => {
        // Refused (the policy does not let this page read the key): nothing will come.
        if (subscriptions.get(key) === subscription) subscriptions.delete(key)
        console.error(`storeAPI.onDidChange('${key}') was refused: ${error.message}`)
        return false
      })
    }
    const own = (value, previous) => callback(value, previous)
    subscription.callbacks.add(own)
    let active = true
    return () => {
      if (!active) return
      active = false
      subscription.callbacks.delete(own)
      if (subscription.callbacks.size > 0 || subscriptions.get(key) !== subscription) return
      subscriptions.delete(key)
      subscription.started.then((ok) => ok && call('unsubscribe', key, documentId)).catch((error) => console.error(`storeAPI unsubscribe failed: ${error.message}`))
    }
  }

  const api = {
    get: (key) => call('get', key),
    set: (key, value) => call('set', key, value),
    delete: (key) => call('delete', key),
    has: (key) => call('has', key),
    onDidChange: (key, callback) => watch(key, callback),
    onDidAnyChange: (callback) => watch(ANY, callback),
    listHistory: () => call('listHistory'),
    rollbackToTimestamp: (timestamp) => call('rollbackToTimestamp', timestamp),
  }
  contextBridge.exposeInMainWorld('storeAPI', api)
  return api
}

module.exports = { exposeStoreAPI }

/**
 * The absolute path of the self-contained preload, for `webPreferences.preload` (main
 * process only: a getter, so bundles that never read it need no `__dirname`).
 */
Object.defineProperty(module.exports, 'path', {
  enumerable: true,
  get: () => `${__dirname}${__dirname.includes('\\') && !__dirname.includes('/') ? '\\' : '/'}sandboxed.js`,
})
