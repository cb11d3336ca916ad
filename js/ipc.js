'use strict'
// The main-process bridge: `tad-store:*` IPC channels for renderers. It is the trust
// boundary of the app, so:
//
// - every request is checked before its payload is looked at beyond its shape: the
//   sender frame (present, the top frame, not detached, its window alive), its origin on
//   the allow-list, the key allowed for the operation, the payload bounded;
// - nothing leaves for a window unless the origin the window shows *now* may read it:
//   change events are checked again at delivery, against the window's current main-frame
//   URL, and a window that navigates loses its subscriptions;
// - one window's cost is bounded: subscriptions per window are capped, following every
//   change costs what changed (a key feed, never a copy of the store), the audit queue
//   has a fixed size.
//
//   const { registerStoreIpc } = require('tad-store/ipc')
//   const dispose = registerStoreIpc(store, { policy })
const policyLib = require('./policy')
const { addBridge } = require('./bridges')
const { AuditLog } = require('./audit')
const { kRendererBridge } = require('./store')

const { NOTHING, quote } = policyLib
const { OPERATIONS: CHANNELS, channelOf, EVENT_CHANNEL } = require('./channels')
const ANY = '' // the subscription key for onDidAnyChange
/** Longest id a preload may give its document. */
const MAX_DOCUMENT_ID = 64

/** A refusal, as the renderer sees it: `code`, `kind`, `message`, maybe `key`. */
class BridgeError extends Error {
  constructor(code, message, key) {
    super(message)
    this.code = code
    this.kind = 'persistent'
    if (key !== undefined) this.key = quote(key)
  }
}
const denied = (message, key) => new BridgeError('ACCESS_DENIED', message, key)

/**
 * What a renderer gets back: plain structured-clone data, never a thrown Error (IPC and
 * contextBridge would keep only its message). A schema violation keeps its `errors`
 * (keys, keywords and messages; never a value).
 */
function failure(error) {
  const code = typeof error?.code === 'string' ? error.code : 'INTERNAL'
  const message = typeof error?.message === 'string' ? error.message : 'The request failed'
  const out = { code, kind: typeof error?.kind === 'string' ? error.kind : 'persistent', message: quote(message, 500) }
  if (typeof error?.key === 'string') out.key = quote(error.key)
  if (code === 'SCHEMA_VIOLATION' && Array.isArray(error.errors)) {
    out.errors = error.errors.slice(0, 20).map(({ key, instancePath, keyword, message: text }) => ({ key: quote(String(key)), instancePath: quote(String(instancePath)), keyword: String(keyword), message: quote(String(text), 300) }))
  }
  return { ok: false, error: out }
}

/**
 * How renderer keys map to the store. With dot notation a key's segments are both its
 * address and what the policy checks. Without it (`accessPropertiesByDotNotation:
 * false`) a key is one top-level property; the policy still reads its name as a dot
 * path, as the engine does for sensitive keys.
 */
const DOTTED = { address: (segments) => segments, policyPath: (address) => address }
const LITERAL = {
  address: (segments) => [segments.join('.')],
  policyPath: (address) => (address.length === 0 ? address : [...address[0].split('.'), ...address.slice(1)]),
}

/** The value at `relative` (segments) inside `value`, own properties only. */
function valueAt(value, relative) {
  let node = value
  for (const segment of relative) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined
    node = node[segment]
  }
  return node
}

const isPrefix = (prefix, path) => prefix.length <= path.length && prefix.every((s, i) => s === path[i])

/**
 * Registers the bridge for `store`. Options: `policy` (see README), `audit`, and the
 * Electron module `ipcMain`, injected (default: `require('electron')`). Returns a
 * function that removes the handlers and every subscription; its promise settles once
 * the audit log is written. `dispose.stats()` reports the bridge's own bounded state.
 */
function registerStoreIpc(store, options = {}) {
  const seam = store?.[kRendererBridge]
  if (!seam) throw Object.assign(new TypeError('registerStoreIpc needs a tad-store `Store`'), { code: 'INVALID_OPTION', kind: 'persistent' })
  const ipcMain = options.ipcMain ?? require('electron').ipcMain
  // The store's own sensitive keys (its `sensitiveKeys` option and the schema's
  // `x-sensitive`) are hidden from renderers whether or not the policy lists them.
  const policy = policyLib.compilePolicy(options.policy, seam.sensitivePatterns)
  const keyspace = seam.literalKeys ? LITERAL : DOTTED
  const reportAuditError = (error) => {
    seam.reportError(error)
    options.onAuditError?.(error)
  }
  const audit = new AuditLog(store.path, options.audit, reportAuditError)

  /**
   * Windows with subscriptions, by webContents id: `{ sender, origin, grant, docs, keys,
   * stale, detach }`. `docs`: document id -> Map<key, count> (a document is one
   * page load, named by its preload). `keys`: key -> { address, refs } over all
   * documents, what deliveries are computed from. Invariant: a window is here exactly
   * while it has a subscription, and all of them belong to `origin`.
   */
  const windows = new Map()
  /**
   * The sequence number of the last message sent to each webContents. Kept beyond a
   * window's subscriptions (weakly), so numbers never restart for a page that follows
   * them: a gap always means a lost message.
   */
  const sequence = new WeakMap()
  /**
   * Changes from the store's key feed not yet delivered (one flush per turn), by path:
   * the values are absolute, so a later change to a path replaces an earlier one (moved
   * to the end, keeping the order of what each last says).
   */
  let pending = new Map()
  let scheduled = false
  let stopFeed

  const auditRequest = (origin, op, key, outcome) => audit.append({ origin, op, key, outcome })

  /** The origin a request's frame shows, for the audit, whatever the event holds. */
  function originOfEvent(event) {
    try {
      return policyLib.originOf(event?.senderFrame?.url) ?? 'unknown'
    } catch {
      return 'unknown'
    }
  }

  // Every check of a request happens here, before the payload is looked at beyond its
  // shape. Returns what the handler needs: the grant, and the key's address and path.
  function admit(event, op, key, { write = false, wholeStore = false } = {}) {
    const sender = event?.sender
    if (!sender || sender.isDestroyed?.()) throw denied('The window is gone')
    const frame = event.senderFrame
    if (!frame) throw denied('The request has no sender frame (the frame navigated or is gone)')
    const top = sender.mainFrame
    if (!top || frame !== top || frame.parent || frame.detached) throw denied('Only a top frame may use the store')
    const grant = policyLib.grantFor(policy, frame.url)
    if (!grant) throw denied(`The origin of \`${quote(frame.url)}\` is not allowed`)
    if (wholeStore) {
      if (!grant.history) throw denied(`\`${op}\` needs a history grant for this origin`)
      return { grant }
    }
    if (typeof key !== 'string') throw new BridgeError('INVALID_KEY', `Expected \`key\` to be a string, got ${quote(key)}`)
    if (key === ANY && op === 'subscribe') {
      if (!policyLib.canFollowAll(grant)) throw denied('Following every change needs a grant that reads everything (`read: [\'*\']`) or `anyChange: true`')
      return { grant, address: [], path: [] }
    }
    const segments = policyLib.segmentsOf(key)
    if (segments === undefined) throw denied(`\`${quote(key)}\` is not a key a renderer may use`, key)
    const address = keyspace.address(segments)
    const path = keyspace.policyPath(address)
    if (write) {
      const refusal = policyLib.writeRefusal(grant, path)
      if (refusal === 'read-only') throw denied(`\`${quote(key)}\` is read-only, or holds a read-only key`, key)
      if (refusal === 'sensitive') throw denied(`\`${quote(key)}\` is sensitive, or holds a sensitive key`, key)
      if (refusal) throw denied(`This origin may not write \`${quote(key)}\``, key)
    } else if (!policyLib.canRead(grant, path)) {
      throw denied(`This origin may not read \`${quote(key)}\``, key)
    }
    return { grant, address, path }
  }

  function handle(op, run, checks = {}) {
    ipcMain.handle(channelOf(op), async (event, ...args) => {
      const origin = originOfEvent(event)
      try {
        const request = checks.admit === false ? undefined : admit(event, op, args[0], checks)
        const value = await run(event, request, ...args)
        if (checks.write || checks.wholeStore) auditRequest(origin, op, args[0], 'ok')
        return { ok: true, value }
      } catch (error) {
        // Every refusal and failure, whatever the input, leaves one bounded line.
        auditRequest(origin, op, args[0], typeof error?.code === 'string' ? error.code : 'INTERNAL')
        return failure(error)
      }
    })
  }

  const visible = (grant, address, value) => {
    const seen = policyLib.project(grant, address, value, keyspace.policyPath)
    return seen === NOTHING ? undefined : seen
  }
  // A sensitive value out of reach (no data key at hand) reads as absent to a renderer.
  const outOfReach = (error) => error?.code === 'KEYRING_UNAVAILABLE' || error?.code === 'KEY_NOT_FOUND'
  const read = (fn) => {
    try {
      return fn()
    } catch (error) {
      if (outOfReach(error)) return undefined
      throw error
    }
  }

  handle('get', (event, { grant, address }, key) => visible(grant, address, read(() => store.get(key))))
  handle('has', (event, { grant, path }, key) => !policyLib.isHidden(grant, path) && Boolean(read(() => store.has(key))))
  handle(
    'set',
    (event, { grant }, key, value) => {
      const problem = policyLib.checkPayload(policy, value)
      if (problem) throw denied(`The value for \`${quote(key)}\` is refused: ${problem}`, key)
      store.set(key, value)
    },
    { write: true },
  )
  handle('delete', (event, request, key) => store.delete(key), { write: true })
  handle('subscribe', (event, request, key, documentId) => subscribe(event.sender, request, key, documentId))
  handle('unsubscribe', (event, request, key, documentId) => unsubscribe(event, key, documentId), { admit: false })
  handle('listHistory', () => store.listHistory(), { wholeStore: true })
  handle(
    'rollbackToTimestamp',
    async (event, request, timestamp) => {
      if (typeof timestamp !== 'string' || timestamp.length > 64) throw new BridgeError('INVALID_VALUE', 'A timestamp is an ISO 8601 string')
      await store.rollbackToTimestamp(timestamp)
    },
    { wholeStore: true },
  )

  function checkDocumentId(documentId) {
    if (typeof documentId !== 'string' || documentId.length === 0 || documentId.length > MAX_DOCUMENT_ID) {
      throw new BridgeError('INVALID_VALUE', `A subscription names its document with a string of at most ${MAX_DOCUMENT_ID} characters`)
    }
  }

  /** Subscribes; answers `{ seq, path, value }`: the key's value now, as of `seq`. */
  function subscribe(sender, { grant, address }, key, documentId) {
    checkDocumentId(documentId)
    let win = windows.get(sender.id)
    // Subscriptions belong to the origin that made them: a window showing another one
    // now keeps none of the old (its navigation events may not have arrived yet).
    if (win && win.origin !== grant.origin) dropWindow(win)
    win = windows.get(sender.id) ?? openWindow(sender, grant)
    let doc = win.docs.get(documentId)
    const count = doc?.get(key) ?? 0
    if (count === 0 && countSubscriptions(win) >= policy.maxSubscriptions) {
      throw new BridgeError('LIMIT_EXCEEDED', `This window already has ${policy.maxSubscriptions} subscriptions, the limit (\`maxSubscriptions\`)`, key)
    }
    if (!doc) win.docs.set(documentId, (doc = new Map()))
    doc.set(key, count + 1)
    if (count === 0) {
      const entry = win.keys.get(key)
      if (entry) entry.refs += 1
      else win.keys.set(key, { address, refs: 1 })
    }
    stopFeed ??= seam.follow(onFeed)
    // The feed delivers later changes; the value now is the baseline they apply to.
    const value = key === ANY ? visible(grant, [], store.store) : visible(grant, address, read(() => store.get(key)))
    return { seq: sequence.get(sender) ?? 0, path: address, value }
  }

  /** Always succeeds for what the window subscribed to; refuses only a subframe. */
  function unsubscribe(event, key, documentId) {
    const sender = event?.sender
    const frame = event?.senderFrame
    if (frame && (frame.parent || (sender?.mainFrame && frame !== sender.mainFrame))) throw denied('Only a top frame may use the store')
    if (typeof key !== 'string') throw new BridgeError('INVALID_KEY', `Expected \`key\` to be a string, got ${quote(key)}`)
    checkDocumentId(documentId)
    const win = sender && windows.get(sender.id)
    const doc = win?.docs.get(documentId)
    const count = doc?.get(key)
    if (!count) return
    if (count > 1) return void doc.set(key, count - 1)
    doc.delete(key)
    if (doc.size === 0) win.docs.delete(documentId)
    releaseKey(win, key)
    if (win.docs.size === 0) dropWindow(win)
  }

  function releaseKey(win, key) {
    const entry = win.keys.get(key)
    if (entry && --entry.refs === 0) win.keys.delete(key)
  }

  function countSubscriptions(win) {
    let n = 0
    for (const doc of win.docs.values()) n += doc.size
    return n
  }

  function openWindow(sender, grant) {
    const win = { sender, origin: grant.origin, grant, docs: new Map(), keys: new Map(), stale: new Set() }
    // Electron's webContents events (https://www.electronjs.org/docs/latest/api/web-contents):
    // `did-start-navigation` (details: isMainFrame, isSameDocument; older versions pass
    // them as arguments 3 and 4) starts a document navigation that may still be
    // cancelled; `did-navigate` fires once a main-frame one committed, so the documents
    // that existed when it started are gone. A crashed renderer and a closed window take
    // every document.
    const onStart = (details, url, isInPlace, isMainFrame) => {
      const mainFrame = details?.isMainFrame ?? isMainFrame
      const sameDocument = details?.isSameDocument ?? isInPlace
      if (mainFrame === false || sameDocument === true) return
      for (const id of win.docs.keys()) win.stale.add(id)
    }
    const onNavigated = () => {
      for (const id of win.stale) dropDocument(win, id)
      win.stale.clear()
    }
    const onGone = () => dropWindow(win)
    const listeners = { 'did-start-navigation': onStart, 'did-navigate': onNavigated, 'render-process-gone': onGone, destroyed: onGone }
    for (const [name, listener] of Object.entries(listeners)) sender.on(name, listener)
    win.detach = () => {
      for (const [name, listener] of Object.entries(listeners)) (sender.removeListener ?? sender.off).call(sender, name, listener)
    }
    windows.set(sender.id, win)
    return win
  }

  function dropDocument(win, id) {
    const doc = win.docs.get(id)
    if (!doc) return
    win.docs.delete(id)
    for (const key of doc.keys()) releaseKey(win, key)
    if (win.docs.size === 0) dropWindow(win)
  }

  function dropWindow(win) {
    if (windows.get(win.sender.id) !== win) return
    windows.delete(win.sender.id)
    win.detach()
    if (windows.size === 0 && stopFeed) {
      stopFeed()
      stopFeed = undefined
      pending = new Map()
    }
  }

  function onFeed(changes) {
    for (const change of changes) {
      const key = change.path.join('\0')
      pending.delete(key)
      pending.set(key, change)
    }
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }

  // Changes of one turn go out as one message per window, each checked at delivery.
  function flush() {
    scheduled = false
    const changes = [...pending.values()]
    pending = new Map()
    for (const win of [...windows.values()]) deliver(win, changes)
  }

  /**
   * The one rule at delivery: the window must still show the origin its subscriptions
   * were made under (its main frame's URL now). Otherwise they are dropped, and the
   * refused delivery audited.
   */
  function showsItsOrigin(win) {
    let url
    try {
      if (win.sender.isDestroyed?.()) {
        dropWindow(win)
        return false
      }
      url = win.sender.mainFrame?.url
    } catch {
      url = undefined // a webContents being torn down throws
    }
    const now = policyLib.originOf(url)
    if (now === win.origin) return true
    dropWindow(win)
    auditRequest(now ?? 'unknown', 'deliver', undefined, 'ACCESS_DENIED')
    return false
  }

  function deliver(win, changes) {
    if (changes.length === 0 || !showsItsOrigin(win)) return
    const deltas = []
    for (const { path, value } of changes) {
      for (const target of targetsFor(win, path)) {
        const seen = policyLib.project(win.grant, target, target.length === path.length ? value : valueAt(value, target.slice(path.length)), keyspace.policyPath)
        if (seen === NOTHING) continue
        deltas.push(seen === undefined ? deletion(win.grant, target) : { path: target, value: seen })
      }
    }
    if (deltas.length === 0) return
    const seq = (sequence.get(win.sender) ?? 0) + 1
    sequence.set(win.sender, seq)
    try {
      win.sender.send(EVENT_CHANNEL, { seq, changes: deltas })
    } catch {
      dropWindow(win) // destroyed while we looked
    }
  }

  /**
   * A delta saying nothing the grant may see is left at `path`. `prune` counts the
   * unreadable containers right above it, which a page showing the whole store must drop
   * once they are empty: a projection of the store never shows an unreadable container
   * with nothing visible in it.
   */
  function deletion(grant, path) {
    let prune = 0
    while (prune < path.length - 1 && !policyLib.canRead(grant, keyspace.policyPath(path.slice(0, path.length - 1 - prune)))) prune++
    return prune > 0 ? { path, deleted: true, prune } : { path, deleted: true }
  }

  /**
   * Where a change at `path` concerns the window: the path itself when a subscription
   * lies at or above it, else the outermost subscriptions below it (their values are
   * cut out of the change's value). Nothing else ever goes out.
   */
  function targetsFor(win, path) {
    const below = []
    for (const { address } of win.keys.values()) {
      if (isPrefix(address, path)) return [path]
      if (isPrefix(path, address)) below.push(address)
    }
    if (below.length < 2) return below
    // Outermost only: O(n × depth) with the kept ones indexed by their joined segments.
    below.sort((a, b) => a.length - b.length)
    const kept = new Set()
    const outermost = []
    for (const address of below) {
      let covered = false
      for (let n = path.length + 1; n < address.length && !covered; n++) covered = kept.has(address.slice(0, n).join('\0'))
      if (covered) continue
      kept.add(address.join('\0'))
      outermost.push(address)
    }
    return outermost
  }

  /** Removes the handlers and subscriptions; the promise settles once the audit log is written. */
  const removeBridge = addBridge(store, () => ({ subscriptions: [...windows.values()].reduce((n, w) => n + countSubscriptions(w), 0), auditDropped: audit.dropped }))

  function dispose() {
    removeBridge()
    for (const op of CHANNELS) ipcMain.removeHandler(channelOf(op))
    for (const win of [...windows.values()]) dropWindow(win)
    return audit.flush()
  }
  /** The bridge's own state, bounded by its limits: for tests and diagnostics. */
  dispose.stats = () => ({
    windows: windows.size,
    subscriptions: [...windows.values()].map(countSubscriptions),
    pending: pending.size,
    auditQueued: audit.queued,
    auditDropped: audit.dropped,
  })
  return dispose
}

module.exports = { registerStoreIpc, EVENT_CHANNEL, CHANNELS }
