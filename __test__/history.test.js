'use strict'
// History and rollback: storeHistory/<timestamp>.diff entries, listHistory,
// rollbackToTimestamp, verifyHistory, pruning, backups.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { StoreManager } = require('..')
const { tempDir, closeLater, codeOf } = require('./helpers')

function open(t, options = {}) {
  return closeLater(t, new Store({ cwd: tempDir(t), ...options }))
}

/** Makes the store record its current state now; returns that entry. */
async function record(store) {
  const report = await store.verifyHistory()
  assert.equal(report.ok, true, JSON.stringify(report))
  return store.listHistory()[0]
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

test('listHistory() - one entry per recorded snapshot, newest first', async (t) => {
  const store = open(t)
  store.set('theme', 'light')
  const first = await record(store)
  store.set('theme', 'dark')
  const second = await record(store)
  const list = store.listHistory()
  assert.deepEqual(list.slice(0, 2), [second, first])
  for (const entry of list) {
    assert.match(entry.timestamp, ISO)
    assert.equal(entry.kind, 'diff')
    assert.match(entry.hash, /^[0-9a-f]{64}$/)
    assert.ok(entry.size > 0)
    assert.ok(fs.existsSync(path.join(path.dirname(store.path), 'storeHistory', `${entry.timestamp}.diff`)))
  }
  assert.ok(second.timestamp > first.timestamp)
})

test('rollbackToTimestamp() - restores exactly, fires events for what differs, and can be undone', async (t) => {
  const store = open(t)
  store.set({ theme: 'light', editor: { fontSize: 12 }, untouched: 1 })
  const before = await record(store)
  const snapshotThen = store.store
  store.set('theme', 'dark')
  store.set('editor.fontSize', 20)
  store.set('added', true)
  const after = await record(store)
  const seen = []
  store.onDidChange('theme', (v, old) => seen.push(['theme', v, old]))
  store.onDidChange('untouched', (v) => seen.push(['untouched', v]))
  store.onDidChange('added', (v, old) => seen.push(['added', v, old]))
  await store.rollbackToTimestamp(before.timestamp)
  assert.deepEqual(store.store, snapshotThen)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(seen.sort(), [['added', undefined, true], ['theme', 'light', 'dark']])
  // The rollback is recorded too: undo it.
  await store.rollbackToTimestamp(after.timestamp)
  assert.equal(store.get('theme'), 'dark')
  assert.equal(store.get('added'), true)
})

test('rollbackToTimestamp() - unknown timestamp: HISTORY_NOT_FOUND, nothing changes', async (t) => {
  const store = open(t)
  store.set('a', 1)
  await record(store)
  const error = await store.rollbackToTimestamp('2001-01-01T00:00:00.000Z').then(() => null, (e) => e)
  assert.equal(error?.code, 'HISTORY_NOT_FOUND')
  assert.equal((await store.rollbackToTimestamp('not a time').catch((e) => e)).code, 'HISTORY_NOT_FOUND')
  assert.equal(store.get('a'), 1)
})

test('a torn entry: HISTORY_CORRUPT for states behind it, verifyHistory says where, nothing changes', async (t) => {
  const store = open(t)
  const entries = []
  for (let n = 0; n < 4; n++) {
    store.set('n', n)
    entries.push(await record(store))
  }
  const file = path.join(path.dirname(store.path), 'storeHistory', `${entries[1].timestamp}.diff`)
  const bytes = fs.readFileSync(file)
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 3))
  const report = await store.verifyHistory()
  assert.equal(report.ok, false)
  assert.equal(report.brokenAt, entries[1].timestamp)
  const error = await store.rollbackToTimestamp(entries[0].timestamp).then(() => null, (e) => e)
  assert.equal(error?.code, 'HISTORY_CORRUPT')
  assert.equal(error.kind, 'critical')
  assert.equal(store.get('n'), 3)
  await store.rollbackToTimestamp(entries[2].timestamp)
  assert.equal(store.get('n'), 2, 'states before the damage are still reachable')
})

test('sets made during a rollback land before it or after it, never inside it', async (t) => {
  const store = open(t)
  store.set('a', 'old')
  const old = await record(store)
  store.set('a', 'new')
  const rolling = store.rollbackToTimestamp(old.timestamp)
  store.set('during', 1) // lands before the rollback: the rollback replaces it
  await rolling
  store.set('after', 2)
  assert.deepEqual({ ...store.store }, { a: 'old', after: 2 })
  // The state the rollback replaced is in history, and so is the rollback.
  await record(store)
  const recorded = store.listHistory()
  assert.ok(recorded.length >= 3, JSON.stringify(recorded))
  await store.rollbackToTimestamp(recorded[1].timestamp)
  assert.equal(store.get('a'), 'new')
})

test('a rolled-back state that fails the schema is refused', async (t) => {
  const cwd = tempDir(t)
  const loose = new Store({ cwd })
  loose.set('n', 'text')
  const entry = await record(loose)
  loose.set('n', 1)
  await loose.close()
  const strict = closeLater(t, new Store({ cwd, schema: { n: { type: 'number' } } }))
  const error = await strict.rollbackToTimestamp(entry.timestamp).then(() => null, (e) => e)
  assert.equal(error?.code, 'SCHEMA_VIOLATION')
  assert.equal(strict.get('n'), 1)
})

test('history: false keeps no history; limits prune the oldest entries', async (t) => {
  const off = open(t, { history: false })
  off.set('a', 1)
  await off.close()
  assert.equal(fs.existsSync(path.join(path.dirname(off.path), 'storeHistory')), false)

  const store = open(t, { history: { maxEntries: 3 } })
  const entries = []
  for (let n = 0; n < 6; n++) {
    store.set('n', n)
    entries.push(await record(store))
  }
  assert.deepEqual(store.listHistory().map((e) => e.timestamp), entries.slice(3).reverse().map((e) => e.timestamp))
  assert.equal((await store.verifyHistory()).ok, true)
  await store.rollbackToTimestamp(entries[3].timestamp)
  assert.equal(store.get('n'), 3)
  assert.equal(codeOf(() => new Store({ cwd: tempDir(t), history: 'yes' })).code, 'INVALID_OPTION')
})

test('a one-value change to a 1 MiB store makes an entry under 1 KiB', async (t) => {
  const { settingsOfSize } = require('../benchmark/settings')
  const cwd = tempDir(t)
  fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify(settingsOfSize(1 << 20), undefined, '\t'))
  const store = closeLater(t, new Store({ cwd }))
  store.set('settings.editor.fontSize', 15)
  const entry = await record(store)
  assert.ok(entry.size < 1024, `${entry.size} bytes`)
})

test('migration backups are listed and can be rolled back to', async (t) => {
  const cwd = tempDir(t)
  const first = new Store({ cwd, projectVersion: '1.0.0', migrations: {} })
  first.set('theme', 'light')
  await first.close()
  const store = closeLater(t, new Store({ cwd, projectVersion: '2.0.0', migrations: { '2.0.0': (s) => s.set('theme', 'LIGHT') } }))
  const backup = store.listHistory().find((e) => e.kind === 'backup')
  assert.ok(backup, JSON.stringify(store.listHistory()))
  assert.equal(store.get('theme'), 'LIGHT')
  await store.rollbackToTimestamp(backup.timestamp)
  assert.equal(store.get('theme'), 'light')
  assert.equal(store.get('__internal__.migrations.version'), '1.0.0', 'the bookkeeping as it was')
})

test('StoreManager has the history methods; its rollback resolves once durable', async (t) => {
  const manager = closeLater(t, new StoreManager({ cwd: tempDir(t) }))
  await manager.initialize()
  await manager.set('v', 1)
  const { timestamp } = await record(manager)
  await manager.set('v', 2)
  await manager.rollbackToTimestamp(timestamp)
  assert.equal(manager.get('v'), 1)
  assert.equal((await manager.verifyHistory()).ok, true)
  assert.ok(manager.listHistory().length >= 2)
})
