'use strict'
// Change events, as electron-store delivers them: inside the call that made the change,
// once per call, never for a change that ends where it started; never lost before
// close(), never keeping the process alive.
const test = require('node:test')
const assert = require('node:assert/strict')
const Store = require('..')
const { tempDir, closeLater, runNode } = require('./helpers')

function open(t, options = {}) {
  return closeLater(t, new Store({ cwd: tempDir(t), ...options }))
}

test('.onDidChange() - reports (newValue, oldValue) inside set(), until unsubscribed', async (t) => {
  const store = open(t)
  const seen = []
  const off = store.onDidChange('theme', (...args) => seen.push(args))
  store.set('theme', 'dark')
  assert.deepEqual(seen, [['dark', undefined]], 'delivered inside set(), as electron-store does')
  store.set('unrelated', 1)
  store.set('theme', 'dark')
  store.set('theme', 'light')
  assert.deepEqual(seen, [['dark', undefined], ['light', 'dark']], 'unrelated keys and unchanged values are not reported')
  off()
  store.set('theme', 'dark')
  assert.equal(seen.length, 2, 'unsubscribed')
})

test('.onDidChange() - every write form calls back inside the call, once', async (t) => {
  const store = open(t, { defaults: { list: [], k: 0 } })
  const seen = []
  store.onDidChange('k', (v, old) => seen.push(['k', v, old]))
  store.onDidChange('list', (v) => seen.push(['list', v]))
  const after = (what) => {
    const n = seen.length
    what()
    return seen.slice(n)
  }
  assert.deepEqual(after(() => store.set('k', 1)), [['k', 1, 0]])
  assert.deepEqual(after(() => store.set({ k: 2, list: [1] })), [['k', 2, 1], ['list', [1]]])
  assert.deepEqual(after(() => store.appendToArray('list', 2)), [['list', [1, 2]]])
  assert.deepEqual(after(() => store.delete('k')), [['k', 0, 2]], 'a deleted key gets its default back')
  assert.deepEqual(after(() => store.set('k', 5)), [['k', 5, 0]])
  assert.deepEqual(after(() => store.reset('k')), [['k', 0, 5]])
  assert.deepEqual(after(() => (store.store = { k: 9 })), [['k', 9, 0], ['list', []]])
  assert.deepEqual(after(() => store.clear()), [['k', 0, 9]])
  assert.deepEqual(after(() => store.set('k', 0)), [], 'no change, no call')
})

test('.onDidChange() - a value set back to what it was is no change', async (t) => {
  const store = open(t)
  store.set('k', 1)
  const seen = []
  store.onDidChange('k', (v) => seen.push(v))
  store.set('k', 1)
  store.set('k', 3)
  assert.deepEqual(seen, [3])
})

test('.events - an EventTarget dispatching change after every write, as conf does', async (t) => {
  const store = open(t)
  let changes = 0
  const listener = () => changes++
  store.events.addEventListener('change', listener)
  store.set('a', 1)
  store.set('a', 1)
  store.delete('a')
  assert.equal(changes, 3, 'once per write, inside the call')
  store.events.removeEventListener('change', listener)
  store.set('a', 2)
  assert.equal(changes, 3)
  assert.ok(store.events instanceof EventTarget)
})

test('.onDidChange() - a change above or below the key is a change to it', async (t) => {
  const store = open(t)
  store.set('a.b.c', 1)
  const seen = []
  store.onDidChange('a.b', (v, old) => seen.push([v, old]))
  store.set('a.b.c', 2)
  store.set('a', { b: 'replaced' })
  store.delete('a')
  assert.deepEqual(seen, [
    [{ c: 2 }, { c: 1 }],
    ['replaced', { c: 2 }],
    [undefined, 'replaced'],
  ])
})

test('.onDidAnyChange() - reports the whole store', async (t) => {
  const store = open(t, { defaults: { x: 1 } })
  const seen = []
  const off = store.onDidAnyChange((v, old) => {
    // The whole store as `.store` gives it: a top level without a prototype, as conf's.
    assert.equal(Object.getPrototypeOf(v), null)
    seen.push([{ ...v }, { ...old }])
  })
  store.set('y', 2)
  assert.deepEqual(seen, [[{ x: 1, y: 2 }, { x: 1 }]])
  store.clear()
  assert.deepEqual(seen[1], [{ x: 1 }, { x: 1, y: 2 }])
  off()
})

test('a listener that writes sees its own write reported after it returns, once', async (t) => {
  const store = open(t)
  const seen = []
  store.onDidChange('n', (v) => {
    seen.push(v)
    if (v < 3) store.set('n', v + 1)
  })
  store.set('n', 1)
  assert.deepEqual(seen, [1, 2, 3])
})

test('no event is lost before close() resolves', async (t) => {
  const store = new Store({ cwd: tempDir(t) })
  const seen = []
  store.onDidChange('k', (v) => seen.push(v))
  store.set('k', 'last words')
  await store.close()
  assert.deepEqual(seen, ['last words'])
})

test('a throwing listener does not starve the others; its error still surfaces', async () => {
  const code = `
    const Store = require('.')
    const os = require('os'), fs = require('fs'), path = require('path')
    const store = new Store({ cwd: fs.mkdtempSync(path.join(os.tmpdir(), 'tad-throw-')) })
    process.on('uncaughtException', (e) => console.log('uncaught:', e.message))
    store.onDidChange('k', () => { throw new Error('listener bug') })
    store.onDidChange('k', (v) => console.log('second listener got', v))
    store.set('k', 1)
  `
  const result = await runNode(code, { timeout: 20_000 })
  assert.equal(result.code, 0, result.stderr)
  assert.deepEqual(result.stdout.trim().split('\n'), ['second listener got 1', 'uncaught: listener bug'])
})

test('a process with listeners still registered exits by itself, after delivering', async () => {
  const code = `
    const Store = require('.')
    const os = require('os'), fs = require('fs'), path = require('path')
    const store = new Store({ cwd: fs.mkdtempSync(path.join(os.tmpdir(), 'tad-exit-')) })
    store.onDidChange('a', (v) => console.log('changed to', v))
    store.onDidAnyChange(() => {})
    store.set('a', 1)
  `
  const result = await runNode(code, { timeout: 20_000 })
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.stdout.trim(), 'changed to 1')
})

test('a million sets with listeners do not take gigabytes', async () => {
  const code = `
    const Store = require('.')
    const os = require('os'), fs = require('fs'), path = require('path')
    const store = new Store({ cwd: fs.mkdtempSync(path.join(os.tmpdir(), 'tad-million-')) })
    let calls = 0
    store.onDidChange('n', () => calls++)
    store.onDidAnyChange(() => calls++)
    const before = process.memoryUsage().rss
    for (let n = 0; n < 1_000_000; n++) store.set('n', n)
    const grown = process.memoryUsage().rss - before
    setImmediate(async () => {
      const n = store.get('n')
      await store.close()
      console.log(JSON.stringify({ grown, calls, n }))
    })
  `
  const result = await runNode(code, { timeout: 120_000 })
  assert.equal(result.code, 0, result.stderr)
  const { grown, calls, n } = JSON.parse(result.stdout)
  assert.equal(n, 999_999)
  assert.equal(calls, 2_000_000, 'one call per set for each listener')
  assert.ok(grown < 256 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(0)} MiB`)
})
