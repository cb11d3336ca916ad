'use strict'
// Change events: delivered on the JS thread through a threadsafe function, coalesced,
// never lost before close(), never keeping the process alive.
const test = require('node:test')
const assert = require('node:assert/strict')
const Store = require('..')
const { tempDir, closeLater, runNode } = require('./helpers')

/** Waits (polling each turn of the event loop) until `seen` has `n` entries. */
async function until(seen, n, timeout = 5000) {
  const deadline = Date.now() + timeout
  while (seen.length < n) {
    if (Date.now() > deadline) throw new Error(`waited ${timeout} ms for ${n} events, got ${JSON.stringify(seen)}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

function open(t, options = {}) {
  return closeLater(t, new Store({ cwd: tempDir(t), ...options }))
}

test('.onDidChange() - reports (newValue, oldValue) after the change, until unsubscribed', async (t) => {
  const store = open(t)
  const seen = []
  const off = store.onDidChange('theme', (...args) => seen.push(args))
  store.set('theme', 'dark')
  assert.deepEqual(seen, [], 'delivered on a later turn of the event loop, not inside set()')
  await until(seen, 1)
  assert.deepEqual(seen, [['dark', undefined]])
  store.set('unrelated', 1)
  store.set('theme', 'dark')
  store.set('theme', 'light')
  await until(seen, 2)
  assert.deepEqual(seen, [['dark', undefined], ['light', 'dark']], 'unrelated keys are not reported')
  off()
  const after = []
  store.onDidChange('theme', (v) => after.push(v))
  store.set('theme', 'dark')
  await until(after, 1)
  assert.equal(seen.length, 2, 'unsubscribed')
})

test('.onDidChange() - a value set back to what it was is no change', async (t) => {
  const store = open(t)
  store.set('k', 1)
  const seen = []
  store.onDidChange('k', (v) => seen.push(v))
  store.set('k', 2)
  store.set('k', 1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  store.set('k', 3)
  await until(seen, 1)
  assert.deepEqual(seen, [3])
})

test('.onDidChange() - a change above or below the key is a change to it', async (t) => {
  const store = open(t)
  store.set('a.b.c', 1)
  const seen = []
  store.onDidChange('a.b', (v, old) => seen.push([v, old]))
  store.set('a.b.c', 2)
  await until(seen, 1)
  store.set('a', { b: 'replaced' })
  await until(seen, 2)
  store.delete('a')
  await until(seen, 3)
  assert.deepEqual(seen, [
    [{ c: 2 }, { c: 1 }],
    ['replaced', { c: 2 }],
    [undefined, 'replaced'],
  ])
})

test('.onDidAnyChange() - reports the whole store', async (t) => {
  const store = open(t, { defaults: { x: 1 } })
  const seen = []
  const off = store.onDidAnyChange((v, old) => seen.push([v, old]))
  store.set('y', 2)
  await until(seen, 1)
  assert.deepEqual(seen, [[{ x: 1, y: 2 }, { x: 1 }]])
  store.clear()
  await until(seen, 2)
  assert.deepEqual(seen[1], [{ x: 1 }, { x: 1, y: 2 }])
  off()
})

test('changes made in the same tick are folded into one call', async (t) => {
  const store = open(t)
  const seen = []
  store.onDidChange('n', (v, old) => seen.push([v, old]))
  for (let n = 1; n <= 1000; n++) store.set('n', n)
  await until(seen, 1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(seen, [[1000, undefined]])
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
  assert.equal(calls, 2, 'one coalesced call per listener')
  assert.ok(grown < 256 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(0)} MiB`)
})
