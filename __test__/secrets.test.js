'use strict'
// Sensitive keys: sealed in every file the store writes, readable only in the main
// process, failing with distinct codes, never in errors or renderer replies.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const Store = require('..')
const { registerStoreIpc } = require('../ipc')
const { createElectron } = require('../examples/electron-standin/main')
const { tempDir, closeLater, codeOf, runNode, ROOT } = require('./helpers')

const SENSITIVE = ['ai.credentials.apiKey', 'profile.auth']

const newCanary = () => `sk-canary-${crypto.randomBytes(12).toString('hex')}`
const newKey = () => crypto.randomBytes(32)

/** Every form a secret could leak in: raw, hex, UTF-16, and base64 at each alignment. */
function formsOf(secret) {
  const bytes = Buffer.from(secret)
  const forms = [bytes, Buffer.from(secret, 'utf16le'), Buffer.from(bytes.toString('hex')), Buffer.from(bytes.toString('hex').toUpperCase())]
  for (const pad of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64')
    // The characters that depend only on the secret: skip the padding's, and the last
    // (partial) group.
    forms.push(Buffer.from(b64.slice(Math.ceil((pad * 4) / 3) + 1, -4)))
  }
  return forms
}

/** Every file below `dir`, recursively. */
function filesBelow(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? filesBelow(full) : [full]
  })
}

function assertNowhere(dir, secret) {
  const files = filesBelow(dir)
  for (const file of files) {
    const bytes = fs.readFileSync(file)
    for (const form of formsOf(secret)) {
      assert.equal(bytes.indexOf(form), -1, `${path.relative(dir, file)} holds the secret (as ${form.toString().slice(0, 12)}…)`)
    }
  }
  return files.map((f) => path.relative(dir, f))
}

function assertNotIn(text, secret) {
  for (const form of formsOf(secret)) assert.equal(String(text).indexOf(form.toString()), -1, `the secret leaked into: ${String(text).slice(0, 200)}`)
}

test('sensitive values are sealed in every file the store writes and read back in plaintext', async (t) => {
  const cwd = tempDir(t)
  const key = newKey()
  const apiKey = newCanary()
  const token = newCanary()
  const options = { cwd, sensitiveKeys: SENSITIVE, secretKey: key, checkpointIdleMs: 20 }
  const v1 = new Store({ ...options, projectVersion: '1.0.0' })
  v1.set('ai.credentials.apiKey', apiKey)
  v1.set('profile.auth', { token, expiresAt: '2030-01-01T00:00:00Z' })
  v1.set('settings.theme', 'dark')
  await v1.flush()
  assert.ok(fs.existsSync(path.join(cwd, 'config.json.journal')), 'the journal is on disk')
  assertNowhere(cwd, apiKey)
  // Checkpoints and history entries, then a migration (and its backup).
  for (let i = 0; i < 5; i++) {
    v1.set('settings.n', i)
    await new Promise((resolve) => setTimeout(resolve, 40))
  }
  await v1.close()
  const v2 = new Store({ ...options, projectVersion: '2.0.0', migrations: { '2.0.0': (s) => s.set('settings.migrated', true) } })
  assert.equal(v2.get('ai.credentials.apiKey'), apiKey)
  assert.deepEqual(v2.get('profile.auth'), { token, expiresAt: '2030-01-01T00:00:00Z' })
  assert.equal(v2.get('profile.auth.token'), token)
  assert.equal(v2.store.ai.credentials.apiKey, apiKey)
  await v2.close()
  // A damaged file is moved aside (and kept), and the store restored.
  fs.appendFileSync(path.join(cwd, 'config.json'), '\n{garbage')
  const v3 = closeLater(t, new Store({ ...options, clearInvalidConfig: true }))
  assert.ok(v3.recovery)
  assert.equal(v3.get('ai.credentials.apiKey'), apiKey)
  await v3.close()
  const files = [...assertNowhere(cwd, apiKey), ...assertNowhere(cwd, token)]
  for (const kind of [/^config\.json$/, /^storeHistory\/.+\.diff$/, /^storeHistory\/base\.json$/, /^backups\//, /\.corrupt-/]) {
    assert.ok(files.some((f) => kind.test(f)), `checked a file matching ${kind}: ${files.join(', ')}`)
  }
  const sealed = JSON.parse(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8'))
  assert.match(sealed.ai.credentials.apiKey, /^enc:v1:[0-9a-f]{16}:[A-Za-z0-9+/=]+:[0-9a-f]{8}$/)
  assert.match(sealed.profile.auth, /^enc:v1:/)
})

test('no temporary file a killed writer leaves behind holds a secret', async (t) => {
  const cwd = tempDir(t)
  const apiKey = newCanary()
  const key = newKey().toString('hex')
  const writer = `
    const Store = require('.')
    const store = new Store({ cwd: ${JSON.stringify(cwd)}, sensitiveKeys: ['ai.credentials.apiKey'], secretKey: ${JSON.stringify(key)}, checkpointIdleMs: 1 })
    const padding = 'x'.repeat(200000)
    let n = 0
    const loop = () => { store.set('ai.credentials.apiKey', ${JSON.stringify(apiKey)} + (n % 2 ? '' : '')); store.set('pad', padding + n++); setImmediate(loop) }
    loop()`
  for (let round = 0; round < 4; round++) {
    const child = spawn(process.execPath, ['-e', writer], { cwd: ROOT, stdio: 'ignore' })
    await new Promise((resolve) => setTimeout(resolve, 250 + round * 60))
    child.kill('SIGKILL')
    await new Promise((resolve) => child.on('exit', resolve))
    assertNowhere(cwd, apiKey)
  }
  const reopened = closeLater(t, new Store({ cwd, sensitiveKeys: ['ai.credentials.apiKey'], secretKey: key }))
  assert.equal(reopened.get('ai.credentials.apiKey'), apiKey)
})

test('tampered, wrong-key, missing-key and plaintext secrets fail with distinct codes, never a value', async (t) => {
  const cwd = tempDir(t)
  const key = newKey()
  const apiKey = newCanary()
  const store = new Store({ cwd, sensitiveKeys: SENSITIVE, secretKey: key })
  store.set('ai.credentials.apiKey', apiKey)
  store.set('settings.theme', 'dark')
  await store.close()
  const file = path.join(cwd, 'config.json')
  const original = fs.readFileSync(file, 'utf8')
  const failure = async (options) => {
    const s = new Store({ cwd, sensitiveKeys: SENSITIVE, ...options })
    try {
      assert.equal(s.get('settings.theme'), 'dark', 'the rest of the store reads')
      const error = codeOf(() => s.get('ai.credentials.apiKey'))
      assert.equal(codeOf(() => s.store).code, error.code, 'the whole store holds it too')
      assertNotIn(`${error.message} ${error.stack} ${JSON.stringify(error)}`, apiKey)
      return error
    } finally {
      await s.close()
    }
  }
  const codes = {}
  codes.wrong = (await failure({ secretKey: newKey() })).code
  const envelope = JSON.parse(original).ai.credentials.apiKey
  // Every single-character change of the envelope, the prefix included, is tampering.
  for (let at = 0; at < envelope.length; at += 7) {
    const changed = envelope.slice(0, at) + (envelope[at] === 'A' ? 'B' : 'A') + envelope.slice(at + 1)
    fs.writeFileSync(file, original.replace(envelope, changed))
    const error = await failure({ secretKey: key })
    assert.equal(error.code, 'SECRET_TAMPERED', `at ${at}`)
  }
  const middle = envelope.length >> 1
  fs.writeFileSync(file, original.replace(envelope, envelope.slice(0, middle) + (envelope[middle] === 'A' ? 'B' : 'A') + envelope.slice(middle + 1)))
  codes.tampered = (await failure({ secretKey: key })).code
  fs.writeFileSync(file, original.replace(envelope, 'sk-injected-plaintext'))
  codes.plaintext = (await failure({ secretKey: key })).code
  fs.writeFileSync(file, original)
  // The key file the store kept is gone: its key is missing, not wrong.
  const fileStore = path.join(cwd, 'kept')
  const kept = new Store({ cwd: fileStore, sensitiveKeys: SENSITIVE, keyStore: 'file' })
  kept.set('ai.credentials.apiKey', apiKey)
  await kept.close()
  fs.rmSync(path.join(fileStore, 'config.key'))
  const lost = closeLater(t, new Store({ cwd: fileStore, sensitiveKeys: SENSITIVE, keyStore: 'file' }))
  codes.missing = codeOf(() => lost.get('ai.credentials.apiKey')).code
  assert.deepEqual(codes, { wrong: 'DECRYPT_FAILED', tampered: 'SECRET_TAMPERED', plaintext: 'SECRET_NOT_ENCRYPTED', missing: 'KEY_NOT_FOUND' })
  // None of them is a corrupt file, and setting the key again works.
  lost.set('ai.credentials.apiKey', 'sk-new')
  assert.equal(lost.get('ai.credentials.apiKey'), 'sk-new')
})

test('errors about a sensitive value never quote it', async (t) => {
  const cwd = tempDir(t)
  const apiKey = newCanary()
  const schema = { ai: { type: 'object', properties: { apiKey: { type: 'string', maxLength: 8, 'x-sensitive': true } } } }
  const store = closeLater(t, new Store({ cwd, schema, secretKey: newKey() }))
  const errors = [codeOf(() => store.set('ai.apiKey', apiKey)), codeOf(() => store.set('ai', { apiKey }))]
  assert.deepEqual(store.sensitiveKeys, ['ai.apiKey'])
  for (const error of errors) {
    assert.equal(error.code, 'SCHEMA_VIOLATION')
    assertNotIn(`${error.message} ${error.stack} ${JSON.stringify(error)} ${JSON.stringify(error.errors)}`, apiKey)
  }
  store.set('ai.apiKey', 'sk-short')
  assert.equal(store.get('ai.apiKey'), 'sk-short')
})

test('change events carry plaintext in the main process', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), sensitiveKeys: SENSITIVE, secretKey: newKey() }))
  const seen = []
  store.onDidChange('ai.credentials.apiKey', (value, previous) => seen.push([value, previous]))
  store.onDidChange('profile.auth.token', (value, previous) => seen.push([value, previous]))
  store.set('ai.credentials.apiKey', 'sk-1')
  await new Promise((resolve) => setImmediate(resolve))
  store.set('profile.auth', { token: 't-1' })
  await new Promise((resolve) => setImmediate(resolve))
  store.set('ai.credentials.apiKey', 'sk-2')
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(seen, [['sk-1', undefined], ['t-1', undefined], ['sk-2', 'sk-1']])
})

test('renderers never see a sensitive value without a grant, and the audit log never holds one', async (t) => {
  const cwd = tempDir(t)
  const apiKey = newCanary()
  const { schema, storeOptions } = require('../schemas')
  assert.equal(schema.properties.ai.properties.credentials.properties.apiKey['x-sensitive'], true)
  const store = closeLater(t, new Store(storeOptions({ cwd, secretKey: newKey() })))
  store.set('ai.credentials.apiKey', apiKey)
  const electron = createElectron()
  const APP = 'https://app.example.com'
  // The policy names no sensitive key: the schema's `x-sensitive` ones are hidden anyway.
  const policy = {
    origins: {
      [APP]: { read: ['*'], write: ['*'] },
      'https://admin.example.com': { read: ['ai'], write: [], sensitive: ['ai.credentials.apiKey'] },
    },
  }
  closeLater(t, { close: registerStoreIpc(store, { policy, ipcMain: electron.ipcMain }) })
  const open = (url) => closeLater(t, electron.openWindow(url, { preload: require('../preload').path }))
  const app = open(`${APP}/index.html`)
  const replies = []
  const ask = async (code) => {
    const reply = await app.run(code).then((value) => ({ value }), (error) => ({ error: { code: error.code, message: error.message } }))
    replies.push(reply)
    return reply
  }
  assert.equal((await ask(`return window.storeAPI.get('ai')`)).value.credentials.apiKey, undefined)
  assert.deepEqual(await ask(`return window.storeAPI.get('ai.credentials.apiKey')`), { value: undefined })
  assert.equal((await ask(`return window.storeAPI.has('ai.credentials.apiKey')`)).value, false)
  assert.equal((await ask(`await window.storeAPI.set('ai.credentials', { apiKey: 'x' })`)).error.code, 'ACCESS_DENIED')
  await app.run(`window.storeAPI.onDidChange('ai', (v) => report(v)); await window.storeAPI.get('settings')`)
  store.set('ai.credentials.apiKey', `${apiKey}-2`)
  store.set('ai.model', 'm')
  const [event] = await app.until((r) => r.length >= 1)
  replies.push(event)
  assert.equal(event.credentials?.apiKey, undefined)
  for (const reply of replies) assertNotIn(JSON.stringify(reply), apiKey)
  // An origin granted the key sees it.
  const admin = open('https://admin.example.com/')
  assert.equal(await admin.run(`return window.storeAPI.get('ai.credentials.apiKey')`), `${apiKey}-2`)
  await store.flush()
  await new Promise((resolve) => setTimeout(resolve, 100))
  assertNowhere(cwd, apiKey)
  assert.match(fs.readFileSync(path.join(cwd, 'audit.log'), 'utf8'), /"key":"ai.credentials".*ACCESS_DENIED/, 'the refusal was audited')
})

test('a key from keyProvider, one made with Electron safeStorage', async (t) => {
  const cwd = tempDir(t)
  const { safeStorage } = createElectron({ userData: cwd })
  const file = path.join(cwd, 'secret', 'tad-store.key')
  const keyProvider = Store.safeStorageKeyProvider({ safeStorage, file })
  const store = new Store({ cwd, sensitiveKeys: SENSITIVE, keyProvider })
  store.set('ai.credentials.apiKey', 'sk-provided')
  await store.close()
  assert.equal(fs.statSync(file).mode & 0o777, 0o600)
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700)
  const again = closeLater(t, new Store({ cwd, sensitiveKeys: SENSITIVE, keyProvider }))
  assert.equal(again.get('ai.credentials.apiKey'), 'sk-provided')
  assert.equal(codeOf(() => new Store({ cwd: tempDir(t), sensitiveKeys: SENSITIVE, keyProvider: () => Buffer.alloc(16) })).code, 'INVALID_OPTION')
  assert.equal(codeOf(() => new Store({ cwd: tempDir(t), sensitiveKeys: SENSITIVE, keyProvider: async () => newKey() })).code, 'INVALID_OPTION')
})

test('without a keyring a store with sensitive keys still opens: the rest works, its secrets throw, once said', async () => {
  // No D-Bus session: no Secret Service, whatever the machine running the tests has.
  const result = await runNode(
    `const Store = require('.')
     const { storeOptions } = require('./schemas')
     const dir = require('node:os').tmpdir() + '/tad-nokeyring-' + process.pid
     const store = new Store({ cwd: dir, sensitiveKeys: ['ai.apiKey'] })
     const notices = []
     store.onError((e) => notices.push({ code: e.code, message: e.message }))
     store.set('theme', 'dark')
     store.set('ai.model', 'm')
     const code = (fn) => { try { fn(); return 'ok' } catch (e) { return e.code } }
     const out = { theme: store.get('theme'), ai: store.get('ai'), read: code(() => store.get('ai.apiKey')), write: code(() => store.set('ai.apiKey', 'sk')), stats: store.stats().sensitiveKeysUnavailable }
     // The TAD app's own options open too (its API key is x-sensitive).
     const tad = new Store(storeOptions({ cwd: dir + '-tad' }))
     tad.set('settings.theme', 'dark')
     out.tad = tad.get('settings.theme')
     setImmediate(async () => {
       out.notices = notices
       await store.close(); await tad.close()
       console.log(JSON.stringify(out))
     })`,
    { env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } },
  )
  assert.equal(result.code, 0, result.stderr)
  const out = JSON.parse(result.stdout)
  assert.equal(out.theme, 'dark')
  assert.deepEqual(out.ai, { model: 'm' })
  assert.equal(out.read, 'ok', 'an absent secret reads as absent')
  assert.equal(out.write, 'KEYRING_UNAVAILABLE')
  assert.equal(out.stats, 'KEYRING_UNAVAILABLE')
  assert.equal(out.tad, 'dark')
  assert.equal(out.notices.length, 1, 'one notice')
  assert.equal(out.notices[0].code, 'KEYRING_UNAVAILABLE')
  assert.match(out.notices[0].message, /keyProvider/, 'it says how to supply a key')
})

test('with its key out of reach, nothing sealed is rewritten, lost or replaced; a key supplied later opens it all', async (t) => {
  const cwd = tempDir(t)
  const key = newKey()
  const apiKey = newCanary()
  const first = new Store({ cwd, sensitiveKeys: ['ai.apiKey'], secretKey: key })
  first.set('ai', { apiKey, model: 'm' })
  await first.close()
  const sealedBefore = JSON.parse(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8')).ai.apiKey
  // The app's provider has no key to give (safeStorage without a keychain, say).
  const keyProvider = () => {
    throw Object.assign(new Error('safeStorage cannot decrypt here'), { code: 'KEYRING_UNAVAILABLE' })
  }
  const store = new Store({ cwd, sensitiveKeys: ['ai.apiKey'], keyProvider })
  const errors = []
  store.onError((e) => errors.push(e.code))
  assert.equal(codeOf(() => store.get('ai.apiKey')).code, 'KEYRING_UNAVAILABLE')
  assert.equal(codeOf(() => store.get('ai.apiKey')).kind, 'persistent')
  assert.deepEqual(store.get('ai'), { model: 'm' }, 'the parent reads without it')
  assert.deepEqual({ ...store.store }, { ai: { model: 'm' } })
  for (const write of [() => store.set('ai.apiKey', 'x'), () => store.set('ai', { model: 'n' }), () => store.delete('ai'), () => store.delete('ai.apiKey'), () => store.clear(), () => (store.store = { other: 1 })]) {
    assert.equal(codeOf(write).code, 'KEYRING_UNAVAILABLE', write.toString())
  }
  store.set('ai.model', 'n') // beside the secret: fine
  await store.flush()
  // A renderer granted the key sees it absent.
  const electron = createElectron()
  const APP = 'https://app.example.com'
  closeLater(t, { close: registerStoreIpc(store, { policy: { origins: { [APP]: { read: ['*'], sensitive: ['ai.apiKey'] } } }, ipcMain: electron.ipcMain }) })
  const win = closeLater(t, electron.openWindow(`${APP}/`, { preload: require('../preload').path }))
  assert.equal(await win.run(`return window.storeAPI.get('ai.apiKey')`), undefined)
  // Supplying the key makes everything readable, and writable, again.
  await store.rotateKey(key)
  assert.equal(store.get('ai.apiKey'), apiKey)
  assert.equal(store.get('ai.model'), 'n')
  await store.close()
  const after = JSON.parse(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8')).ai.apiKey
  assert.equal(after, sealedBefore, 'the envelope is byte-identical')
  assert.deepEqual([...new Set(errors)], ['KEYRING_UNAVAILABLE'])
  // A wrong key is refused, and changes nothing.
  const again = closeLater(t, new Store({ cwd, sensitiveKeys: ['ai.apiKey'], keyProvider }))
  await assert.rejects(again.rotateKey(newKey()), (e) => e.code === 'DECRYPT_FAILED')
  assert.equal(codeOf(() => again.get('ai.apiKey')).code, 'KEYRING_UNAVAILABLE')
})

test('an opt-in key file is private, and rotateKey re-encrypts under a new key', async (t) => {
  const cwd = tempDir(t)
  const store = new Store({ cwd, sensitiveKeys: SENSITIVE, keyStore: 'file' })
  store.set('ai.credentials.apiKey', 'sk-rotate')
  store.set('profile.auth', { token: 't' })
  await store.flush()
  const keyFile = path.join(cwd, 'config.key')
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600)
  const before = fs.readFileSync(keyFile, 'utf8')
  const idOf = () => JSON.parse(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8')).ai.credentials.apiKey.split(':')[2]
  await store.close()
  const oldId = idOf()
  const reopened = new Store({ cwd, sensitiveKeys: SENSITIVE, keyStore: 'file' })
  await reopened.rotateKey()
  await reopened.close()
  assert.notEqual(fs.readFileSync(keyFile, 'utf8'), before)
  assert.notEqual(idOf(), oldId)
  assert.equal(fs.readFileSync(keyFile, 'utf8').split(',').length, 1, 'the old key is gone')
  const after = closeLater(t, new Store({ cwd, sensitiveKeys: SENSITIVE, keyStore: 'file' }))
  assert.equal(after.get('ai.credentials.apiKey'), 'sk-rotate')
  assert.equal(after.get('profile.auth.token'), 't')
})

test('rotateKey with app-supplied keys takes the new key; the old one no longer opens', async (t) => {
  const cwd = tempDir(t)
  const [oldKey, nextKey] = [newKey(), newKey()]
  const store = new Store({ cwd, sensitiveKeys: SENSITIVE, secretKey: oldKey })
  store.set('ai.credentials.apiKey', 'sk-app')
  await assert.rejects(store.rotateKey(), { code: 'INVALID_OPTION' })
  await store.rotateKey(nextKey.toString('base64'))
  assert.equal(store.get('ai.credentials.apiKey'), 'sk-app')
  await store.close()
  const withOld = closeLater(t, new Store({ cwd, sensitiveKeys: SENSITIVE, secretKey: oldKey }))
  assert.equal(codeOf(() => withOld.get('ai.credentials.apiKey')).code, 'DECRYPT_FAILED')
  await withOld.close()
  const withNew = closeLater(t, new Store({ cwd, sensitiveKeys: SENSITIVE, secretKey: [nextKey, oldKey] }))
  assert.equal(withNew.get('ai.credentials.apiKey'), 'sk-app')
})

test('store files are created 0600 and new directories 0700', async (t) => {
  const cwd = path.join(tempDir(t), 'new', 'store')
  const store = new Store({ cwd, sensitiveKeys: SENSITIVE, secretKey: newKey(), checkpointIdleMs: 10 })
  store.set('a', 1)
  await store.flush()
  store.set('a', 2)
  await new Promise((resolve) => setTimeout(resolve, 80))
  await store.close()
  const modeOf = (p) => fs.statSync(p).mode & 0o777
  assert.equal(modeOf(cwd), 0o700)
  assert.equal(modeOf(path.dirname(cwd)), 0o700)
  for (const file of filesBelow(cwd)) {
    if (file.endsWith('.lock')) continue
    assert.equal(modeOf(file), 0o600, path.relative(cwd, file))
  }
  assert.equal(modeOf(path.join(cwd, 'storeHistory')), 0o700)
})

test('bad secret options are refused with INVALID_OPTION', (t) => {
  const cwd = tempDir(t)
  for (const options of [
    { sensitiveKeys: 'ai.apiKey' },
    { sensitiveKeys: ['a..b'] },
    { sensitiveKeys: ['__proto__.x'] },
    { sensitiveKeys: ['a'], secretKey: 'short' },
    { sensitiveKeys: ['a'], secretKey: newKey(), keyProvider: () => newKey() },
    { sensitiveKeys: ['a'], keyStore: 'cloud' },
    { encryptionKey: 'k', encryptionAlgorithm: 'rot13' },
  ]) {
    const error = codeOf(() => new Store({ cwd, ...options }))
    assert.equal(error.code, 'INVALID_OPTION', JSON.stringify(options))
  }
})

test('a rollback restores earlier secrets; across a rotation they need the retired key', async (t) => {
  const cwd = tempDir(t)
  const options = { cwd, sensitiveKeys: SENSITIVE, keyStore: 'file', checkpointIdleMs: 10 }
  const store = closeLater(t, new Store(options))
  const settle = () => new Promise((resolve) => setTimeout(resolve, 60))
  store.set('ai.credentials.apiKey', 'sk-first')
  await settle()
  const [first] = store.listHistory()
  store.set('ai.credentials.apiKey', 'sk-second')
  await settle()
  await store.rollbackToTimestamp(first.timestamp)
  assert.equal(store.get('ai.credentials.apiKey'), 'sk-first')
  await store.rotateKey()
  await settle()
  await store.rollbackToTimestamp(first.timestamp)
  assert.equal(codeOf(() => store.get('ai.credentials.apiKey')).code, 'KEY_NOT_FOUND')
  store.set('ai.credentials.apiKey', 'sk-again')
  assert.equal(store.get('ai.credentials.apiKey'), 'sk-again')
  assertNowhere(cwd, 'sk-first')
  assertNowhere(cwd, 'sk-second')
})

const KEYRING_TOOLS = ['/usr/bin/dbus-run-session', '/usr/bin/gnome-keyring-daemon']
test('by default the data key is kept in the OS keyring (Secret Service, in a private D-Bus session)', { skip: !KEYRING_TOOLS.every((f) => fs.existsSync(f)) && 'no dbus-run-session or gnome-keyring-daemon (.ci/run installs them)' }, async (t) => {
  const home = tempDir(t)
  const cwd = path.join(home, 'store')
  const script = `
    const Store = require(${JSON.stringify(ROOT)})
    const options = { cwd: ${JSON.stringify(cwd)}, sensitiveKeys: ['ai.apiKey'] }
    const store = new Store(options)
    store.set('ai.apiKey', 'sk-in-the-keyring')
    store.close().then(() => {
      const again = new Store(options)
      console.log(JSON.stringify({ value: again.get('ai.apiKey'), files: require('node:fs').readdirSync(options.cwd) }))
      return again.close()
    })`
  fs.writeFileSync(path.join(home, 'run.js'), script)
  // A private session bus and an unlocked keyring, as a desktop login would have.
  const result = await new Promise((resolve) => {
    const child = spawn('dbus-run-session', ['--', 'sh', '-c', `printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "${process.execPath}" run.js`], { cwd: home, env: { ...process.env, HOME: home } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
  const report = JSON.parse(result.stdout.trim().split('\n').pop() || 'null')
  assert.ok(report, result.stderr)
  assert.equal(report.value, 'sk-in-the-keyring')
  assert.ok(!report.files.some((f) => f.endsWith('.key')), 'no key file: the key is in the keyring')
  assertNowhere(cwd, 'sk-in-the-keyring')
})

test('with watch: an edit by another program keeps the secrets; a plaintext one is refused', async (t) => {
  const cwd = tempDir(t)
  const options = { cwd, watch: true, sensitiveKeys: SENSITIVE, secretKey: newKey(), checkpointIdleMs: 5 }
  const store = closeLater(t, new Store(options))
  store.set('ai.credentials.apiKey', 'sk-watched')
  store.set('theme', 'light')
  await store.flush()
  const until = async (predicate) => {
    for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.ok(predicate(), 'timed out')
  }
  await until(() => fs.existsSync(store.path) && fs.readFileSync(store.path, 'utf8').includes('light'))
  const edit = (change) => {
    const doc = JSON.parse(fs.readFileSync(store.path, 'utf8'))
    change(doc)
    fs.writeFileSync(`${store.path}.editor`, JSON.stringify(doc, undefined, '\t'))
    fs.renameSync(`${store.path}.editor`, store.path)
  }
  // A hand edit of another key, which also drops the bookkeeping: taken, secrets intact.
  edit((doc) => {
    doc.theme = 'dark'
    delete doc.__internal__
  })
  await until(() => store.get('theme') === 'dark')
  assert.equal(store.get('ai.credentials.apiKey'), 'sk-watched')
  // The store writes the file again with its id (the envelopes are bound to it).
  await until(() => JSON.parse(fs.readFileSync(store.path, 'utf8')).__internal__?.secrets?.id)
  // A secret written in plaintext by hand: refused, the store keeps its state.
  const errors = []
  store.onError((error) => errors.push(error))
  edit((doc) => {
    doc.ai.credentials.apiKey = 'sk-typed-by-hand'
  })
  await until(() => errors.length > 0)
  assert.equal(errors[0].code, 'EXTERNAL_EDIT_REFUSED')
  assert.match(errors[0].message, /not encrypted/)
  assert.equal(store.get('ai.credentials.apiKey'), 'sk-watched')
  await store.close()
  const reopened = closeLater(t, new Store({ ...options, watch: false }))
  assert.equal(reopened.get('ai.credentials.apiKey'), 'sk-watched')
  assert.equal(reopened.get('theme'), 'dark')
})

test('sensitiveKeys patterns that could never match a key are INVALID_OPTION, naming the pattern', (t) => {
  for (const pattern of ['accounts[0].token', 'tokens\\.github', 'a]', 'a..b', '']) {
    const error = codeOf(() => new Store({ cwd: tempDir(t), sensitiveKeys: [pattern], secretKey: newKey() }))
    assert.equal(error.code, 'INVALID_OPTION', pattern)
    if (pattern) assert.ok(error.message.includes(pattern), error.message)
  }
  // What the message suggests works: an array item by its index.
  const cwd = tempDir(t)
  const canary = newCanary()
  const store = closeLater(t, new Store({ cwd, sensitiveKeys: ['accounts.0.token'], secretKey: newKey() }))
  store.set('accounts', [{ token: canary }, { token: 'public' }])
  assert.equal(store.get('accounts[0].token'), canary)
  return store.flush().then(() => assertNowhere(cwd, canary))
})

test('without dot notation, a declared secret written as one literal key is sealed too, and hidden from renderers', async (t) => {
  const cwd = tempDir(t)
  const apiKey = newCanary()
  const token = newCanary()
  const store = closeLater(t, new Store({ cwd, accessPropertiesByDotNotation: false, sensitiveKeys: ['ai.apiKey', 'accounts.*.token'], secretKey: newKey() }))
  store.set('ai.apiKey', apiKey) // one top-level key named `ai.apiKey`
  store.set('accounts.a1', { token, name: 'one' })
  store.set('ai', { apiKey: `${apiKey}-nested`, model: 'm' })
  assert.equal(store.get('ai.apiKey'), apiKey)
  assert.equal(store.get('accounts.a1').token, token)
  await store.flush()
  for (const secret of [apiKey, token, `${apiKey}-nested`]) assertNowhere(cwd, secret)
  // Renderers: neither the literal key nor the nested one, in replies or events.
  const electron = createElectron()
  const APP = 'https://app.example.com'
  closeLater(t, { close: registerStoreIpc(store, { policy: { origins: { [APP]: { read: ['*'], write: ['*'] } } }, ipcMain: electron.ipcMain }) })
  const win = closeLater(t, electron.openWindow(`${APP}/`, { preload: require('../preload').path }))
  assert.equal(await win.run(`return window.storeAPI.get('ai.apiKey')`), undefined)
  assert.deepEqual(await win.run(`return window.storeAPI.get('accounts.a1')`), { name: 'one' })
  await win.run(`window.storeAPI.onDidAnyChange((v) => report(v)); await window.storeAPI.get('ai')`)
  store.set('ai.apiKey', `${apiKey}-2`)
  store.set('accounts.a1', { token: `${token}-2`, name: 'two' })
  const [seen] = await win.until((r) => r.length >= 1)
  assert.equal(seen['accounts.a1'].name, 'two')
  assert.equal(seen['ai.apiKey'], undefined)
  for (const secret of [apiKey, token]) assertNotIn(JSON.stringify(await win.run(`return rawEvents`)), secret)
})
