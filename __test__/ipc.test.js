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

const PRELOAD = path.join(__dirname, 'fixtures', 'preload.js')
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
