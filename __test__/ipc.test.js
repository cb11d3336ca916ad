'use strict'
// The renderer bridge under the Electron stand-in: renderers are real OS processes
// talking over V8-serialised IPC to this (main) process.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { registerStoreIpc } = require('../ipc')
const { createElectron } = require('../examples/electron-standin/main')
const { tempDir, closeLater } = require('./helpers')

// The preload tad-store ships, as an app names it (the stand-in runs it sandboxed).
const PRELOAD = require('../preload').path
const APP = 'https://app.example.com'
const policy = {
  origins: {
    [APP]: { read: ['*'], write: ['settings', 'ui', 'ai.request'], readOnly: ['settings.locked'], sensitive: [], history: true },
    'https://docs.example.com': { read: ['settings.theme'], write: [] },
  },
  sensitiveKeys: ['ai.credentials.apiKey'],
  maxPayloadBytes: 4096,
  maxDepth: 8,
}

async function setup(t, extra = {}) {
  const store = closeLater(t, new Store({ cwd: tempDir(t), defaults: { settings: { theme: 'light', locked: 1 }, ai: { credentials: { apiKey: 'sk-secret-123' } } } }))
  const electron = createElectron()
  const dispose = registerStoreIpc(store, { policy, ipcMain: electron.ipcMain, ...extra })
  closeLater(t, { close: dispose })
  const open = (url = `${APP}/index.html`, options = {}) => closeLater(t, electron.openWindow(url, { preload: PRELOAD, ...options }))
  return { store, electron, open, dispose }
}

const subscribeTheme = `
  window.storeAPI.onDidChange('settings.theme', (value, previous) => report({ value, previous }))
  await window.storeAPI.get('settings.theme') // the subscription is in place once a later call returns
`

test('a write in one window reaches the other two and the main process', async (t) => {
  const { store, open } = await setup(t)
  const [a, b, c] = [open(), open(), open()]
  await Promise.all([a, b, c].map((w) => w.run(subscribeTheme)))
  const inMain = new Promise((resolve) => store.onDidChange('settings.theme', (v) => resolve(v)))
  await a.run(`await window.storeAPI.set('settings.theme', 'dark')`)
  assert.equal(await inMain, 'dark')
  for (const w of [a, b, c]) {
    const [seen] = await w.until((r) => r.length >= 1)
    assert.deepEqual(seen, { value: 'dark', previous: 'light' })
  }
  assert.equal(await b.run(`return window.storeAPI.get('settings.theme')`), 'dark')
})

test('a window that subscribed to nothing receives nothing; one subscribed elsewhere neither', async (t) => {
  const { open } = await setup(t)
  const [writer, idle, elsewhere] = [open(), open(), open()]
  await elsewhere.run(`window.storeAPI.onDidChange('ui.zoom', (v) => report(v)); await window.storeAPI.get('ui')`)
  await writer.run(subscribeTheme)
  await writer.run(`await window.storeAPI.set('settings.theme', 'dark')`)
  await writer.until((r) => r.length >= 1)
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.deepEqual(await idle.run(`return rawEvents.length`), 0)
  assert.deepEqual(elsewhere.reports, [])
})

test('every request is checked: frames, origins, keys, payloads, grants', async (t) => {
  const { store, open } = await setup(t)
  const denied = async (win, code) => {
    const error = await win.run(code).then(() => null, (e) => e)
    assert.equal(error?.code, 'ACCESS_DENIED', `${code} -> ${error?.message}`)
    return error
  }
  const app = open()
  await denied(open(`${APP}/x`, { frame: 'none' }), `await window.storeAPI.get('settings')`)
  await denied(open(`${APP}/x`, { frame: 'sub' }), `await window.storeAPI.get('settings')`)
  await denied(open('https://app.example.com.evil.com/'), `await window.storeAPI.get('settings')`)
  await denied(open('http://app.example.com/'), `await window.storeAPI.get('settings')`)
  await denied(open('file:///app.example.com/index.html'), `await window.storeAPI.get('settings')`)
  const docs = open('https://docs.example.com/page')
  assert.equal(await docs.run(`return window.storeAPI.get('settings.theme')`), 'light')
  await denied(docs, `await window.storeAPI.get('settings')`)
  await denied(docs, `await window.storeAPI.set('settings.theme', 'dark')`)
  await denied(docs, `await window.storeAPI.listHistory()`)
  await denied(docs, `await window.storeAPI.rollbackToTimestamp('2026-01-01T00:00:00.000Z')`)
  await denied(app, `await window.storeAPI.set('profile.name', 'x')`)
  await denied(app, `await window.storeAPI.set('settings.locked', 2)`)
  await denied(app, `await window.storeAPI.set('settings', { theme: 'x' })`) // a read-only key below
  await denied(app, `await window.storeAPI.get('__proto__')`)
  await denied(app, `await window.storeAPI.get('settings.__proto__.polluted')`)
  await denied(app, `await window.storeAPI.set('ui.big', 'x'.repeat(10000))`)
  await denied(app, `let v = 1; for (let i = 0; i < 20; i++) v = [v]; await window.storeAPI.set('ui.deep', v)`)
  // A subscription the origin may not read is refused: nothing arrives.
  await docs.run(`window.storeAPI.onDidChange('settings', (v) => report(v)); await window.storeAPI.get('settings.theme')`)
  store.set('settings.locked', 5)
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.deepEqual(docs.reports, [])
  store.set('settings.locked', 1)
  // Sensitive keys never reach a renderer without a grant.
  assert.equal(await app.run(`return window.storeAPI.get('ai.credentials.apiKey')`), undefined)
  assert.deepEqual(await app.run(`return window.storeAPI.get('ai')`), { credentials: {} })
  assert.equal(store.get('settings.locked'), 1, 'nothing refused was written')
  assert.equal(store.has('ui.big'), false)
  // The audit log has the refusals, and no values.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const log = fs.readFileSync(path.join(path.dirname(store.path), 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.ok(log.some((l) => l.origin === 'https://app.example.com.evil.com' && l.outcome === 'ACCESS_DENIED'))
  assert.ok(log.some((l) => l.op === 'set' && l.key === 'settings.locked' && l.outcome === 'ACCESS_DENIED'))
  assert.ok(!JSON.stringify(log).includes('sk-secret-123'))
  assert.ok(log.every((l) => l.time && l.op))
})

test('a refused write from a renderer reports the store error code', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), schema: { ui: { type: 'object', properties: { zoom: { type: 'number' } } } } }))
  const electron = createElectron()
  closeLater(t, { close: registerStoreIpc(store, { policy, ipcMain: electron.ipcMain }) })
  const win = closeLater(t, electron.openWindow(`${APP}/`, { preload: PRELOAD }))
  const error = await win.run(`await window.storeAPI.set('ui.zoom', 'big')`).then(() => null, (e) => e)
  assert.equal(error?.code, 'SCHEMA_VIOLATION')
})

test('a window that closes mid-stream is cleaned up', async (t) => {
  const { store, open } = await setup(t)
  const [writer, leaving] = [open(), open()]
  await leaving.run(subscribeTheme)
  const writes = writer.run(`for (let i = 0; i < 200; i++) await window.storeAPI.set('ui.n', i)`)
  await leaving.run(`window.storeAPI.onDidChange('ui.n', () => {}); await window.storeAPI.get('ui')`)
  await leaving.close()
  await writes
  assert.equal(store.get('ui.n'), 199)
  // Its subscriptions are gone: the store has no watcher left for them.
  await writer.run(`await window.storeAPI.set('settings.theme', 'x')`)
})

test('1000 rapid writes arrive in order with no gap', async (t) => {
  const { open } = await setup(t)
  const [writer, reader] = [open(), open()]
  await reader.run(`window.storeAPI.onDidChange('ui.n', (v) => report(v)); await window.storeAPI.get('ui')`)
  await writer.run(`for (let i = 0; i < 1000; i++) window.storeAPI.set('ui.n', i); await window.storeAPI.get('ui')`)
  const seen = await reader.until((r) => r.at(-1) === 999)
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], 'in order')
  const seqs = await reader.run(`return rawEvents.map((m) => m.seq)`)
  seqs.forEach((s, i) => assert.equal(s, seqs[0] + i, 'no gap in sequence numbers'))
})

test('the bridge is disposed cleanly', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t) }))
  const electron = createElectron()
  const dispose = registerStoreIpc(store, { policy, ipcMain: electron.ipcMain })
  assert.equal(electron.ipcMain.handlerCount(), 8)
  dispose()
  assert.equal(electron.ipcMain.handlerCount(), 0)
})

test('the exposed API has exactly the documented methods, frozen', async (t) => {
  const { open } = await setup(t)
  const win = open()
  const shape = await win.run(`return { keys: Object.keys(window.storeAPI).sort(), frozen: Object.isFrozen(window.storeAPI) }`)
  assert.deepEqual(shape, {
    keys: ['delete', 'get', 'has', 'listHistory', 'onDidAnyChange', 'onDidChange', 'rollbackToTimestamp', 'set'],
    frozen: true,
  })
})

test('the audit log rotates by size and never holds a value', async (t) => {
  const { AuditLog } = require('../js/audit')
  const dir = tempDir(t)
  const log = new AuditLog(path.join(dir, 'config.json'), { maxBytes: 400, keep: 2 })
  for (let i = 0; i < 40; i++) log.append({ origin: 'https://a.example', op: 'set', key: `k${i}`, outcome: 'ok' })
  await log.flush()
  const files = fs.readdirSync(dir).sort()
  assert.deepEqual(files, ['audit.log', 'audit.log.1', 'audit.log.2'])
  for (const file of files) assert.ok(fs.statSync(path.join(dir, file)).size <= 400, file)
  const last = fs.readFileSync(path.join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(last.at(-1).key, 'k39')
  assert.deepEqual(Object.keys(last[0]).sort(), ['key', 'op', 'origin', 'outcome', 'time'])
})

// ----- the boundary under attack: each test below failed before the bridge checked the
// window's origin at delivery, bounded each window's cost and had one write rule.

const { openInProcessWindow } = require('./hostile-window')
/** Until the store delivered its changes (a threadsafe call) and the bridge flushed. */
const turn = async () => {
  await new Promise((resolve) => setTimeout(resolve, 10))
  await new Promise((resolve) => setImmediate(resolve))
}
const PROFILE = { email: 'ada@example.com', phone: '+44 20 7946 0000', name: 'Ada' }

/** A store and bridge whose renderers run in this process (see hostile-window.js). */
function inProcess(t, { policy: extraPolicy = {}, storeOptions = {}, ...options } = {}) {
  const store = closeLater(t, new Store({ cwd: tempDir(t), defaults: { settings: { theme: 'light', locked: 1 }, profile: PROFILE, ai: { credentials: { apiKey: 'sk-secret-123' } } }, ...storeOptions }))
  const electron = createElectron()
  const dispose = registerStoreIpc(store, { policy: { ...policy, ...extraPolicy }, ipcMain: electron.ipcMain, ...options })
  closeLater(t, { close: dispose })
  const open = (url = `${APP}/index.html`) => {
    const win = openInProcessWindow(electron.ipcMain, url)
    closeLater(t, win)
    return win
  }
  return { store, dispose, open }
}

test('a window that navigates to a foreign origin receives nothing more (real renderer processes)', async (t) => {
  const { store, open } = await setup(t)
  const win = open()
  await win.run(`window.storeAPI.onDidChange('profile', (v) => report(v)); await window.storeAPI.get('settings')`)
  store.set('profile.email', 'one@example.com')
  await win.until((r) => r.length === 1)
  assert.equal(store.stats().rendererSubscriptions, 1)
  // Same webContents, new document on a foreign origin, whose page listens as hard as it can.
  await win.navigate('https://evil.example.net/')
  assert.equal(store.stats().rendererSubscriptions, 0, 'did-navigate dropped the old document')
  await win.run(`window.storeAPI.onDidChange('profile', (v) => report(v)); window.storeAPI.onDidAnyChange((v) => report(v))`)
  store.set('profile.email', 'two@example.com')
  store.set('profile.phone', '+1 555 0100')
  await new Promise((resolve) => setTimeout(resolve, 150))
  assert.deepEqual(await win.run(`return rawEvents`), [], 'nothing reached the foreign page')
  assert.equal(store.stats().rendererSubscriptions, 0)
})

test('a reload keeps nothing of the old document, even when the new one subscribes before did-navigate', async (t) => {
  const { store, open } = await setup(t)
  const win = open()
  await win.run(`window.storeAPI.onDidChange('ui.a', () => {}); window.storeAPI.onDidChange('ui.b', () => {}); await window.storeAPI.get('ui')`)
  assert.equal(store.stats().rendererSubscriptions, 2)
  // The new document's first request is handled before `did-navigate` arrives.
  const navigated = win.navigate(`${APP}/index.html`, { lateNavigateEvent: true })
  await new Promise((resolve) => setTimeout(resolve, 50))
  await win.run(`window.storeAPI.onDidChange('ui.a', (v) => report(v)); await window.storeAPI.get('ui')`)
  await navigated
  assert.equal(store.stats().rendererSubscriptions, 1, "only the new document's subscription is left")
  store.set('ui.a', 'after')
  assert.deepEqual(await win.until((r) => r.length === 1), ['after'])
})

test('a same-document navigation keeps the subscriptions; a crashed renderer drops them', async (t) => {
  const { store, open } = await setup(t)
  const win = open()
  await win.run(`window.storeAPI.onDidChange('ui.a', (v) => report(v)); await window.storeAPI.get('ui')`)
  win.navigateInPage(`${APP}/index.html#settings`)
  store.set('ui.a', 1)
  assert.deepEqual(await win.until((r) => r.length === 1), [1])
  assert.throws(() => win.navigateInPage('https://evil.example.net/'), /SecurityError/)
  await win.crash()
  assert.equal(store.stats().rendererSubscriptions, 0)
})

test('delivery checks the origin the window shows now, whatever events arrived', async (t) => {
  const { store, dispose, open } = inProcess(t)
  const win = open()
  const seen = []
  win.api.onDidChange('profile', (v) => seen.push(v))
  await win.api.get('settings')
  store.set('profile.name', 'B')
  await turn()
  assert.equal(seen.length, 1)
  // No event at all, yet the window shows another origin: nothing goes out, and the
  // refused delivery is audited.
  win.navigateSilently('https://docs.example.com/page')
  store.set('profile.email', 'leak@example.com')
  await turn()
  assert.equal(seen.length, 1)
  assert.ok(!JSON.stringify(win.received).includes('leak@example.com'))
  assert.deepEqual(dispose.stats().subscriptions, [])
  await dispose()
  const log = fs.readFileSync(path.join(path.dirname(store.path), 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.ok(log.some((l) => l.op === 'deliver' && l.origin === 'https://docs.example.com' && l.outcome === 'ACCESS_DENIED'))
})

test('following every change needs a grant that reads everything or anyChange, and sends only what changed', async (t) => {
  const extra = { origins: { ...policy.origins, 'https://feed.example.com': { read: ['settings', 'ui'], anyChange: true } } }
  const big = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`w${i}`, { name: `workspace ${i}`, path: '/x'.repeat(400) }]))
  const { store, open } = inProcess(t, { policy: extra, storeOptions: { history: false } })
  store.set('workspaces', big)
  const docs = open('https://docs.example.com/page')
  await assert.rejects(docs.raw('subscribe', '', 'doc-1').then((r) => (r.ok ? r : Promise.reject(r.error))), (e) => e.code === 'ACCESS_DENIED')
  const app = open()
  const feed = open('https://feed.example.com/')
  const appSeen = []
  const feedSeen = []
  app.api.onDidAnyChange((value, previous) => appSeen.push({ value, previous }))
  feed.api.onDidAnyChange((value) => feedSeen.push(value))
  await app.api.get('settings')
  await feed.api.get('settings')
  // The whole store is read once, at subscribe; a change costs what changed.
  let storeReads = 0
  const proto = Object.getPrototypeOf(store)
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'store')
  Object.defineProperty(store, 'store', { get: () => (storeReads++, descriptor.get.call(store)), configurable: true })
  for (let i = 0; i < 50; i++) store.set('settings.theme', `t${i}`)
  store.set('profile.email', 'new@example.com')
  await turn()
  assert.equal(storeReads, 0)
  const sent = app.received.at(-1).message
  assert.ok(JSON.stringify(sent).length < 500, `a small change is a small message (${JSON.stringify(sent).length} bytes)`)
  assert.equal(appSeen.length, 1, 'one call for the turn')
  assert.equal(appSeen[0].value.settings.theme, 't49')
  assert.equal(appSeen[0].previous.settings.theme, 'light')
  assert.equal(appSeen[0].value.workspaces.w1999.name, 'workspace 1999', 'the rest of the store is there')
  assert.equal(appSeen[0].value.ai.credentials.apiKey, undefined, 'hidden keys are not')
  // The feed origin sees only what it reads.
  assert.deepEqual(Object.keys(feedSeen[0]).sort(), ['settings'])
  assert.ok(!JSON.stringify(feed.received).includes('new@example.com'))
})

test('subscriptions per window are capped (maxSubscriptions)', async (t) => {
  const { store, dispose, open } = inProcess(t, { policy: { maxSubscriptions: 8 } })
  const win = open('https://docs.example.com/page')
  // Keys below its own grant: the most restricted origin tries it.
  const replies = []
  for (let i = 0; i < 20; i++) replies.push(await win.raw('subscribe', `settings.theme.k${i}`, 'doc-1'))
  assert.equal(replies.filter((r) => r.ok).length, 8)
  const refused = replies.find((r) => !r.ok).error
  assert.equal(refused.code, 'LIMIT_EXCEEDED')
  assert.match(refused.message, /\b8\b/)
  assert.equal(store.stats().rendererSubscriptions, 8)
  // Subscribing again to a key it has costs nothing more; unsubscribing frees a place.
  assert.ok((await win.raw('subscribe', 'settings.theme.k0', 'doc-1')).ok)
  assert.ok((await win.raw('unsubscribe', 'settings.theme.k1', 'doc-1')).ok)
  assert.ok((await win.raw('subscribe', 'settings.theme.k19', 'doc-1')).ok)
  assert.deepEqual(dispose.stats().subscriptions, [8])
  // The default is 256.
  const { open: openDefault, dispose: disposeDefault } = inProcess(t)
  const other = openDefault()
  for (let i = 0; i < 300; i++) await other.raw('subscribe', `ui.k${i}`, 'doc-1')
  assert.deepEqual(disposeDefault.stats().subscriptions, [256])
})

test('read-only and sensitive keys resist every write form, wildcard levels included', async (t) => {
  const guarded = { origins: { [APP]: { read: ['*'], write: ['settings', 'ui', 'workspaces', 'ai'], readOnly: ['settings.locked', 'workspaces.*.locked'] } } }
  const { store, open } = inProcess(t, { policy: guarded })
  store.set('workspaces', { w1: { name: 'one', locked: true } })
  const win = open()
  const code = async (op, ...args) => {
    const reply = await win.raw(op, ...args)
    return reply.ok ? 'ok' : reply.error.code
  }
  for (const [op, ...args] of [
    ['set', 'workspaces.w1.locked', false],
    ['set', 'workspaces.w1', { name: 'one', locked: false }],
    ['set', 'workspaces', {}],
    ['delete', 'workspaces.w1.locked'],
    ['delete', 'workspaces.w1'],
    ['delete', 'workspaces'],
    ['set', 'settings', { theme: 'x' }],
    ['delete', 'settings'],
    // A hidden sensitive key: neither deleted nor replaced, through any ancestor.
    ['delete', 'ai.credentials.apiKey'],
    ['delete', 'ai.credentials'],
    ['delete', 'ai'],
    ['set', 'ai', { model: 'm' }],
    ['set', 'ai.credentials', {}],
  ]) {
    assert.equal(await code(op, ...args), 'ACCESS_DENIED', `${op} ${args[0]}`)
  }
  assert.equal(await code('set', 'workspaces.w1.name', 'renamed'), 'ok')
  assert.equal(await code('set', 'ai.model', 'm'), 'ok')
  assert.deepEqual(store.get('workspaces'), { w1: { name: 'renamed', locked: true } })
  assert.equal(store.get('ai.credentials.apiKey'), 'sk-secret-123')
  assert.equal(store.get('settings.locked'), 1)
})

test('unsubscribe always succeeds for what the window subscribed to, the whole store included', async (t) => {
  const { store, open } = inProcess(t)
  const win = open()
  const seen = []
  const off = win.api.onDidAnyChange((v) => seen.push(v))
  await win.api.get('settings')
  assert.equal(store.stats().rendererSubscriptions, 1)
  off()
  await win.api.get('settings')
  assert.equal(store.stats().rendererSubscriptions, 0)
  store.set('ui.x', 1)
  await turn()
  assert.deepEqual(seen, [])
  assert.equal(win.received.length, 0)
  // Unsubscribing what was never subscribed is not an error either.
  assert.ok((await win.raw('unsubscribe', 'never.subscribed', 'doc-1')).ok)
})

test('the audit queue is bounded: a flood of refusals is dropped and counted, reported once', async (t) => {
  const errors = []
  const { store, dispose, open } = inProcess(t, { audit: { maxQueued: 100 } })
  store.onError((error) => errors.push(error))
  const win = open('https://evil.example.net/')
  const before = process.memoryUsage().heapUsed
  await Promise.all(Array.from({ length: 20_000 }, (_, i) => win.raw('get', `k${i}`)))
  assert.ok(dispose.stats().auditQueued <= 100)
  const dropped = store.stats().rendererAuditDropped
  assert.ok(dropped > 10_000, `dropped ${dropped}`)
  assert.equal(errors.filter((e) => e.code === 'AUDIT_DROPPED').length, 1)
  assert.ok(process.memoryUsage().heapUsed - before < 64 << 20)
  await dispose()
  const lines = fs.readFileSync(path.join(path.dirname(store.path), 'audit.log'), 'utf8').trim().split('\n')
  assert.equal(lines.length + dropped, 20_000, 'every refusal is a line or a count')
})

test('malformed requests are refused with a code and an audit line, never INTERNAL; audit lines stay lines', async (t) => {
  const { store, dispose, open } = inProcess(t)
  const win = open()
  const codes = []
  for (const key of [{ toString: 1 }, { toString: 'x', valueOf: 2 }, 42, null, undefined, [1, 2], new Map([[1, 2]]), 10n, 'a'.repeat(5000)]) {
    for (const op of ['get', 'has', 'set', 'delete', 'subscribe', 'unsubscribe']) {
      const reply = await win.raw(op, key, 'v')
      if (op === 'unsubscribe' && typeof key === 'string') {
        assert.equal(reply.ok, true, 'unsubscribing what was never subscribed does nothing')
        continue
      }
      assert.equal(reply.ok, false, `${op} ${typeof key}`)
      codes.push(reply.error.code)
      assert.ok(reply.error.message.length < 1000)
    }
  }
  assert.deepEqual([...new Set(codes)].sort(), ['ACCESS_DENIED', 'INVALID_KEY'])
  // Line separators in a key cannot split a line; a huge origin cannot make a huge line.
  await win.raw('set', 'settings\u2028x\u2029y\u0085z', 1)
  const huge = open(`https://${'a'.repeat(2_000_000)}.example.com/`)
  const reply = await huge.raw('get', 'settings')
  assert.equal(reply.error.code, 'ACCESS_DENIED')
  assert.ok(reply.error.message.length < 1000, 'the message quotes a bounded origin')
  // A destroyed sender is not served.
  const gone = open()
  gone.close()
  assert.equal((await gone.raw('get', 'settings')).error.code, 'ACCESS_DENIED')
  assert.equal((await gone.raw('set', 'ui.x', 1)).error.code, 'ACCESS_DENIED')
  assert.equal(store.has('ui.x'), false)
  await dispose()
  const text = fs.readFileSync(path.join(path.dirname(store.path), 'audit.log'), 'utf8')
  assert.ok(!/[\u0085\u2028\u2029]/.test(text), 'separators are escaped')
  const lines = text.trim().split('\n')
  assert.equal(lines.length, codes.length + 4, 'one line per refusal: the malformed keys, the separators, the origin, the destroyed sender twice')
  for (const line of lines) {
    assert.ok(line.length < 1000, `a bounded line (${line.length})`)
    JSON.parse(line)
  }
  assert.ok(lines.some((l) => JSON.parse(l).key === 'settings\u2028x\u2029y\u0085z'))
})

test('the preload asks on exactly the channels the bridge answers, and listens where it sends', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t) }))
  const handled = new Set()
  const fakeMain = { handle: (channel) => handled.add(channel), removeHandler: (channel) => handled.delete(channel) }
  const dispose = registerStoreIpc(store, { policy, ipcMain: fakeMain })
  const invoked = new Set()
  const listened = new Set()
  const { exposeStoreAPI } = require('../preload')
  const api = exposeStoreAPI({
    contextBridge: { exposeInMainWorld: () => {} },
    ipcRenderer: {
      invoke: async (channel) => {
        invoked.add(channel)
        return { ok: true, value: { seq: 0, path: [], value: undefined } }
      },
      on: (channel) => listened.add(channel),
    },
  })
  await api.get('a')
  await api.set('a', 1)
  await api.delete('a')
  await api.has('a')
  const off = api.onDidChange('a', () => {})
  await new Promise((resolve) => setImmediate(resolve))
  off()
  await new Promise((resolve) => setImmediate(resolve))
  await api.listHistory()
  await api.rollbackToTimestamp('2020-01-01T00:00:00.000Z')
  assert.deepEqual([...invoked].sort(), [...handled].sort(), 'every operation, on the bridge\'s channel')
  assert.deepEqual([...listened], [require('../js/channels').EVENT_CHANNEL])
  await dispose()
  assert.equal(handled.size, 0, 'every handler removed')
})
