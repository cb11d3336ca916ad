'use strict'
// The `tad-store` command, run as a real child process against real store files.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync, spawn } = require('node:child_process')
const Store = require('..')
const { tempDir, closeLater, dirContents, ROOT } = require('./helpers')

const BIN = path.join(ROOT, 'bin', 'tad-store.js')

/** Runs the CLI; resolves with { code, stdout, stderr }. */
function cli(args, { env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

const json = async (args, opts) => {
  const result = await cli([...args, '--json'], opts)
  return { ...result, value: JSON.parse(result.stdout) }
}

/** A store with a few values, history, and a sealed secret (key in a key file). */
async function fixture(t) {
  const cwd = tempDir(t)
  const store = new Store({ cwd, sensitiveKeys: ['ai.apiKey'], keyStore: 'file', checkpointIdleMs: 5 })
  store.set({ settings: { theme: 'dark', fontSize: 14 }, workspaces: [{ name: 'tad' }] })
  store.set('ai.apiKey', 'sk-cli-secret')
  await new Promise((resolve) => setTimeout(resolve, 60))
  store.set('settings.theme', 'light')
  await new Promise((resolve) => setTimeout(resolve, 60))
  await store.close()
  return { cwd, file: path.join(cwd, 'config.json') }
}

test('path, get, keys and export read the store; secrets print as «encrypted» unless revealed', async (t) => {
  const { cwd, file } = await fixture(t)
  const f = ['--file', file]
  assert.deepEqual((await json(['path', ...f])).value, { path: file })
  const theme = await cli(['get', 'settings.theme', ...f])
  assert.deepEqual([theme.code, theme.stdout], [0, 'light\n'])
  assert.deepEqual((await json(['get', 'settings', ...f])).value, { key: 'settings', value: { theme: 'light', fontSize: 14 } })
  const secret = await json(['get', 'ai', ...f])
  assert.deepEqual(secret.value, { key: 'ai', value: { apiKey: '«encrypted»' } })
  const revealed = await json(['get', 'ai.apiKey', '--reveal', '--key-file', ...f])
  assert.deepEqual(revealed.value, { key: 'ai.apiKey', value: 'sk-cli-secret' })
  // --reveal without the key: still «encrypted», and a warning says why.
  const noKey = await cli(['get', 'ai.apiKey', '--reveal', '--key', 'ab'.repeat(32), ...f])
  assert.equal(noKey.stdout, '«encrypted»\n')
  assert.match(noKey.stderr, /cannot reveal/)
  const missing = await json(['get', 'nope', ...f])
  assert.equal(missing.code, 4)
  assert.deepEqual(missing.value, { error: { code: 'NOT_FOUND', message: '`nope` is not set' } })
  const keys = await cli(['keys', ...f])
  assert.match(keys.stdout, /^KEY\s+TYPE\nsettings\s+object \(2\)\nworkspaces\s+array \(1\)\nai\s+object \(1\)\n$/)
  assert.deepEqual((await json(['keys', 'ai', ...f])).value, { prefix: 'ai', keys: [{ key: 'ai.apiKey', type: 'encrypted' }] })
  const exported = await cli(['export', ...f])
  assert.deepEqual(JSON.parse(exported.stdout), { settings: { theme: 'light', fontSize: 14 }, workspaces: [{ name: 'tad' }], ai: { apiKey: '«encrypted»' } })
  const out = path.join(cwd, 'out.json')
  assert.deepEqual((await json(['export', out, ...f])).value, { file: out, keys: 3 })
  assert.equal(fs.statSync(out).mode & 0o777, 0o600)
  assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).settings.theme, 'light')
})

test('set, delete and import write the store; sealed values stay sealed', async (t) => {
  const { cwd, file } = await fixture(t)
  const f = ['--file', file]
  assert.deepEqual((await json(['set', 'settings.theme', '"blue"', ...f])).value, { ok: true, key: 'settings.theme' })
  assert.deepEqual((await json(['set', 'ai.apiKey', '"sk-from-cli"', '--key-file', ...f])).value, { ok: true, key: 'ai.apiKey' })
  assert.ok(!fs.readFileSync(file, 'utf8').includes('sk-from-cli'), 'the CLI sealed it')
  assert.deepEqual((await json(['delete', 'workspaces', ...f])).value, { ok: true, key: 'workspaces' })
  assert.equal((await cli(['delete', 'workspaces', ...f])).code, 4)
  // electron-store's config.json, bookkeeping and all.
  const legacy = path.join(cwd, 'legacy.json')
  fs.writeFileSync(legacy, JSON.stringify({ __internal__: { migrations: { version: '1.0.0' } }, profile: { name: 'Ada' }, ui: { zoom: 1.25 } }))
  assert.deepEqual((await json(['import', legacy, ...f])).value, { file: legacy, imported: ['profile', 'ui'] })
  const store = closeLater(t, new Store({ cwd, sensitiveKeys: ['ai.apiKey'], keyStore: 'file' }))
  assert.equal(store.get('settings.theme'), 'blue')
  assert.equal(store.get('ai.apiKey'), 'sk-from-cli')
  assert.equal(store.has('workspaces'), false)
  assert.deepEqual([store.get('profile.name'), store.get('ui.zoom')], ['Ada', 1.25])
  await store.close()
  const bad = await cli(['set', 'x', 'not json', ...f])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /^tad-store: the value for `x` is not JSON/)
})

test('import reads an electron-store file conf encrypted, given its encryptionKey', async (t) => {
  const { default: Conf } = await import('conf')
  const from = tempDir(t)
  new Conf({ cwd: from, encryptionKey: 'k3y' }).set({ settings: { theme: 'dark' } })
  const { file } = await fixture(t)
  const result = await json(['import', path.join(from, 'config.json'), '--encryption-key', 'k3y', '--file', file])
  assert.deepEqual(result.value.imported, ['settings'])
  assert.equal((await cli(['get', 'settings.theme', '--file', file])).stdout, 'dark\n')
  const wrong = await cli(['import', path.join(from, 'config.json'), '--encryption-key', 'nope', '--file', file])
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /^tad-store: DECRYPT_FAILED: /)
})

test('history, diff and rollback', async (t) => {
  const { file } = await fixture(t)
  const f = ['--file', file]
  const history = await json(['history', ...f])
  assert.ok(history.value.entries.length >= 2)
  for (const entry of history.value.entries) assert.deepEqual(Object.keys(entry).sort(), ['hash', 'kind', 'size', 'timestamp'])
  const human = await cli(['history', ...f])
  assert.match(human.stdout, /^TIMESTAMP\s+KIND\s+SIZE\s+HASH\n\d{4}-\d\d-\d\dT\S+Z\s+diff\s+\d+ B\s+[0-9a-f]{16}\n/)
  const oldest = history.value.entries.at(-1).timestamp
  const diff = await json(['diff', oldest, ...f])
  assert.ok(diff.value.changes.some((c) => c.key === 'settings.theme' && c.change === 'changed'), JSON.stringify(diff.value))
  assert.deepEqual((await json(['rollback', oldest, ...f])).value, { ok: true, timestamp: oldest })
  assert.equal((await cli(['get', 'settings.theme', ...f])).stdout, 'dark\n')
  assert.equal((await cli(['get', 'ai.apiKey', '--reveal', '--key-file', ...f])).stdout, 'sk-cli-secret\n')
  const none = await json(['rollback', '2001-01-01T00:00:00.000Z', ...f])
  assert.equal(none.code, 4)
  assert.equal(none.value.error.code, 'HISTORY_NOT_FOUND')
})

test('verify passes a good store and fails each damaged part, with exit code 5', async (t) => {
  const { cwd, file } = await fixture(t)
  const f = ['--file', file]
  const good = await json(['verify', ...f])
  assert.equal(good.code, 0)
  assert.deepEqual(good.value.checks.map((c) => [c.name, c.ok]), [['snapshot', true], ['journal', true], ['history', true], ['backups', true], ['schema', true]])
  const human = await cli(['verify', ...f])
  assert.match(human.stdout, /^✓ pass {2}snapshot/m)
  // The schema check, against a schema the store passes and one it does not.
  const schemaFile = path.join(cwd, 'schema.json')
  fs.writeFileSync(schemaFile, JSON.stringify({ type: 'object', properties: { settings: { type: 'object', properties: { fontSize: { type: 'integer', maximum: 12 } } } } }))
  const schema = await json(['verify', '--schema', schemaFile, ...f])
  assert.equal(schema.code, 5)
  assert.deepEqual(schema.value.checks.find((c) => c.name === 'schema').ok, false)
  // A damaged history entry.
  const dir = path.join(cwd, 'storeHistory')
  const entry = fs.readdirSync(dir).filter((n) => n.endsWith('.diff')).sort()[0]
  const bytes = fs.readFileSync(path.join(dir, entry))
  bytes[bytes.length - 3] ^= 0xff
  fs.writeFileSync(path.join(dir, entry), bytes)
  const broken = await json(['verify', ...f])
  assert.equal(broken.code, 5)
  assert.deepEqual(broken.value.checks.find((c) => c.name === 'history').ok, false)
  // A damaged snapshot: everything after it is not checked.
  fs.writeFileSync(file, '{"settings": ')
  const corrupt = await cli(['verify', ...f])
  assert.equal(corrupt.code, 5)
  assert.match(corrupt.stdout, /^✗ fail {2}snapshot {2}CORRUPT_FILE/m)
})

test('recover restores a damaged file and says from where', async (t) => {
  const { file } = await fixture(t)
  const f = ['--file', file]
  assert.deepEqual((await json(['recover', ...f])).value.recovered, false)
  fs.writeFileSync(file, '{"settings": ')
  const result = await json(['recover', ...f])
  assert.equal(result.code, 0)
  assert.equal(result.value.recovered, true)
  assert.equal(result.value.from, 'history')
  assert.ok(fs.existsSync(result.value.quarantined))
  assert.equal((await cli(['get', 'settings.theme', ...f])).code, 0)
})

test('stats reports sizes, history, checkpoints and counts', async (t) => {
  const { file } = await fixture(t)
  const { value, code } = await json(['stats', '--file', file])
  assert.equal(code, 0)
  for (const field of ['operations', 'errors', 'snapshotBytes', 'journalBytes', 'fsyncP50Micros', 'fsyncP99Micros', 'lastCheckpoint', 'historyEntries', 'historyBytes', 'rendererSubscriptions']) {
    assert.ok(field in value, field)
  }
  assert.equal(value.snapshotBytes, fs.statSync(file).size)
  assert.ok(value.historyEntries >= 2 && value.historyBytes > 0)
  assert.match(value.lastCheckpoint, /Z$/)
  const human = await cli(['stats', '--file', file])
  assert.match(human.stdout, /^snapshot\s+\d+ B$/m)
  assert.match(human.stdout, /^fsync p50 \/ p99\s+/m)
})

test('while the app holds the store, reads work and writes fail with LOCKED and its pid', async (t) => {
  const { file, cwd } = await fixture(t)
  const app = spawn(process.execPath, ['-e', `
    const Store = require(${JSON.stringify(ROOT)})
    const store = new Store({ cwd: ${JSON.stringify(cwd)} })
    console.log('open')
    setInterval(() => {}, 1000)`])
  t.after(() => app.kill('SIGKILL'))
  await new Promise((resolve) => app.stdout.once('data', resolve))
  const before = dirContents(cwd)
  assert.equal((await cli(['get', 'settings.theme', '--file', file])).stdout, 'light\n')
  for (const args of [['set', 'settings.theme', '"x"'], ['delete', 'settings'], ['rollback', '2001-01-01T00:00:00.000Z'], ['recover']]) {
    const result = await json([...args, '--file', file])
    assert.equal(result.code, 3, args.join(' '))
    assert.equal(result.value.error.code, 'LOCKED')
    assert.match(result.value.error.message, new RegExp(`pid ${app.pid}`))
  }
  assert.deepEqual(dirContents(cwd), before, 'the store is untouched')
})

test('bad arguments get one line and the usage, exit 2, never a stack trace', async () => {
  for (const args of [[], ['bogus', '--file', 'x'], ['get', '--file', 'x'], ['get', 'a', 'b', '--file', 'x'], ['get', 'a'], ['get', 'a', '--app', 'A', '--file', 'x'], ['get', 'a', '--file', 'x', '--colour'], ['path', '--file']]) {
    const result = await cli(args)
    assert.equal(result.code, 2, args.join(' '))
    const lines = result.stderr.trimEnd().split('\n')
    assert.match(lines[0], /^tad-store: /, args.join(' '))
    assert.match(lines[1], /^usage: tad-store /)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
    assert.equal(result.stdout, '')
  }
  const help = await cli(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /exit codes: 0 ok/)
})

test('--app finds the default location; colour only on a terminal (or FORCE_COLOR)', async (t) => {
  const home = tempDir(t)
  const env = { XDG_CONFIG_HOME: home, HOME: home }
  assert.deepEqual((await json(['path', '--app', 'TAD'], { env })).value, { path: path.join(home, 'TAD', 'config.json') })
  assert.deepEqual((await json(['path', '--app', 'TAD', '--name', 'window'], { env })).value, { path: path.join(home, 'TAD', 'window.json') })
  const { file } = await fixture(t)
  const plain = await cli(['verify', '--file', file])
  assert.doesNotMatch(plain.stdout, /\x1b\[/)
  const coloured = await cli(['verify', '--file', file], { env: { FORCE_COLOR: '1' } })
  assert.match(coloured.stdout, /\x1b\[32m✓ pass\x1b\[0m/)
  const off = await cli(['verify', '--file', file, '--no-color'], { env: { FORCE_COLOR: '1' } })
  assert.doesNotMatch(off.stdout, /\x1b\[/)
})

test('long operations draw a progress bar on a terminal (stderr), never in --json', async (t) => {
  const { file } = await fixture(t)
  const shown = await cli(['verify', '--file', file], { env: { TAD_STORE_PROGRESS: '1' } })
  assert.match(shown.stderr, /verify \[#+-*\] /)
  assert.match(shown.stderr, /verify \[#{24}\] done/)
  const quiet = await cli(['verify', '--file', file, '--json'], { env: { TAD_STORE_PROGRESS: '1' } })
  assert.equal(quiet.stderr, '')
  assert.equal((await cli(['verify', '--file', file])).stderr, '', 'not on a pipe')
})

test('verify checks a store against the TAD schema without its key (sealed values as envelopes)', async (t) => {
  const cwd = tempDir(t)
  const { storeOptions } = require('../schemas')
  const store = new Store(storeOptions({ cwd, keyStore: 'file' }))
  store.set('ai.credentials.apiKey', 'sk-tad')
  await store.close()
  const schemaFile = path.join(cwd, 'schema.json')
  fs.writeFileSync(schemaFile, JSON.stringify(require('../schemas').schema))
  const result = await json(['verify', '--schema', schemaFile, '--file', path.join(cwd, 'config.json')])
  assert.equal(result.code, 0, JSON.stringify(result.value))
  assert.equal(result.value.checks.find((c) => c.name === 'schema').detail, 'the store passes the schema')
})

test('a store that does not exist is not made by a typo: exit 4, except for path and import', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'typo.json')
  for (const args of [['get', 'a'], ['set', 'a', '1'], ['verify'], ['stats'], ['history'], ['recover']]) {
    const result = await json([...args, '--file', file])
    assert.equal(result.code, 4, args.join(' '))
    assert.deepEqual(result.value, { error: { code: 'NOT_FOUND', message: `there is no store at ${file}` } })
  }
  assert.deepEqual(fs.readdirSync(dir), [])
  assert.equal((await cli(['path', '--file', file])).code, 0)
  const source = path.join(dir, 'source.json')
  fs.writeFileSync(source, '{"a":1}')
  assert.equal((await cli(['import', source, '--file', file])).code, 0)
  assert.equal((await cli(['get', 'a', '--file', file])).stdout, '1\n')
})

test('every command refuses a store file that is a FIFO or a device with NOT_A_FILE, at once', async (t) => {
  const dir = tempDir(t)
  const fifo = path.join(dir, 'config.json')
  execFileSync('mkfifo', [fifo])
  const device = path.join(dir, 'device.json')
  fs.symlinkSync('/dev/zero', device)
  const commands = [['path'], ['get', 'a'], ['set', 'a', '1'], ['delete', 'a'], ['keys'], ['export', path.join(dir, 'out.json')], ['history'], ['rollback', '2026-01-01T00:00:00.000Z'], ['diff', '2026-01-01T00:00:00.000Z'], ['verify'], ['recover'], ['stats']]
  for (const file of [fifo, device]) {
    for (const args of commands) {
      const result = await withDeadline(json([...args, '--file', file]), args.join(' '))
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`)
      assert.equal(result.value.error.code, 'NOT_A_FILE', args.join(' '))
    }
  }
  // Files the command reads besides the store: an import source, a schema.
  const { file } = await fixture(t)
  const imported = await withDeadline(json(['import', fifo, '--file', file]), 'import')
  assert.equal(imported.value.error.code, 'NOT_A_FILE')
  const verified = await withDeadline(json(['verify', '--schema', fifo, '--file', file]), 'verify --schema')
  assert.equal(verified.value.error.code, 'NOT_A_FILE')
  assert.ok(fs.lstatSync(fifo).isFIFO())
})

/** Fails instead of hanging: a read of a FIFO would never return. */
function withDeadline(promise, what, ms = 15_000) {
  let timer
  return Promise.race([promise, new Promise((resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung`)), ms)))]).finally(() => clearTimeout(timer))
}
