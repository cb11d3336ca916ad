'use strict'
// JSON Schema validation and defaults, behaviour by behaviour as conf defines them.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { tempDir, closeLater, dirContents, codeOf } = require('./helpers')

function open(t, options = {}) {
  return closeLater(t, new Store({ cwd: tempDir(t), ...options }))
}

const schema = {
  foo: { type: 'number', maximum: 100, minimum: 1, default: 50 },
  bar: { type: 'string', format: 'uri' },
  settings: {
    type: 'object',
    default: {},
    properties: {
      theme: { enum: ['light', 'dark', 'auto'], default: 'auto' },
      email: { type: 'string', format: 'email' },
      editor: { type: 'object', properties: { fontSize: { type: 'integer', minimum: 6, default: 14 } } },
    },
  },
}

test('schema - a valid set is accepted', (t) => {
  const store = open(t, { schema })
  store.set('foo', 10)
  store.set('bar', 'https://sindresorhus.com')
  store.set('settings.email', 'ada@example.com')
  assert.equal(store.get('foo'), 10)
})

test('schema - one violation: SCHEMA_VIOLATION, and nothing changes', async (t) => {
  const store = open(t, { schema })
  await store.flush()
  const files = dirContents(path.dirname(store.path))
  const before = store.store
  const error = codeOf(() => store.set('foo', 1000))
  assert.equal(error.code, 'SCHEMA_VIOLATION')
  assert.equal(error.kind, 'persistent')
  assert.equal(error.key, 'foo')
  assert.match(error.message, /Config schema violation: `foo` /)
  assert.deepEqual(error.errors.map((e) => [e.key, e.instancePath, e.keyword]), [['foo', '/foo', 'maximum']])
  assert.deepEqual(store.store, before)
  await store.flush()
  assert.deepEqual(dirContents(path.dirname(store.path)), files, 'no journal record, no file change')
})

test('schema - multiple violations are all reported', (t) => {
  const store = open(t, { schema })
  const error = codeOf(() => store.set({ foo: 0, bar: 'not a uri', 'settings.theme': 'blue' }))
  assert.equal(error.code, 'SCHEMA_VIOLATION')
  assert.deepEqual(error.errors.map((e) => e.keyword).sort(), ['enum', 'format', 'minimum'])
  assert.equal(store.get('foo'), 50, 'all or nothing')
})

test('schema - formats are checked', (t) => {
  const store = open(t, { schema })
  assert.equal(codeOf(() => store.set('settings.email', 'nope')).code, 'SCHEMA_VIOLATION')
  assert.equal(codeOf(() => store.set('bar', 'not a uri')).code, 'SCHEMA_VIOLATION')
})

test('schema - nested and whole-store writes are validated', (t) => {
  const store = open(t, { schema })
  assert.equal(codeOf(() => store.set('settings', { theme: 'purple' })).code, 'SCHEMA_VIOLATION')
  assert.equal(codeOf(() => store.set('settings.editor.fontSize', 2)).code, 'SCHEMA_VIOLATION')
  assert.equal(codeOf(() => (store.store = { foo: 'x' })).code, 'SCHEMA_VIOLATION')
  assert.equal(codeOf(() => store.appendToArray('settings.theme', 1)).code, 'TYPE_CONFLICT')
  assert.equal(codeOf(() => store.appendToArray('settings.editor.fontSize', 1)).code, 'SCHEMA_VIOLATION')
})

test('schema - a value the schema does not describe is allowed unless the root says otherwise', (t) => {
  const loose = open(t, { schema })
  loose.set('unknown', 1)
  const strict = open(t, { schema, rootSchema: { additionalProperties: false } })
  assert.equal(codeOf(() => strict.set('unknown', 1)).code, 'SCHEMA_VIOLATION')
})

test('schema - defaults come from the schema, at every level where the parent exists', (t) => {
  const store = open(t, { schema })
  assert.deepEqual({ ...store.store }, { foo: 50, settings: { theme: 'auto' } })
  store.set('settings.editor', {})
  assert.equal(store.get('settings.editor.fontSize'), 14, 'a nested default fills a new object')
})

test('schema - the defaults option overrides a schema default', (t) => {
  const store = open(t, { schema, defaults: { foo: 42, settings: { theme: 'dark' } } })
  assert.equal(store.get('foo'), 42)
  assert.deepEqual(store.get('settings'), { theme: 'dark' })
})

test('schema - a defaults option the schema refuses fails at construction', (t) => {
  const error = codeOf(() => new Store({ cwd: tempDir(t), schema, defaults: { foo: 'nope' } }))
  assert.equal(error.code, 'SCHEMA_VIOLATION')
})

test('schema - reset() and clear() restore schema defaults; delete() of a defaulted key restores it', (t) => {
  const store = open(t, { schema })
  store.set('foo', 7)
  store.set('settings.theme', 'dark')
  store.reset('foo', 'settings.theme')
  assert.equal(store.get('foo'), 50)
  assert.equal(store.get('settings.theme'), 'auto')
  store.set('settings.theme', 'light')
  store.delete('settings.theme')
  assert.equal(store.get('settings.theme'), 'auto', 'as in electron-store, a default comes back')
  store.set('extra', true)
  store.clear()
  assert.deepEqual({ ...store.store }, { foo: 50, settings: { theme: 'auto' } })
})

test('schema - draft-07 schemas work', (t) => {
  const store = open(t, {
    rootSchema: { $schema: 'http://json-schema.org/draft-07/schema#', definitions: { port: { type: 'integer', maximum: 65535 } } },
    schema: { port: { $ref: '#/definitions/port' }, pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }] } },
  })
  store.set('port', 8080)
  assert.equal(codeOf(() => store.set('port', 70000)).code, 'SCHEMA_VIOLATION')
  store.set('pair', ['a', 1])
  assert.equal(codeOf(() => store.set('pair[1]', 'b')).code, 'SCHEMA_VIOLATION', 'tuple items are positional')
})

test('schema - bad schema options are refused', (t) => {
  const cwd = tempDir(t)
  assert.equal(codeOf(() => new Store({ cwd, schema: 'nope' })).code, 'INVALID_OPTION')
  assert.equal(codeOf(() => new Store({ cwd, schema: { a: { type: 'nonsense' } } })).code, 'INVALID_OPTION')
  assert.equal(codeOf(() => new Store({ cwd, rootSchema: { properties: {} } })).code, 'INVALID_OPTION')
  assert.equal(codeOf(() => new Store({ cwd, rootSchema: { type: 'array' } })).code, 'INVALID_OPTION')
})

test('schema - a file that fails the schema: SCHEMA_VIOLATION on open, file untouched', (t) => {
  const cwd = tempDir(t)
  const file = path.join(cwd, 'config.json')
  fs.writeFileSync(file, JSON.stringify({ foo: 1000, settings: { theme: 'purple' } }, undefined, '\t'))
  const before = dirContents(cwd)
  const error = codeOf(() => new Store({ cwd, schema }))
  assert.equal(error.code, 'SCHEMA_VIOLATION')
  assert.equal(error.file, file)
  assert.deepEqual(error.errors.map((e) => e.key).sort(), ['foo', 'settings.theme'])
  assert.deepEqual(dirContents(cwd), before)
})

test('schema - with clearInvalidConfig the invalid file is moved aside and defaults are used', async (t) => {
  const cwd = tempDir(t)
  const content = JSON.stringify({ foo: 1000 })
  fs.writeFileSync(path.join(cwd, 'config.json'), content)
  const store = new Store({ cwd, schema, clearInvalidConfig: true })
  assert.deepEqual({ ...store.store }, { foo: 50, settings: { theme: 'auto' } })
  const aside = store.openReport.quarantined
  assert.match(path.basename(aside), /^config\.json\.invalid-\d+/)
  assert.equal(fs.readFileSync(aside, 'utf8'), content)
  await store.close()
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8')), { foo: 50, settings: { theme: 'auto' } })
})

test('schema - a file that fails the schema is restored from a backup that passes', async (t) => {
  const cwd = tempDir(t)
  fs.mkdirSync(path.join(cwd, 'backups'))
  fs.writeFileSync(path.join(cwd, 'backups', 'config-1.0.0-to-2.0.0-2026-01-01T00-00-00-000Z.json'), JSON.stringify({ foo: 9 }))
  fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify({ foo: 1000 }))
  const store = closeLater(t, new Store({ cwd, schema }))
  assert.equal(store.get('foo'), 9)
  assert.equal(store.recovery.from, 'backup')
  assert.match(path.basename(store.recovery.quarantined), /^config\.json\.invalid-/)
})
