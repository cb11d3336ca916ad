'use strict'
// The TAD app schema shipped in schemas/: it loads from the package, its defaults make a
// valid store, its example migration upgrades a 1.x store, and big stores validate.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { storeOptions, schema, version, migrations } = require('tad-store/schemas')
const { settingsOfSize } = require('../benchmark/settings')
const { tempDir, closeLater, codeOf, runNode } = require('./helpers')

// The schema marks credentials `x-sensitive`: their data key, supplied (CI has no keyring).
const KEY = require('node:crypto').randomBytes(32)

test('the schema is exported from the package', async () => {
  assert.equal(require('tad-store/schemas/tad-app.schema.json'), schema)
  assert.equal(version, '2.0.0')
  assert.equal(typeof migrations['2.0.0'], 'function')
  const result = await runNode("console.log(require('tad-store/schemas/tad-app.schema.json')['x-version'])")
  assert.equal(result.stdout.trim(), '2.0.0', result.stderr)
})

test('the generated TypeScript types are up to date', async () => {
  const result = await runNode("process.argv.push('--check'); require('./scripts/gen-types.js')")
  assert.equal(result.code, 0, result.stderr)
})

test('a new TAD store holds every default and is valid', (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), ...storeOptions({ secretKey: KEY }) }))
  assert.equal(store.get('settings.theme'), 'auto')
  assert.equal(store.get('settings.editor.fontSize'), 14)
  assert.equal(store.get('ai.provider'), 'anthropic')
  assert.deepEqual(store.get('workspaces'), [])
  assert.equal(store.get('ui.canvas.zoom'), 1)
})

test('the TAD schema refuses what the app must never store', (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), ...storeOptions({ secretKey: KEY }) }))
  assert.equal(codeOf(() => store.set('settings.theme', 'sepia')).code, 'SCHEMA_VIOLATION')
  assert.equal(codeOf(() => store.set('ai.request.temperature', 5)).code, 'SCHEMA_VIOLATION')
  assert.equal(codeOf(() => store.set('profile.email', 'not-an-email')).code, 'SCHEMA_VIOLATION')
  assert.equal(codeOf(() => store.appendToArray('workspaces', { name: 'no id or path' })).code, 'SCHEMA_VIOLATION')
  store.appendToArray('workspaces', { id: 'w1', name: 'TAD', path: '/src/tad' })
  assert.equal(store.get('workspaces[0].settings.buildSystem'), 'vite', 'item defaults fill in')
  assert.equal(codeOf(() => store.set('workspaces[0].unknown', 1)).code, 'SCHEMA_VIOLATION')
})

test('the example migration upgrades a 1.x store to the 2.0.0 schema', async (t) => {
  const cwd = tempDir(t)
  const v1 = {
    settings: { darkMode: true, language: 'fr', fontSize: 16 },
    ai: { provider: 'openai', model: 'gpt-4', temperature: 0.7, apiKey: 'sk-test' },
    workspaces: [{ name: 'A', path: '/a' }],
    __internal__: { migrations: { version: '1.4.0' } },
  }
  fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify(v1, undefined, '\t'))
  const store = closeLater(t, new Store({ cwd, ...storeOptions({ secretKey: KEY }) }))
  assert.equal(store.get('settings.theme'), 'dark')
  assert.equal(store.get('settings.editor.fontSize'), 16)
  assert.equal(store.get('settings.darkMode'), undefined)
  assert.deepEqual(store.get('ai.request.temperature'), 0.7)
  assert.equal(store.get('ai.credentials.apiKey'), 'sk-test')
  assert.equal(store.get('workspaces[0].id'), 'ws-1')
  assert.equal(store.get('__internal__.migrations.version'), '2.0.0')
  assert.equal(fs.readdirSync(path.join(cwd, 'backups')).length, 1)
})

test('a 10 MiB TAD store validates on open, and a violation deep inside is found', async (t) => {
  // Timing is the benchmark's job (`npm run bench`, "open existing store" with the
  // schema); this checks the whole document really is validated.
  const cwd = tempDir(t)
  const doc = settingsOfSize(10 << 20)
  doc.__internal__ = { migrations: { version: '2.0.0' } }
  fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify(doc, undefined, '\t'))
  const store = new Store({ cwd, ...storeOptions({ secretKey: KEY }) })
  assert.equal(store.get('workspaces').length, doc.workspaces.length)
  await store.close()
  doc.workspaces[doc.workspaces.length - 7].recent[3].cursor.line = -1
  fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify(doc, undefined, '\t'))
  const error = codeOf(() => new Store({ cwd, ...storeOptions({ secretKey: KEY }) }))
  assert.equal(error.code, 'SCHEMA_VIOLATION')
  assert.deepEqual(
    error.errors.map((e) => e.key),
    [`workspaces[${doc.workspaces.length - 7}].recent[3].cursor.line`],
  )
})
