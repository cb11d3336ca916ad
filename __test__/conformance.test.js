'use strict'
// Conformance with conf, electron-store's engine: each test runs the same code against
// the real `conf` (a devDependency) and against tad-store, and asserts what conf
// documents, so an app that switches by changing one require keeps its behaviour.
// tad-store adds its stable `code` to every error; conf's messages are kept word for word.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { createElectron } = require('../examples/electron-standin/main')
const { tempDir, closeLater } = require('./helpers')

let Conf
const IMPLS = ['conf', 'tad-store']

/** A store of `impl` in `cwd`, with conf's options (`name` is conf's `configName`). */
async function make(t, impl, cwd, { name, ...options } = {}) {
  if (impl === 'conf') {
    Conf ??= (await import('conf')).default
    const conf = new Conf({ cwd, ...(name && { configName: name }), ...options })
    t.after(() => conf._closeWatcher?.())
    return conf
  }
  return closeLater(t, new Store({ cwd, ...(name && { name }), ...options }))
}

function thrown(fn) {
  try {
    fn()
  } catch (error) {
    return error
  }
  assert.fail('expected a throw')
}

for (const impl of IMPLS) {
  test(`[${impl}] a second instance of the same file sees what the first wrote`, async (t) => {
    const cwd = tempDir(t)
    const first = await make(t, impl, cwd)
    const second = await make(t, impl, cwd)
    first.set('theme', 'dark')
    assert.equal(second.get('theme'), 'dark')
    second.set('theme', 'light')
    assert.equal(first.get('theme'), 'light')
  })

  test(`[${impl}] onDidChange runs inside every write form, once per call, never for no change`, async (t) => {
    const store = await make(t, impl, tempDir(t), { defaults: { k: 0, list: [] } })
    const seen = []
    store.onDidChange('k', (value, old) => seen.push([value, old]))
    const during = (write) => {
      const n = seen.length
      write()
      return seen.slice(n)
    }
    assert.deepEqual(during(() => store.set('k', 1)), [[1, 0]])
    assert.deepEqual(during(() => store.set('k', 1)), [])
    assert.deepEqual(during(() => store.set({ k: 2, other: true })), [[2, 1]])
    assert.deepEqual(during(() => store.reset('k')), [[0, 2]])
    assert.deepEqual(during(() => store.set('k', 3)), [[3, 0]])
    assert.deepEqual(during(() => (store.store = { k: 4 })), [[4, 3]])
    assert.deepEqual(during(() => store.clear()), [[0, 4]])
    const lists = []
    store.onDidChange('list', (value) => lists.push(value))
    store.appendToArray('list', 'a')
    assert.deepEqual(lists, [['a']])
  })

  test(`[${impl}] onDidAnyChange gives the whole store, inside the call; events dispatches change`, async (t) => {
    const store = await make(t, impl, tempDir(t))
    const seen = []
    store.onDidAnyChange((value, old) => seen.push([Object.getPrototypeOf(value), { ...value }, { ...old }]))
    store.set('a', 1)
    assert.deepEqual(seen, [[null, { a: 1 }, {}]])
    assert.ok(store.events instanceof EventTarget)
    let changes = 0
    store.events.addEventListener('change', () => changes++)
    store.set('b', 2)
    store.delete('b')
    assert.equal(changes, 2)
  })

  test(`[${impl}] values JSON does not support are refused with conf's words`, async (t) => {
    const store = await make(t, impl, tempDir(t))
    const cyclic = { a: 1 }
    cyclic.self = cyclic
    for (const [write, message] of [
      [() => store.set('a', undefined), 'Use `delete()` to clear values'],
      [() => store.set({ a: undefined }), "Setting a value of type `undefined` for key `a` is not allowed as it's not supported by JSON"],
      [() => store.set('a', () => 1), "Setting a value of type `function` for key `a` is not allowed as it's not supported by JSON"],
      [() => store.set('a', Symbol('s')), "Setting a value of type `symbol` for key `a` is not allowed as it's not supported by JSON"],
      [() => store.set('a', 1n), "Setting a value of type `bigint` for key `a` is not allowed as it's not supported by JSON"],
      [() => store.set('a', { b: [1n] }), "Setting a value of type `bigint` for key `a` at `b.0` is not allowed as it's not supported by JSON"],
      [() => store.appendToArray('a', undefined), "Setting a value of type `undefined` for key `a` is not allowed as it's not supported by JSON"],
      [() => store.appendToArray('a', () => 1), "Setting a value of type `function` for key `a` is not allowed as it's not supported by JSON"],
      [() => store.set('a', cyclic), 'Setting a value for key `a` at `self` is not allowed as a value that holds itself is not supported by JSON, which refuses one as a circular structure'],
      [() => store.get(1), 'Expected `key` to be of type `string`, got number'],
      [() => store.set(1, 2), 'Expected `key` to be of type `string` or `object`, got number'],
    ]) {
      const error = thrown(write)
      assert.ok(error instanceof TypeError, message)
      assert.equal(error.message, message)
      if (impl === 'tad-store') assert.match(error.code, /^INVALID_(VALUE|KEY)$/)
    }
    assert.equal(store.has('a'), false)
  })

  test(`[${impl}] schema violations are worded as ajv words them, with conf's paths`, async (t) => {
    // The keywords the TAD app schema uses.
    const schema = {
      theme: { type: 'string', enum: ['light', 'dark'] },
      size: { type: 'number', minimum: 8, maximum: 72 },
      ratio: { type: 'number', exclusiveMinimum: 0 },
      name: { type: 'string', minLength: 2, pattern: '^[a-z]+$' },
      email: { type: 'string', format: 'email' },
      tags: { type: 'array', maxItems: 2, uniqueItems: true },
      box: { type: 'object', properties: { w: { type: 'number' } }, required: ['w'], additionalProperties: false },
    }
    const store = await make(t, impl, tempDir(t), { schema, ...(impl === 'conf' && { ajvOptions: { strict: false } }) })
    for (const [key, value, message] of [
      ['theme', 1, '`theme` must be string; `theme` must be equal to one of the allowed values'],
      ['theme', 'blue', '`theme` must be equal to one of the allowed values'],
      ['size', 7, '`size` must be >= 8'],
      ['size', 73, '`size` must be <= 72'],
      ['ratio', 0, '`ratio` must be > 0'],
      ['name', 'a', '`name` must NOT have fewer than 2 characters'],
      ['name', 'ABC', '`name` must match pattern "^[a-z]+$"'],
      ['email', 'nope', '`email` must match format "email"'],
      ['tags', [1, 2, 3], '`tags` must NOT have more than 2 items'],
      ['box', {}, "`box` must have required property 'w'"],
      ['box', { w: 1, extra: 2 }, '`box/extra` must NOT have additional properties'],
      ['box', { w: 'x' }, '`box/w` must be number'],
    ]) {
      const error = thrown(() => store.set(key, value))
      assert.equal(error.message, `Config schema violation: ${message}`, `${key} = ${JSON.stringify(value)}`)
      if (impl === 'tad-store') assert.equal(error.code, 'SCHEMA_VIOLATION')
    }
    const unique = thrown(() => store.set('tags', [1, 1]))
    assert.equal(unique.message, 'Config schema violation: `tags` must NOT have duplicate items (items ## 0 and 1 are identical)')
  })

  test(`[${impl}] a file that is not valid JSON is a SyntaxError`, async (t) => {
    const cwd = tempDir(t)
    fs.writeFileSync(path.join(cwd, 'config.json'), '{ not json')
    const error = await (async () => {
      try {
        const store = await make(t, impl, cwd)
        store.get('x') // conf reads lazily
      } catch (e) {
        return e
      }
      return undefined
    })()
    assert.ok(error instanceof SyntaxError, String(error))
    if (impl === 'tad-store') assert.equal(error.code, 'CORRUPT_FILE')
    assert.equal(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8'), '{ not json', 'left as it was')
  })

  test(`[${impl}] .store has a null-prototype top level; values below are plain objects`, async (t) => {
    const cwd = tempDir(t)
    fs.writeFileSync(path.join(cwd, 'bad.json'), 'garbage')
    const store = await make(t, impl, cwd, { name: 'bad', clearInvalidConfig: true })
    store.set('o', { toString: 'an item, not a method' })
    assert.equal(Object.getPrototypeOf(store.store), null)
    assert.equal(Object.getPrototypeOf(store.store.o), Object.prototype)
    assert.equal(store.store.o.toString, 'an item, not a method')
  })

  test(`[${impl}] a number in a dotted key names an array item, as JS reads it`, async (t) => {
    const store = await make(t, impl, tempDir(t), { defaults: { list: ['a', 'b'] } })
    assert.equal(store.get('list.0'), 'a')
    assert.equal(store.has('list.1'), true)
    const heard = []
    store.onDidChange('list.1', (value, old) => heard.push([value, old]))
    store.set('list.1', 'B')
    store.set('list[1]', 'C')
    store.set('list.2', 'd')
    assert.deepEqual(store.get('list'), ['a', 'C', 'd'])
    assert.deepEqual(heard, [['B', 'b'], ['C', 'B']])
  })
}

test('several violations of one write come in the order ajv finds them, as conf reports them', async (t) => {
  const schema = {
    foo: { type: 'string', maxLength: 3, pattern: '[def]+' },
    bar: { type: 'array', uniqueItems: true, maxItems: 3, items: { type: 'integer' } },
    mixed: { type: 'array', uniqueItems: true, items: { type: ['string', 'number'] } },
    loose: { type: 'array', uniqueItems: true },
    box: {
      type: 'object',
      properties: { x: { type: 'string' }, y: { type: 'number', minimum: 3 } },
      required: ['z'],
      additionalProperties: false,
    },
    pick: { type: 'string', enum: ['ab', 'cd'], minLength: 2 },
    n: { type: 'integer', minimum: 5, multipleOf: 2 },
    deep: { type: 'object', properties: { list: { type: 'array', items: { type: 'object', properties: { k: { type: 'boolean' } } } } } },
  }
  const cases = [
    ['foo', 'abca'],
    ['bar', [1, 1, 2, 'a']],
    ['bar', [2, 1, 2]],
    ['mixed', ['1', 1, '1', true]],
    ['loose', [1, '1', { a: [1] }, 1, { a: [1.0] }]],
    ['box', { w: 1, y: 'text', x: 1, v: 2 }],
    ['box', { y: 1 }],
    ['pick', 'x'],
    ['n', 2.5],
    ['deep', { list: [{ k: 1 }, { k: true }, { k: 'no' }] }],
    [null, { foo: 'abcdef', bar: 'x', n: 'y' }],
  ]
  const Conf = (await import('conf')).default
  const conf = new Conf({ cwd: tempDir(t), schema, ajvOptions: { strict: false } })
  const store = closeLater(t, new Store({ cwd: tempDir(t), schema }))
  const write = (target, key, value) => thrown(() => (key === null ? target.set(value) : target.set(key, value))).message
  for (const [key, value] of cases) {
    assert.equal(write(store, key, value), write(conf, key, value), `${key} = ${JSON.stringify(value)}`)
  }
})

test("electron-store's own surface: Store.initRenderer() and openInEditor()", async (t) => {
  assert.equal(typeof Store.initRenderer, 'function')
  assert.equal(Store.initRenderer(), undefined)
  const electron = createElectron()
  const cwd = tempDir(t)
  const store = closeLater(t, new Store({ cwd, electron }))
  store.set('theme', 'dark')
  await store.openInEditor()
  assert.deepEqual(electron.shell.opened, [store.path])
  // The editor sees every change: the file was brought up to date first.
  assert.equal(JSON.parse(fs.readFileSync(store.path, 'utf8')).theme, 'dark')
  const outside = closeLater(t, new Store({ cwd: tempDir(t) }))
  await assert.rejects(outside.openInEditor(), (e) => e.code === 'INVALID_OPTION')
})
