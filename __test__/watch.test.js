'use strict'
// watch: true: edits other programs make to the file.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { tempDir, closeLater } = require('./helpers')

/** Writes `text` as another program would: a temporary file renamed over the store. */
function externalWrite(file, text) {
  const temp = `${file}.editor-tmp`
  fs.writeFileSync(temp, text)
  fs.renameSync(temp, file)
}

async function until(predicate, timeout = 2000) {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('watch - an edit by another program is picked up within a second, with events', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), watch: true, defaults: { theme: 'light' }, checkpointIdleMs: 5 }))
  await store.flush()
  await until(() => fs.existsSync(store.path))
  const seen = []
  store.onDidChange('theme', (value, previous) => seen.push([value, previous]))
  const started = Date.now()
  externalWrite(store.path, JSON.stringify({ theme: 'dark', added: 1 }, undefined, '\t'))
  await until(() => seen.length > 0, 1000)
  assert.ok(Date.now() - started < 1000)
  assert.deepEqual(seen, [['dark', 'light']])
  assert.deepEqual({ ...store.store }, { theme: 'dark', added: 1 })
})

test("watch - the store's own writes raise no event", async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), watch: true, checkpointIdleMs: 5 }))
  const seen = []
  store.onDidAnyChange((value) => seen.push(value))
  store.set('a', 1)
  await store.flush()
  await new Promise((resolve) => setTimeout(resolve, 400)) // checkpoints land and are seen
  assert.equal(seen.length, 1, 'only the set itself')
})

test('watch - a broken or invalid edit never replaces good state', async (t) => {
  const dir = tempDir(t)
  const store = closeLater(t, new Store({ cwd: dir, watch: true, schema: { n: { type: 'number' } }, checkpointIdleMs: 5 }))
  store.set('n', 1)
  await store.flush()
  await until(() => fs.existsSync(store.path))
  const errors = []
  store.onError((e) => errors.push(e.code))
  externalWrite(store.path, '{"n": 2, "half-writ')
  await until(() => errors.length >= 1)
  assert.equal(store.get('n'), 1)
  await until(() => fs.readdirSync(dir).some((n) => n.startsWith('config.json.corrupt-')))
  const fileHolds = (n) => {
    try {
      return JSON.parse(fs.readFileSync(store.path, 'utf8')).n === n
    } catch {
      return false // moved aside, and not yet written again
    }
  }
  await until(() => fileHolds(1), 2000)
  externalWrite(store.path, '{"n": "text"}')
  await until(() => errors.length >= 2)
  assert.deepEqual(errors, ['EXTERNAL_EDIT_REFUSED', 'EXTERNAL_EDIT_REFUSED'])
  assert.equal(store.get('n'), 1)
  await until(() => fs.readdirSync(dir).some((n) => n.startsWith('config.json.invalid-')))
})

test('watch - an edit written in place, in pieces, is applied whole, not refused halfway', async (t) => {
  const dir = tempDir(t)
  const store = closeLater(t, new Store({ cwd: dir, watch: true, defaults: { n: 0 }, checkpointIdleMs: 5 }))
  await store.flush()
  await until(() => fs.existsSync(store.path))
  const errors = []
  store.onError((e) => errors.push(e))
  // As an editor that truncates and writes a larger file in chunks, each chunk later
  // than the watch's debounce.
  const text = JSON.stringify({ n: 1, notes: 'x'.repeat(3000) }, undefined, '\t')
  const fd = fs.openSync(store.path, 'w')
  for (let at = 0; at < text.length; at += 1000) {
    fs.writeSync(fd, text.slice(at, at + 1000))
    await new Promise((resolve) => setTimeout(resolve, 60))
  }
  fs.closeSync(fd)
  await until(() => store.get('n') === 1, 3000)
  assert.deepEqual(errors, [])
  assert.equal(fs.readdirSync(dir).filter((n) => n.includes('.corrupt-')).length, 0, 'nothing moved aside')
})

test('watch - deleting the file does not reset the store', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), watch: true, checkpointIdleMs: 5 }))
  store.set('keep', 'me')
  await store.flush()
  await until(() => fs.existsSync(store.path))
  const errors = []
  store.onError((e) => errors.push(e.code))
  fs.rmSync(store.path)
  await until(() => errors.length > 0)
  assert.equal(store.get('keep'), 'me')
  await until(() => fs.existsSync(store.path))
  assert.equal(JSON.parse(fs.readFileSync(store.path, 'utf8')).keep, 'me')
})

test('watch - a reader follows what the writer commits', async (t) => {
  const dir = tempDir(t)
  const writer = closeLater(t, new Store({ cwd: dir, checkpointIdleMs: 5 }))
  writer.set('v', 1)
  await writer.flush()
  await until(() => fs.existsSync(writer.path))
  const reader = closeLater(t, new Store({ cwd: dir, readOnly: true, watch: true }))
  await until(() => reader.get('v') === 1)
  const seen = []
  reader.onDidChange('v', (v) => seen.push(v))
  writer.set('v', 2)
  await until(() => seen.includes(2), 2000)
  assert.equal(reader.get('v'), 2)
})

/** Every file `<name>.corrupt-*` / `.invalid-*` beside the store, with its text. */
function keptAside(store) {
  const dir = path.dirname(store.path)
  const base = path.basename(store.path)
  return fs.readdirSync(dir).filter((n) => n.startsWith(`${base}.corrupt-`) || n.startsWith(`${base}.invalid-`)).map((n) => fs.readFileSync(path.join(dir, n), 'utf8'))
}

for (const watch of [false, true]) {
  test(`external edits interleaved with writes and checkpoints: each applied, or kept aside and reported, none lost (watch: ${watch})`, async (t) => {
    const rounds = watch ? 200 : 1000
    const store = closeLater(t, new Store({ cwd: tempDir(t), watch, checkpointIdleMs: 1, history: false }))
    let refusals = 0
    store.onError((error) => {
      if (error.code === 'EXTERNAL_EDIT_REFUSED') refusals++
    })
    const applied = new Set()
    store.onDidChange('external', (value) => applied.add(value))
    store.set('own', -1)
    await until(() => fs.existsSync(store.path))
    let broken = 0
    for (let i = 0; i < rounds; i++) {
      const valid = i % 3 !== 0
      const text = valid ? JSON.stringify({ external: i }) : `{ broken ${i}`
      externalWrite(store.path, text)
      // The store writes right after, so its next checkpoint races the edit.
      store.set('own', i)
      if (!valid) broken++
      await until(() => (valid ? applied.has(i) : keptAside(store).includes(text)), 5000).catch(() => {
        throw new Error(`round ${i}: the ${valid ? 'valid' : 'broken'} edit was neither applied nor kept aside`)
      })
    }
    await until(() => refusals >= broken)
    assert.equal(keptAside(store).length, broken, 'each broken edit kept aside, once')
    assert.equal(applied.size, rounds - broken, 'each valid edit applied')
    // The store's own writes go on working, and reach the file.
    store.set('own', 'last')
    await store.flush()
    await until(() => JSON.parse(fs.readFileSync(store.path, 'utf8')).own === 'last')
  })
}
