'use strict'
// The main-process bridge: `tad-store:*` IPC channels for renderers, every request
// checked before anything is converted or touched, and change events sent only to the
// windows that subscribed to an overlapping key and may read it.
//
//   const { registerStoreIpc } = require('tad-store/ipc')
//   const dispose = registerStoreIpc(store, { policy })
const policyLib = require('./policy')
const { addBridge } = require('./bridges')
const { AuditLog } = require('./audit')

const CHANNELS = ['get', 'set', 'delete', 'has', 'subscribe', 'unsubscribe', 'listHistory', 'rollbackToTimestamp']
/** The channel change events are sent on. */
const EVENT_CHANNEL = 'tad-store:changes'
const ANY = '' // the subscription key for onDidAnyChange

class AccessDenied extends Error {
  constructor(message, key) {
    super(message)
    this.code = 'ACCESS_DENIED'
    this.kind = 'persistent'
    if (key !== undefined) this.key = key
  }
}

/** What a renderer gets back: plain structured-clone data, never a thrown Error. */
const failure = (error) => ({ ok: false, error: { code: error.code ?? 'INTERNAL', kind: error.kind ?? 'persistent', message: error.message, key: error.key } })

/**
 * Registers the bridge for `store`. Options: `policy` (see README), and the Electron
 * modules `ipcMain` and `webContents`, injected (default: `require('electron')`).
 * Returns a function that removes the handlers and every subscription.
 */
function registerStoreIpc(store, options = {}) {
  const electron = options.ipcMain ? {} : require('electron')
  const ipcMain = options.ipcMain ?? electron.ipcMain
  // The store's own sensitive keys (its `sensitiveKeys` option and the schema's
  // `x-sensitive`) are hidden from renderers whether or not the policy lists them.
  const policy = policyLib.compilePolicy({
    ...options.policy,
    sensitiveKeys: [...(options.policy?.sensitiveKeys ?? []), ...(store.sensitiveKeys ?? [])],
  })
  const audit = new AuditLog(store.path, options.audit, (error) => options.onAuditError?.(error))
  /** webContents id -> { sender, origin, grant, keys: Map<key, count>, seq, queue } */
  const windows = new Map()
  /** key -> unsubscribe from the store, shared by every window watching it */
  const watches = new Map()

  // Every check happens here, before the payload is looked at beyond its shape.
  function admit(event, op, key, { needsWrite = false, wholeStore = false } = {}) {
    const frame = event.senderFrame
    if (!frame) throw new AccessDenied('The request has no sender frame (the frame is gone)')
    const top = event.sender?.mainFrame
    if (!top || frame !== top || frame.parent) throw new AccessDenied('Only a top frame may use the store')
    const grant = policyLib.grantFor(policy, frame.url)
    if (!grant) throw new AccessDenied(`The origin of \`${frame.url}\` is not allowed`)
    if (wholeStore) {
      if (!grant.history) throw new AccessDenied(`\`${op}\` needs a history grant for this origin`)
      return grant
    }
    if (key === ANY && op === 'subscribe') return grant
    if (policyLib.segmentsOf(key) === undefined) throw new AccessDenied(`\`${String(key).slice(0, 80)}\` is not a key a renderer may use`, String(key).slice(0, 80))
    if (needsWrite ? !policyLib.canWrite(grant, key) : !policyLib.canRead(grant, key)) {
      throw new AccessDenied(`This origin may not ${needsWrite ? 'write' : 'read'} \`${key}\``, key)
    }
    if (needsWrite && policyLib.hiddenFor(policy, grant).some((s) => policyLib.reaches(key, s) && s !== key)) {
      throw new AccessDenied(`Writing \`${key}\` would replace sensitive keys below it`, key)
    }
    return grant
  }

  function handle(op, run, checks) {
    const channel = `tad-store:${op}`
    ipcMain.handle(channel, async (event, ...args) => {
      const origin = policyLib.originOf(event.senderFrame?.url ?? '') ?? 'unknown'
      const key = typeof args[0] === 'string' ? args[0] : undefined
      try {
        const grant = admit(event, op, args[0], checks)
        const value = await run(event, grant, ...args)
        if (checks?.needsWrite || checks?.wholeStore) audit.append({ origin, op, key, outcome: 'ok' })
        return { ok: true, value }
      } catch (error) {
        if (error.code === 'ACCESS_DENIED' || checks?.needsWrite || checks?.wholeStore) {
          audit.append({ origin, op, key: key?.slice(0, 200), outcome: error.code ?? 'error' })
        }
        return failure(error)
      }
    })
  }

  const hidden = (grant) => policyLib.hiddenFor(policy, grant)

  handle('get', (event, grant, key) => policyLib.redact(key, store.get(key), hidden(grant)))
  handle('has', (event, grant, key) => (policyLib.redact(key, true, hidden(grant)) === undefined ? false : store.has(key)))
  handle(
    'set',
    (event, grant, key, value) => {
      if (hidden(grant).some((s) => policyLib.covers(s, key))) throw new AccessDenied(`\`${key}\` is sensitive`, key)
      const problem = policyLib.checkPayload(policy, value)
      if (problem) throw new AccessDenied(`The value for \`${key}\` is refused: ${problem}`, key)
      store.set(key, value)
    },
    { needsWrite: true },
  )
  handle('delete', (event, grant, key) => store.delete(key), { needsWrite: true })
  handle('subscribe', (event, grant, key) => subscribe(event.sender, grant, key))
  handle('unsubscribe', (event, grant, key) => unsubscribe(event.sender.id, key))
  handle('listHistory', () => store.listHistory(), { wholeStore: true })
  handle(
    'rollbackToTimestamp',
    async (event, grant, timestamp) => {
      if (typeof timestamp !== 'string' || timestamp.length > 64) throw new AccessDenied('A timestamp is an ISO 8601 string')
      await store.rollbackToTimestamp(timestamp)
    },
    { wholeStore: true },
  )

  function subscribe(sender, grant, key) {
    let win = windows.get(sender.id)
    if (!win) {
      win = { sender, grant, keys: new Map(), seq: 0, queue: [], scheduled: false }
      windows.set(sender.id, win)
      // A closed window takes its subscriptions with it.
      sender.once('destroyed', () => dropWindow(sender.id))
    }
    win.keys.set(key, (win.keys.get(key) ?? 0) + 1)
    if (!watches.has(key)) {
      const onChange = (value, previous) => fanOut(key, value, previous)
      watches.set(key, key === ANY ? store.onDidAnyChange(onChange) : store.onDidChange(key, onChange))
    }
    return win.seq
  }

  function unsubscribe(id, key) {
    const win = windows.get(id)
    const count = win?.keys.get(key)
    if (!count) return
    if (count > 1) win.keys.set(key, count - 1)
    else win.keys.delete(key)
    releaseWatch(key)
  }

  function releaseWatch(key) {
    for (const win of windows.values()) if (win.keys.has(key)) return
    watches.get(key)?.()
    watches.delete(key)
  }

  function dropWindow(id) {
    const win = windows.get(id)
    if (!win) return
    windows.delete(id)
    for (const key of win.keys.keys()) releaseWatch(key)
  }

  // A change goes to every window subscribed to the key that may read it, batched into
  // one message per window per turn of the event loop.
  function fanOut(key, value, previous) {
    for (const win of windows.values()) {
      if (!win.keys.has(key)) continue
      if (key !== ANY && !policyLib.canRead(win.grant, key)) continue
      const secret = hidden(win.grant)
      const change = key === ANY
        ? { key, value: redactStore(value, win.grant, secret), previous: redactStore(previous, win.grant, secret) }
        : { key, value: policyLib.redact(key, value, secret), previous: policyLib.redact(key, previous, secret) }
      win.queue.push(change)
      if (!win.scheduled) {
        win.scheduled = true
        setImmediate(() => flushWindow(win))
      }
    }
  }

  /** The whole store as a window may see it: readable top-level keys, secrets removed. */
  function redactStore(value, grant, secret) {
    if (value === undefined || value === null) return value
    const out = {}
    for (const [k, v] of Object.entries(value)) {
      if (!policyLib.canRead(grant, k)) continue
      const visible = policyLib.redact(k, v, secret)
      if (visible !== undefined) out[k] = visible
    }
    return out
  }

  function flushWindow(win) {
    win.scheduled = false
    if (win.queue.length === 0 || !windows.has(win.sender.id)) return
    if (win.sender.isDestroyed?.()) return dropWindow(win.sender.id)
    const changes = win.queue
    win.queue = []
    win.seq += 1
    win.sender.send(EVENT_CHANNEL, { seq: win.seq, changes })
  }

  /** Removes the handlers and subscriptions; the promise settles once the audit log is written. */
  const removeBridge = addBridge(store, () => {
    let subscriptions = 0
    for (const win of windows.values()) subscriptions += win.keys.size
    return subscriptions
  })

  return function dispose() {
    removeBridge()
    for (const op of CHANNELS) ipcMain.removeHandler(`tad-store:${op}`)
    for (const id of [...windows.keys()]) dropWindow(id)
    return audit.flush()
  }
}

module.exports = { registerStoreIpc, EVENT_CHANNEL, CHANNELS }
