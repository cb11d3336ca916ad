'use strict'
// One engine per file per process: every `new Store()` (and StoreManager) for the same
// file shares it, as electron-store lets an app open one file from several modules.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { StoreManager } = require('..')
const { tempDir, closeLater, codeOf, runNode } = require('./helpers')

test('a second new Store() on the same file shares the first one\'s engine: writes are seen at once, listeners hear every change', async (t) => {
  const cwd = tempDir(t)
  const main = closeLater(t, new Store({ cwd, defaults: { theme: 'light' } }))
  const menu = closeLater(t, new Store({ cwd, defaults: { theme: 'light' } }))
  const heard = []
  main.onDidChange('theme', (v, old) => heard.push(['main', v, old]))
  menu.onDidChange('theme', (v, old) => heard.push(['menu', v, old]))
  menu.set('theme', 'dark')
  assert.equal(main.get('theme'), 'dark', 'seen at once through the other instance')
  assert.deepEqual(heard, [['main', 'dark', 'light'], ['menu', 'dark', 'light']], 'both hear it, inside the call')
  main.delete('theme')
  assert.deepEqual(heard.slice(2), [['main', 'light', 'dark'], ['menu', 'light', 'dark']])
  let changes = 0
  main.events.addEventListener('change', () => changes++)
  menu.set('other', 1)
  assert.equal(changes, 1, "a write through one instance is a change event of the other")
})

test('close() of one instance leaves the others working; the last one closes the engine', async (t) => {
  const cwd = tempDir(t)
  const a = new Store({ cwd })
  const b = new Store({ cwd })
  a.set('k', 1)
  await a.close()
  assert.equal(codeOf(() => a.get('k')).code, 'CLOSED')
  assert.equal(codeOf(() => a.set('k', 2)).code, 'CLOSED')
  await a.close() // again: nothing to do
  b.set('k', 2)
  assert.equal(b.get('k'), 2)
  await b.close()
  // The engine is closed and its lock released: another process may write now.
  const other = await runNode(`const S = require('.'); const s = new S({ cwd: ${JSON.stringify(cwd)} }); s.set('k', 3); s.close().then(() => console.log(s.path))`)
  assert.equal(other.code, 0, other.stderr)
  assert.equal(JSON.parse(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8')).k, 3)
})

test('instances whose options cannot share an engine are refused, naming the option', async (t) => {
  const cwd = tempDir(t)
  const schema = { n: { type: 'number' } }
  closeLater(t, new Store({ cwd, schema, sensitiveKeys: ['secret'], secretKey: Buffer.alloc(32, 1) }))
  for (const [options, name] of [
    [{ schema: { n: { type: 'string' } }, sensitiveKeys: ['secret'] }, 'schema'],
    [{ schema, sensitiveKeys: ['other'] }, 'sensitiveKeys'],
    [{ schema, sensitiveKeys: ['secret'], serialize: (v) => JSON.stringify(v), deserialize: JSON.parse }, 'serialize'],
    [{ schema, sensitiveKeys: ['secret'], encryptionKey: 'k' }, 'encryptionKey'],
    [{ schema, sensitiveKeys: ['secret'], projectVersion: '1.0.0', migrations: { '1.0.0': () => {} } }, 'migrations'],
    [{ schema, sensitiveKeys: ['secret'], accessPropertiesByDotNotation: false }, 'accessPropertiesByDotNotation'],
  ]) {
    const error = codeOf(() => new Store({ cwd, secretKey: Buffer.alloc(32, 1), ...options }))
    assert.equal(error.code, 'INVALID_OPTION', name)
    assert.match(error.message, new RegExp(`\`${name}\``), error.message)
  }
  // The same options (a defaults difference aside) share it.
  closeLater(t, new Store({ cwd, schema, sensitiveKeys: ['secret'], secretKey: Buffer.alloc(32, 1), defaults: { n: 1 } }))
})

test('watch asked by one instance is served to all: the engine follows the file from then on', async (t) => {
  const cwd = tempDir(t)
  const quiet = closeLater(t, new Store({ cwd, checkpointIdleMs: 5 }))
  quiet.set('theme', 'light')
  const until = async (predicate) => {
    const deadline = Date.now() + 5000
    while (!predicate() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await until(() => fs.existsSync(quiet.path))
  const watching = closeLater(t, new Store({ cwd, watch: true, checkpointIdleMs: 5 }))
  const heard = []
  const refused = []
  quiet.onDidChange('theme', (value) => heard.push(value))
  quiet.onError((error) => refused.push(error))
  // As another program writes: a temporary file renamed over the store.
  fs.writeFileSync(`${quiet.path}.editor-tmp`, JSON.stringify({ theme: 'dark' }))
  fs.renameSync(`${quiet.path}.editor-tmp`, quiet.path)
  await until(() => quiet.get('theme') === 'dark')
  assert.deepEqual(refused, [])
  assert.equal(quiet.get('theme'), 'dark', 'the edit was applied')
  assert.equal(watching.get('theme'), 'dark')
  assert.deepEqual(heard, ['dark'], "the instance that did not ask hears it as conf's would")
})

test('differing defaults apply as electron-store applies them: missing keys are filled, reset and clear use each instance\'s own', async (t) => {
  const cwd = tempDir(t)
  const first = closeLater(t, new Store({ cwd, defaults: { a: 1 } }))
  first.set('shared', true)
  const second = closeLater(t, new Store({ cwd, defaults: { a: 2, b: 2 } }))
  assert.deepEqual({ ...first.store }, { a: 1, shared: true, b: 2 }, 'b filled in, a kept')
  second.set('a', 9)
  second.reset('a')
  assert.equal(first.get('a'), 2, "reset to the second instance's default")
  first.reset('a')
  assert.equal(second.get('a'), 1)
  second.clear()
  assert.equal(first.get('a'), 2)
  assert.equal(first.get('b'), 2)
  assert.equal(first.has('shared'), false)
})

test('a reader in the same process follows the writer at once and cannot write; one with other options gets its own', async (t) => {
  const cwd = tempDir(t)
  const writer = closeLater(t, new Store({ cwd }))
  const reader = closeLater(t, new Store({ cwd, readOnly: true }))
  writer.set('k', 1)
  assert.equal(reader.get('k'), 1, 'not yet on disk, already seen')
  assert.equal(codeOf(() => reader.set('k', 2)).code, 'READ_ONLY')
  assert.equal(codeOf(() => reader.clear()).code, 'READ_ONLY')
  assert.equal(writer.get('k'), 1)
  await writer.flush()
  const own = closeLater(t, new Store({ cwd, readOnly: true, sensitiveKeys: ['x'], secretKey: Buffer.alloc(32, 2) }))
  assert.equal(own.get('k'), 1, 'a reader of its own reads the file')
})

test('StoreManager and Store share the engine of one file', async (t) => {
  const cwd = tempDir(t)
  const store = closeLater(t, new Store({ cwd }))
  const manager = closeLater(t, new StoreManager({ cwd }))
  await manager.initialize()
  const heard = []
  store.onDidChange('k', (v) => heard.push(v))
  await manager.set('k', 'durable')
  assert.deepEqual(heard, ['durable'])
  assert.equal(store.get('k'), 'durable')
})

test('instances dropped without close() are collected; the last one takes the engine and its lock with it', async () => {
  const result = await runNode(`
    const Store = require('.')
    const os = require('os'), fs = require('fs'), path = require('path')
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-gc-'))
    ;(() => { const a = new Store({ cwd }); const b = new Store({ cwd }); a.set('k', 1); b.onDidChange('k', () => {}) })()
    setTimeout(async () => {
      for (let i = 0; i < 10; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)) }
      // A second process-level open would be LOCKED if the engine were still alive.
      const { spawnSync } = require('child_process')
      const other = spawnSync(process.execPath, ['-e', 'const S = require(".") ; const s = new S({ cwd: ' + JSON.stringify(cwd) + ' }); console.log(s.get("k")); s.close()'], { encoding: 'utf8', cwd: process.cwd() })
      console.log(other.stdout.trim() || other.stderr.trim())
    }, 50)
  `, { args: ['--expose-gc'] })
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.stdout.trim(), '1')
})
