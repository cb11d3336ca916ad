'use strict'
// require('tad-store/preload').exposeStoreAPI(): `window.storeAPI` for renderers with
// contextIsolation and sandbox on. One method per operation; `ipcRenderer` and channel
// names are never exposed, and every reply is plain structured-clone data. Uses nothing
// but `electron`, so it works in a sandboxed preload.

const EVENT_CHANNEL = 'tad-store:changes'
const ANY = ''

function toError(error) {
  const e = new Error(error.message)
  e.code = error.code
  e.kind = error.kind
  if (error.key !== undefined) e.key = error.key
  return e
}

/**
 * Exposes `window.storeAPI`. The Electron modules are injected for tests and default to
 * `require('electron')`.
 */
function exposeStoreAPI({ contextBridge, ipcRenderer } = require('electron')) {
  const call = async (op, ...args) => {
    const reply = await ipcRenderer.invoke(`tad-store:${op}`, ...args)
    if (!reply || reply.ok !== true) throw toError(reply?.error ?? { code: 'INTERNAL', message: 'No reply from the main process' })
    return reply.value
  }

  /** key -> Set of callbacks; every key also has a main-process subscription. */
  const listeners = new Map()
  let lastSeq = 0

  ipcRenderer.on(EVENT_CHANNEL, (_event, message) => {
    if (message.seq !== lastSeq + 1 && lastSeq !== 0) resync()
    lastSeq = message.seq
    for (const { key, value, previous } of message.changes) {
      for (const callback of listeners.get(key) ?? []) callback(value, previous)
    }
  })

  // A gap in sequence numbers means lost messages: fetch every watched key again and
  // report what differs from what the callbacks last saw.
  const lastSeen = new Map()
  async function resync() {
    for (const [key, callbacks] of listeners) {
      if (key === ANY) continue
      const value = await call('get', key).catch(() => undefined)
      const previous = lastSeen.get(key)
      if (JSON.stringify(value) !== JSON.stringify(previous)) for (const callback of callbacks) callback(value, previous)
    }
  }

  function watch(key, callback) {
    if (typeof callback !== 'function') throw new TypeError('Expected `callback` to be a function')
    const wrapped = (value, previous) => {
      lastSeen.set(key, value)
      callback(value, previous)
    }
    if (!listeners.has(key)) listeners.set(key, new Set())
    listeners.get(key).add(wrapped)
    const subscribed = call('subscribe', key).then(
      (seq) => {
        if (lastSeq === 0) lastSeq = seq
        return true
      },
      (error) => {
        // Refused (the policy does not let this page read the key): nothing will come.
        listeners.get(key)?.delete(wrapped)
        console.error(`storeAPI.onDidChange('${key}') was refused: ${error.message}`)
        return false
      },
    )
    let active = true
    return () => {
      if (!active) return
      active = false
      listeners.get(key)?.delete(wrapped)
      subscribed.then((ok) => ok && call('unsubscribe', key)).catch((error) => console.error(`storeAPI unsubscribe failed: ${error.message}`))
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
