'use strict'
// electron-store's API, behaviour by behaviour.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { tempDir, closeLater, dirContents, codeOf } = require('./helpers')

function open(t, options = {}) {
  return closeLater(t, new Store({ cwd: tempDir(t), ...options }))
}

test('.get() - returns the value, or the default when absent', (t) => {
  const store = open(t)
  assert.equal(store.get('foo'), undefined)
  assert.equal(store.get('foo', '🦄'), '🦄')
  store.set('foo', 'bar')
  assert.equal(store.get('foo'), 'bar')
  store.set('n', null)
  assert.equal(store.get('n', 'default'), null, 'null is a value, not absence')
})

test('.get() - every kind of value reads back as it was set, strings that look like JSON included', (t) => {
  const store = open(t)
  const values = {
    nul: null, t: true, f: false, zero: 0, neg: -0.5, big: 2 ** 53 + 2, tiny: 5e-324,
    empty: '', plain: 'dark', brace: '{"a":1}', bracket: '[1,2]', nul0: '\u0000x', only0: '\u0000',
    unicode: 'ünï 🦄', quote: '"q"', obj: { a: [1, { b: '{' }] }, arr: ['[', {}], emptyObj: {}, emptyArr: [],
  }
  for (const [key, value] of Object.entries(values)) store.set(key, value)
  for (const [key, value] of Object.entries(values)) assert.deepEqual(store.get(key), value, key)
  assert.deepEqual(store.get('obj.a[1]'), { b: '{' })
  assert.equal(store.get('arr[0]'), '[')
})

test('keys of every length reach the engine whole, multi-byte characters at the edge of its inline buffer included', (t) => {
  const store = open(t)
  const keys = []
  for (let n = 110; n <= 140; n++) {
    keys.push('k'.repeat(n), 'k'.repeat(n - 2) + '🦄', 'k'.repeat(n - 1) + 'é', 'é'.repeat(n >> 1) + '\ud800')
  }
  keys.push('x'.repeat(5000))
  keys.splice(0, keys.length, ...new Set(keys))
  for (const [i, key] of keys.entries()) store.set(key, i)
  for (const [i, key] of keys.entries()) {
    assert.equal(store.get(key), i, `length ${key.length}`)
    assert.ok(store.has(key))
  }
  // A lone surrogate has no UTF-8 form: it is read as U+FFFD, as everywhere in Node-API.
  assert.deepEqual(Object.keys(store.store).sort(), keys.map((k) => k.replace('\ud800', '\ufffd')).sort())
  for (const key of keys) store.delete(key)
  assert.equal(store.size, 0)
})

test('.set() - with dot notation, and with an object', (t) => {
  const store = open(t)
  store.set('settings.editor.fontSize', 14)
  assert.deepEqual(store.get('settings'), { editor: { fontSize: 14 } })
  store.set({ 'settings.theme': 'dark', top: [1, 2] })
  assert.equal(store.get('settings.theme'), 'dark')
  assert.equal(store.get('settings.editor.fontSize'), 14)
  assert.deepEqual(store.get('top'), [1, 2])
})

test('.set() - escaped dots and array indices', (t) => {
  const store = open(t)
  store.set('a\\.b', 1)
  assert.deepEqual({ ...store.store }, { 'a.b': 1 })
  assert.equal(store.get('a\\.b'), 1)
  store.set('list', [{ name: 'x' }])
  store.set('list[0].name', 'y')
  store.set('list[1]', { name: 'z' })
  assert.deepEqual(store.get('list'), [{ name: 'y' }, { name: 'z' }])
  assert.equal(store.get('list[1].name'), 'z')
})

test('.set() - without dot notation keys are literal', (t) => {
  const store = open(t, { accessPropertiesByDotNotation: false })
  store.set('a.b', 1)
  assert.deepEqual({ ...store.store }, { 'a.b': 1 })
  assert.equal(store.get('a.b'), 1)
  assert.equal(store.has('a'), false)
})

test('.set() - a Date is stored as its ISO string', (t) => {
  const store = open(t)
  store.set('when', new Date(Date.UTC(2026, 8, 1, 18, 56, 56, 765)))
  assert.equal(store.get('when'), '2026-09-01T18:56:56.765Z')
  store.set('nested', { at: new Date(0) })
  assert.deepEqual(store.get('nested'), { at: '1970-01-01T00:00:00.000Z' })
})

test('.set() - undefined throws "Use `delete()` to clear values"', (t) => {
  const store = open(t)
  const error = codeOf(() => store.set('foo', undefined))
  assert.ok(error instanceof TypeError)
  assert.equal(error.message, 'Use `delete()` to clear values')
  assert.equal(error.code, 'INVALID_VALUE')
})

test('.set() - refuses keys that reach a prototype, and changes nothing', async (t) => {
  const store = open(t)
  store.set('keep', 1)
  await store.flush()
  const before = store.store
  for (const key of ['__proto__', 'a.__proto__', 'constructor', 'a.constructor.b', 'prototype', 'x[0].prototype', '__proto__.polluted']) {
    const error = codeOf(() => store.set(key, { polluted: true }))
    assert.equal(error.code, 'INVALID_KEY', key)
    assert.equal(error.kind, 'persistent')
    assert.equal(error.key, key)
    assert.equal(codeOf(() => store.get(key)).code, 'INVALID_KEY')
    assert.equal(codeOf(() => store.delete(key)).code, 'INVALID_KEY')
  }
  assert.equal(codeOf(() => store.set({ __proto__: null, ['__proto__']: 1 })).code, 'INVALID_KEY')
  assert.equal({}.polluted, undefined)
  assert.deepEqual(store.store, before)
})

test('.set() - a __proto__ key inside a value is refused', (t) => {
  const store = open(t)
  const value = JSON.parse('{"ok": 1, "inner": {"__proto__": {"polluted": true}}}')
  const error = codeOf(() => store.set('x', value))
  assert.equal(error.code, 'INVALID_KEY')
  assert.equal(error.key, 'x.inner.__proto__')
  assert.equal(store.has('x'), false)
  assert.equal(codeOf(() => store.set('y', JSON.parse('[{"constructor": 1}]'))).code, 'INVALID_KEY')
})

test('.set() - refuses values JSON would silently change, and changes nothing', async (t) => {
  const store = open(t)
  store.set('x', 'original')
  await store.flush()
  const filesBefore = dirContents(path.dirname(store.path))
  const cyclic = { a: 1 }
  cyclic.self = cyclic
  let deep = 1
  for (let i = 0; i < 150; i++) deep = [deep]
  let absurd = 1
  for (let i = 0; i < 100_000; i++) absurd = { a: absurd }
  const cases = {
    function: () => 1,
    symbol: Symbol('s'),
    bigint: 10n,
    NaN: NaN,
    Infinity: Infinity,
    '-Infinity': -Infinity,
    cyclic,
    Map: new Map([[1, 2]]),
    Set: new Set([1]),
    RegExp: /x/,
    'invalid Date': new Date('nope'),
    'nested function': { a: { b: () => 1 } },
    'nested BigInt': [1, 2n],
    'undefined in an array': [1, undefined],
    'too deep to reload': deep,
    'absurdly deep': absurd,
    'lone surrogate': '\ud800',
  }
  for (const [name, value] of Object.entries(cases)) {
    const error = codeOf(() => store.set('x', value))
    assert.equal(error.code, 'INVALID_VALUE', name)
    assert.ok(error instanceof Error)
    assert.ok(error.key?.startsWith('x'), `${name}: key ${error.key}`)
    assert.equal(store.get('x'), 'original', name)
  }
  assert.equal(codeOf(() => store.set('x', { a: { b: () => 1 } })).message, "Setting a value of type `function` for key `x` at `a.b` is not allowed as it's not supported by JSON")
  await store.flush()
  assert.deepEqual(dirContents(path.dirname(store.path)), filesBefore)
})

test('.set() - an undefined property inside a value is left out; a key set to undefined is refused, as conf does', (t) => {
  const store = open(t)
  store.set('o', { a: 1, b: undefined })
  assert.deepEqual(store.get('o'), { a: 1 })
  const error = codeOf(() => store.set({ a: 1, b: undefined }))
  assert.equal(error.code, 'INVALID_VALUE')
  assert.equal(error.message, "Setting a value of type `undefined` for key `b` is not allowed as it's not supported by JSON")
  assert.equal(store.has('a'), false, 'nothing of the call was written')
})

test('values read back are plain objects with Object.prototype; .store has a null-prototype top level, as conf', (t) => {
  const store = open(t)
  store.set('o', { a: { b: [{ c: 1 }] } })
  const o = store.get('o')
  assert.equal(Object.getPrototypeOf(o), Object.prototype)
  assert.equal(Object.getPrototypeOf(o.a), Object.prototype)
  assert.equal(Object.getPrototypeOf(o.a.b[0]), Object.prototype)
  assert.equal(Object.getPrototypeOf(store.store), null)
  assert.equal(Object.getPrototypeOf(store.store.o), Object.prototype)
  o.a.b = 'mutated'
  assert.deepEqual(store.get('o'), { a: { b: [{ c: 1 }] } }, 'a read returns a copy')
})

test('.has() and .delete()', (t) => {
  const store = open(t)
  store.set('a.b', 1)
  store.set('a.c', 2)
  assert.equal(store.has('a.b'), true)
  store.delete('a.b')
  assert.equal(store.has('a.b'), false)
  assert.deepEqual(store.get('a'), { c: 2 })
  store.delete('missing.key')
  store.set('list', [1, 2, 3])
  store.delete('list[1]')
  assert.deepEqual(store.get('list'), [1, 3])
})

test('.appendToArray()', (t) => {
  const store = open(t)
  store.appendToArray('items', 'a')
  store.appendToArray('items', { b: 1 })
  assert.deepEqual(store.get('items'), ['a', { b: 1 }])
  store.set('str', 'x')
  const error = codeOf(() => store.appendToArray('str', 1))
  assert.equal(error.code, 'TYPE_CONFLICT')
  assert.equal(error.key, 'str')
})

test('defaults, .reset() and .clear()', (t) => {
  const store = open(t, { defaults: { theme: 'light', editor: { fontSize: 14 } } })
  assert.deepEqual({ ...store.store }, { theme: 'light', editor: { fontSize: 14 } })
  store.set('theme', 'dark')
  store.set('editor.fontSize', 20)
  store.set('extra', true)
  store.reset('theme', 'extra')
  assert.equal(store.get('theme'), 'light')
  assert.equal(store.get('extra'), true, 'a key without a default is left alone')
  store.clear()
  assert.deepEqual({ ...store.store }, { theme: 'light', editor: { fontSize: 14 } })
})

test('defaults do not override what the file holds', async (t) => {
  const cwd = tempDir(t)
  fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify({ theme: 'dark' }, undefined, '\t'))
  const store = closeLater(t, new Store({ cwd, defaults: { theme: 'light', lang: 'en' } }))
  assert.equal(store.get('theme'), 'dark')
  assert.equal(store.get('lang'), 'en')
})

test('.store, .size, .path and iteration', (t) => {
  const cwd = tempDir(t)
  const store = closeLater(t, new Store({ cwd, name: 'settings', fileExtension: 'cfg' }))
  assert.equal(store.path, path.join(cwd, 'settings.cfg'))
  store.store = { a: 1, b: { c: 2 } }
  assert.equal(store.size, 2)
  assert.deepEqual([...store], [['a', 1], ['b', { c: 2 }]])
  assert.equal(codeOf(() => (store.store = [1])).code, 'INVALID_VALUE')
})

test('a name that leaves cwd is refused', (t) => {
  const cwd = tempDir(t)
  assert.equal(codeOf(() => new Store({ cwd, name: '../escape' })).code, 'INVALID_OPTION')
  assert.equal(codeOf(() => new Store({ cwd, name: 'a\0b' })).code, 'INVALID_OPTION')
})

test('the __internal__ key is reserved', (t) => {
  const store = open(t)
  assert.equal(codeOf(() => store.set('__internal__.x', 1)).code, 'INVALID_KEY')
  assert.equal(codeOf(() => store.delete('__internal__')).code, 'INVALID_KEY')
})

test('bad arguments get typed errors', (t) => {
  const store = open(t)
  assert.equal(codeOf(() => store.get(1)).code, 'INVALID_KEY')
  assert.equal(codeOf(() => store.set(1, 1)).code, 'INVALID_KEY')
  assert.equal(codeOf(() => store.onDidChange('a', 'nope')).code, 'INVALID_ARGUMENT')
  assert.equal(codeOf(() => store.get('a[x]')).code, 'INVALID_KEY')
})

test('the native entry points for less frequent calls refuse what the core does not know, with a typed error, changing nothing', async (t) => {
  const native = require('../js/native')
  const dir = tempDir(t)
  const engine = new native.NativeStore(JSON.stringify({ path: path.join(dir, 'config.json') }), {}, () => {}, () => {})
  engine.set('a', '1')
  for (const command of [{ op: 'dropEverything' }, { op: 'clear', keys: ['a'] }, { op: 'reset' }, { op: 'replace' }]) {
    const error = codeOf(() => native.run(engine, command))
    assert.equal(error.code, 'INVALID_OPTION', JSON.stringify(command))
    assert.match(error.message, /op/)
  }
  assert.equal(codeOf(() => engine.run('{not json')).code, 'INVALID_OPTION')
  await assert.rejects(async () => native.runTask(engine, { op: 'flush', now: true }), { code: 'INVALID_OPTION' })
  await assert.rejects(native.runTask(engine, { op: 'stateAt', timestamp: 'never' }), { code: 'HISTORY_NOT_FOUND' })
  assert.deepEqual(native.run(engine, { op: 'storeJson' }), { a: 1 })
  assert.equal(native.run(engine, { op: 'size' }), 1)
  assert.equal(await native.runTask(engine, { op: 'flush' }), null)
  assert.equal(await native.runTask(engine, { op: 'close' }), null)
  assert.equal(codeOf(() => native.run(engine, { op: 'size' })).code, 'CLOSED')
})

test('configFileMode sets the file permissions', { skip: process.platform === 'win32' }, async (t) => {
  const store = open(t, { configFileMode: 0o600 })
  store.set('a', 1)
  await store.close()
  assert.equal(fs.statSync(store.path).mode & 0o777, 0o600)
})

test('the default directory is the OS config dir for projectName (and conf\'s projectSuffix)', async (t) => {
  const { runNode } = require('./helpers')
  const home = tempDir(t)
  const env = { HOME: home, XDG_CONFIG_HOME: '' }
  const result = await runNode("const S = require('.'); for (const o of [{}, { projectName: 'Other App' }, { projectName: 'app', projectSuffix: 'nodejs' }]) console.log(new S(o).path)", { env })
  assert.equal(result.code, 0, result.stderr)
  assert.deepEqual(result.stdout.trim().split('\n'), [
    path.join(home, '.config', 'tad-electron', 'config.json'),
    path.join(home, '.config', 'Other App', 'config.json'),
    path.join(home, '.config', 'app-nodejs', 'config.json'),
  ])
})

test("inside Electron (process.versions.electron) the default is require('electron').app's userData", async (t) => {
  const userData = tempDir(t)
  const { runNode } = require('./helpers')
  // Stand in for Electron's main process: its version marker and its module.
  const code = `
    Object.defineProperty(process.versions, 'electron', { value: '30.0.0' })
    const Module = require('module')
    const load = Module._load
    Module._load = function (request, ...rest) {
      if (request === 'electron') return { app: { getPath: (n) => n === 'userData' ? ${JSON.stringify(userData)} : null } }
      return load.call(this, request, ...rest)
    }
    const Store = require('.')
    console.log(new Store().path)
  `
  const result = await runNode(code)
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.stdout.trim(), path.join(userData, 'config.json'))
})

test("an injected Electron module's userData is the default directory", (t) => {
  const userData = tempDir(t)
  const electron = { app: { getPath: (name) => (name === 'userData' ? userData : assert.fail(name)) } }
  const store = closeLater(t, new Store({ electron }))
  assert.equal(store.path, path.join(userData, 'config.json'))
  const relative = closeLater(t, new Store({ electron, cwd: 'sub', name: 'x' }))
  assert.equal(relative.path, path.join(userData, 'sub', 'x.json'))
})

test('.close() - resolves once durable; then reads and writes throw CLOSED', async (t) => {
  const cwd = tempDir(t)
  const store = new Store({ cwd })
  store.set('a', 1)
  await store.close()
  assert.deepEqual(JSON.parse(fs.readFileSync(store.path, 'utf8')), { a: 1 })
  for (const call of [() => store.get('a'), () => store.set('a', 2), () => store.store, () => store.size]) {
    const error = codeOf(call)
    assert.equal(error.code, 'CLOSED')
    assert.equal(error.file, store.path)
  }
  await store.close()
})

test('serialize and deserialize: a custom file format', async (t) => {
  const cwd = tempDir(t)
  const serialize = (value) => Object.entries(value).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n')
  const deserialize = (text) => Object.fromEntries(text.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), JSON.parse(line.slice(line.indexOf('=') + 1))]))
  const store = new Store({ cwd, fileExtension: 'ini', serialize, deserialize })
  store.set('theme', 'dark')
  store.set('size', { w: 1 })
  await store.close()
  assert.equal(fs.readFileSync(store.path, 'utf8'), 'theme="dark"\nsize={"w":1}')
  const again = closeLater(t, new Store({ cwd, fileExtension: 'ini', serialize, deserialize }))
  assert.deepEqual({ ...again.store }, { theme: 'dark', size: { w: 1 } })
})

test('serialize that throws: a SERIALIZE_FAILED error, and the file is kept', async (t) => {
  const cwd = tempDir(t)
  fs.writeFileSync(path.join(cwd, 'config.json'), '{"a":1}')
  const store = new Store({ cwd, serialize: () => { throw new Error('nope') } })
  const errors = []
  store.onError((e) => errors.push(e.code))
  store.set('a', 2)
  await store.flush() // the journal holds it: durable without a snapshot
  const closed = await store.close().then(() => null, (e) => e)
  assert.equal(closed?.code, 'SERIALIZE_FAILED')
  assert.ok(closed.message.includes('nope'))
  assert.ok(errors.includes('SERIALIZE_FAILED'))
  assert.equal(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8'), '{"a":1}')
  // Nothing acknowledged is lost: the journal still holds the write.
  const reopened = closeLater(t, new Store({ cwd }))
  assert.equal(reopened.get('a'), 2)
})

test('deserialize that throws: CORRUPT_FILE, or moved aside with clearInvalidConfig', (t) => {
  const cwd = tempDir(t)
  fs.writeFileSync(path.join(cwd, 'config.json'), 'whatever')
  const deserialize = () => {
    throw new SyntaxError('bad format')
  }
  const error = codeOf(() => new Store({ cwd, deserialize }))
  assert.equal(error.code, 'CORRUPT_FILE')
  assert.match(error.message, /bad format/)
  const store = closeLater(t, new Store({ cwd, deserialize, clearInvalidConfig: true }))
  assert.equal(store.size, 0)
  assert.ok(store.openReport.quarantined)
})

test('.delete() of a key with a default puts the default back, as electron-store does', (t) => {
  const store = open(t, { defaults: { theme: 'light', 'editor.fontSize': 14 } })
  store.set('theme', 'dark')
  store.delete('theme')
  assert.equal(store.get('theme'), 'light')
  store.delete('editor')
  assert.deepEqual(store.get('editor'), { fontSize: 14 })
})
