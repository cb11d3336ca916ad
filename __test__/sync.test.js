'use strict'
// Sync across devices through a shared folder: stores in one process, each its own
// device (the three-process run with a hostile sync service is sync-devices.test.js).
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const Store = require('..')
const { tempDir, closeLater, ROOT } = require('./helpers')

const KEY = Buffer.alloc(32, 7)

function device(t, root, name, extra = {}) {
  const store = new Store({
    cwd: path.join(root, name),
    sensitiveKeys: ['ai.request.apiKey'],
    secretKey: KEY,
    sync: { folder: path.join(root, 'cloud'), keys: ['settings', 'ai.request', 'workspaces'], device: name, scanIntervalMs: 50 },
    ...extra,
  })
  closeLater(t, store)
  return store
}

/** Waits for `done()`, asking every store to look at the folder meanwhile. */
async function until(stores, what, done) {
  const deadline = Date.now() + 20_000
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(stores.map((s) => [s.store, s.syncStatus()]))}`)
    for (const s of stores) {
      await s.flush()
      s.syncNow()
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Every file below `dir`, read. */
function filesBelow(dir) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(fs.readFileSync(path.join(entry.parentPath ?? entry.path, entry.name)))
  }
  return out
}

test('two devices converge on the synced keys, with change events, and keep the rest to themselves', async (t) => {
  const root = tempDir(t)
  fs.mkdirSync(path.join(root, 'cloud'))
  const laptop = device(t, root, 'laptop')
  const desktop = device(t, root, 'desktop')
  const seen = []
  desktop.onDidChange('settings.theme', (value, old) => seen.push([value, old]))
  laptop.set('settings.theme', 'dark')
  laptop.set('ai.request', { model: 'gpt-5', apiKey: 'sk-CANARY-1' })
  laptop.set('window', { x: 10 })
  desktop.set('settings.fontSize', 14)
  desktop.set('window', { x: 99 })
  // From here only the laptop's changes reach the desktop. The key feed `events` uses is
  // the one the renderer bridge follows.
  let fed = 0
  let any = 0
  desktop.events.addEventListener('change', () => fed++)
  desktop.onDidAnyChange(() => any++)
  await until([laptop, desktop], 'convergence', () =>
    [laptop, desktop].every((s) => s.get('settings.theme') === 'dark' && s.get('settings.fontSize') === 14 && s.get('ai.request.model') === 'gpt-5'),
  )
  assert.deepEqual(seen, [['dark', undefined]], 'a remote change is a change event')
  assert.ok(fed > 0 && any > 0, 'for the key feed (renderers) and onDidAnyChange too')
  assert.equal(laptop.get('window.x'), 10, 'unsynced keys stay as written')
  assert.equal(desktop.get('window.x'), 99)
  assert.equal(desktop.get('ai.request.apiKey'), undefined, 'a secret never travels')
  assert.equal(laptop.get('ai.request.apiKey'), 'sk-CANARY-1')
  for (const bytes of filesBelow(path.join(root, 'cloud'))) {
    assert.ok(!bytes.includes('CANARY'), 'no folder file holds the secret')
    assert.ok(!bytes.includes('"x"') && !bytes.includes('window'), 'nor an unsynced key')
  }
  const status = laptop.syncStatus()
  assert.equal(status.device, 'laptop')
  assert.equal(status.reachable, true)
  assert.deepEqual(status.devices.map((d) => [d.device, d.thisDevice]).sort(), [['desktop', false], ['laptop', true]])
  assert.ok(status.devices.find((d) => d.device === 'desktop').lastChange, 'the other device was seen with a time')
  assert.equal(status.pendingOut, 0)
  assert.deepEqual(status.conflicts, [])
})

test('a merge past the schema is held back as SYNC_CONFLICT until a later change makes it valid', async (t) => {
  const root = tempDir(t)
  fs.mkdirSync(path.join(root, 'cloud'))
  const schema = { workspaces: { type: 'array', maxItems: 2 } }
  const a = device(t, root, 'a', { schema })
  const b = device(t, root, 'b', { schema })
  const errors = []
  a.onError((e) => errors.push(e))
  a.set('workspaces', ['w1'])
  await until([a, b], 'the list on b', () => b.get('workspaces')?.length === 1)
  a.set('workspaces', [...a.get('workspaces'), 'a'])
  b.set('workspaces', [...b.get('workspaces'), 'b'])
  // Both hold the conflict (so each merged the other's item) before b resolves it: a
  // write made before b saw a's item would leave that item standing, by Automerge's rule.
  await until([a, b], 'the conflict', () => a.syncStatus()?.conflicts.length > 0 && b.syncStatus()?.conflicts.length > 0)
  assert.deepEqual(a.get('workspaces'), ['w1', 'a'], 'a keeps its last valid state')
  const conflict = errors.find((e) => e.code === 'SYNC_CONFLICT')
  assert.ok(conflict, 'onError hears of it')
  assert.deepEqual(conflict.keys, ['workspaces'])
  assert.equal(a.syncStatus().conflicts[0].key, 'workspaces')
  b.set('workspaces', ['only'])
  await until([a, b], 'the resolution', () => a.get('workspaces')?.[0] === 'only' && a.syncStatus().conflicts.length === 0)
  assert.deepEqual(b.get('workspaces'), ['only'])
})

test('the sync option is checked, and a store without it behaves as before', (t) => {
  const root = tempDir(t)
  const open = (sync, extra = {}) => () => new Store({ cwd: root, sync, ...extra })
  const code = (fn) => {
    try {
      fn().close()
    } catch (error) {
      return error.code
    }
    return 'opened'
  }
  assert.equal(code(open({ folder: 'relative/dir', keys: ['a'] })), 'INVALID_OPTION')
  assert.equal(code(open({ folder: root, keys: 'a' })), 'INVALID_OPTION')
  assert.equal(code(open({ folder: root, keys: [] })), 'INVALID_OPTION')
  assert.equal(code(open({ folder: root, keys: ['a..b'] })), 'INVALID_OPTION')
  assert.equal(code(open({ folder: root, keys: ['a'], colour: 1 })), 'INVALID_OPTION')
  assert.equal(code(open({ folder: root, keys: ['a'] }, { readOnly: true })), 'INVALID_OPTION')
  assert.equal(code(open({ folder: root, keys: ['a'] }, { encryptionKey: 'k' })), 'INVALID_OPTION')
  const plain = new Store({ cwd: root })
  closeLater(t, plain)
  assert.equal(plain.syncStatus(), null)
  assert.ok(!fs.existsSync(`${plain.path}.sync`), 'nothing of sync without the option')
})

test('tad-store sync status reads the status while the app holds the store', async (t) => {
  const root = tempDir(t)
  fs.mkdirSync(path.join(root, 'cloud'))
  const a = device(t, root, 'studio')
  a.set('settings.theme', 'dark')
  await until([a], 'a status', () => a.syncStatus()?.devices.length === 1)
  await a.close()
  const run = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tad-store.js'), 'sync', 'status', '--file', a.path, ...args], { encoding: 'utf8' })
  const json = run('--json')
  assert.equal(json.status, 0, json.stderr)
  const status = JSON.parse(json.stdout)
  assert.equal(status.device, 'studio')
  assert.equal(status.devices[0].thisDevice, true)
  const text = run()
  assert.equal(text.status, 0, text.stderr)
  assert.match(text.stdout, /this device\s+studio/)
  const never = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tad-store.js'), 'sync', 'status', '--file', path.join(root, 'other.json')], { encoding: 'utf8' })
  assert.equal(never.status, 4, 'a store that never synced is not found')
})

test('a rollback on one device is an ordinary change that syncs', async (t) => {
  const root = tempDir(t)
  fs.mkdirSync(path.join(root, 'cloud'))
  const a = device(t, root, 'a', { checkpointIdleMs: 10 })
  const b = device(t, root, 'b')
  a.set('settings.theme', 'light')
  await until([a, b], 'light on b', () => b.get('settings.theme') === 'light')
  let entry
  await until([a], 'a history entry', () => (entry = a.listHistory()[0]))
  a.set('settings.theme', 'dark')
  a.set('settings.fontSize', 18)
  await until([a, b], 'dark on b', () => b.get('settings.theme') === 'dark' && b.get('settings.fontSize') === 18)
  await a.rollbackToTimestamp(entry.timestamp)
  assert.equal(a.get('settings.theme'), 'light')
  await until([a, b], 'the rollback on b', () => b.get('settings.theme') === 'light' && b.get('settings.fontSize') === undefined)
})
