'use strict'
// electron-store's whole-file `encryptionKey`: files the real conf package writes open,
// conf reads back what we write, and one call moves such a store to per-field sealing.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { tempDir, closeLater, codeOf } = require('./helpers')

const ALGORITHMS = ['aes-256-cbc', 'aes-256-gcm', 'aes-256-ctr']
const PASSWORD = 'electron-store-key'

const loadConf = async () => (await import('conf')).default
const canary = () => `sk-canary-${crypto.randomBytes(12).toString('hex')}`

function assertNoPlaintext(dir, ...secrets) {
  for (const name of fs.readdirSync(dir, { recursive: true })) {
    const file = path.join(dir, name)
    if (fs.statSync(file).isDirectory()) continue
    const bytes = fs.readFileSync(file)
    for (const secret of secrets) assert.equal(bytes.indexOf(secret), -1, `${name} holds ${secret}`)
  }
}

for (const algorithm of ALGORITHMS) {
  test(`a store conf wrote with encryptionKey (${algorithm}) opens, and conf reads what we write`, async (t) => {
    const Conf = await loadConf()
    const cwd = tempDir(t)
    const secret = canary()
    const conf = new Conf({ cwd, encryptionKey: PASSWORD, encryptionAlgorithm: algorithm })
    conf.set({ settings: { theme: 'dark' }, ai: { apiKey: secret } })
    const file = path.join(cwd, 'config.json')
    assert.equal(fs.readFileSync(file)[16], ':'.charCodeAt(0), 'conf wrote IV:ciphertext')

    const store = new Store({ cwd, encryptionKey: PASSWORD, encryptionAlgorithm: algorithm })
    assert.equal(store.get('settings.theme'), 'dark')
    assert.equal(store.get('ai.apiKey'), secret)
    store.set('settings.theme', 'light')
    store.set('settings.marker', 'written-by-tad-store')
    await store.flush()
    // No journal and no history: both would hold plaintext.
    assertNoPlaintext(cwd, secret, 'written-by-tad-store')
    assert.ok(!fs.existsSync(path.join(cwd, 'config.json.journal')))
    assert.ok(!fs.existsSync(path.join(cwd, 'storeHistory')))
    await store.close()
    assertNoPlaintext(cwd, secret, 'written-by-tad-store')
    assert.equal(fs.readFileSync(file)[16], ':'.charCodeAt(0))

    const back = new Conf({ cwd, encryptionKey: PASSWORD, encryptionAlgorithm: algorithm })
    assert.equal(back.get('settings.theme'), 'light')
    assert.equal(back.get('settings.marker'), 'written-by-tad-store')

    // A wrong key: DECRYPT_FAILED (not CORRUPT_FILE), the file untouched; with
    // clearInvalidConfig it is moved aside, as conf clears it.
    const before = fs.readFileSync(file)
    const error = codeOf(() => new Store({ cwd, encryptionKey: 'not-the-key', encryptionAlgorithm: algorithm }))
    assert.equal(error.code, 'DECRYPT_FAILED')
    assert.doesNotMatch(error.message, /not-the-key/)
    assert.deepEqual(fs.readFileSync(file), before)
    const cleared = closeLater(t, new Store({ cwd, encryptionKey: 'not-the-key', encryptionAlgorithm: algorithm, clearInvalidConfig: true }))
    assert.equal(cleared.get('settings.theme'), undefined)
    assert.ok(cleared.recovery.quarantined.includes('.corrupt-'))
    assert.deepEqual(fs.readFileSync(cleared.recovery.quarantined), before)
  })
}

test('files older electron-store versions wrote (the IV as text for salt) open too', async (t) => {
  // Several IVs, so bytes that are not valid UTF-8 (replaced on the way to text) occur.
  for (let i = 0; i < 12; i++) {
    const cwd = tempDir(t)
    const iv = crypto.randomBytes(16)
    const password = crypto.pbkdf2Sync(PASSWORD, iv.toString(), 10_000, 32, 'sha512')
    const cipher = crypto.createCipheriv('aes-256-cbc', password, iv)
    const body = Buffer.concat([cipher.update(JSON.stringify({ n: i })), cipher.final()])
    fs.writeFileSync(path.join(cwd, 'config.json'), Buffer.concat([iv, Buffer.from(':'), body]))
    const store = new Store({ cwd, encryptionKey: PASSWORD })
    assert.equal(store.get('n'), i)
    await store.close()
  }
})

test('a plain JSON file opens with the default CBC encryptionKey and is encrypted from then on', async (t) => {
  const cwd = tempDir(t)
  fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify({ a: 'plain-marker' }))
  const store = new Store({ cwd, encryptionKey: PASSWORD })
  assert.equal(store.get('a'), 'plain-marker')
  store.set('b', 1)
  await store.close()
  assertNoPlaintext(cwd, 'plain-marker')
})

test('migrateToFieldEncryption moves a conf encryptionKey store to sealed fields in one call', async (t) => {
  const Conf = await loadConf()
  const cwd = tempDir(t)
  const secret = canary()
  new Conf({ cwd, encryptionKey: PASSWORD }).set({ theme: 'dark', ai: { credentials: { apiKey: secret } } })
  const options = { cwd, sensitiveKeys: ['ai.credentials.apiKey'], secretKey: crypto.randomBytes(32) }
  const report = await Store.migrateToFieldEncryption({ ...options, encryptionKey: PASSWORD })
  assert.deepEqual(report.sealed, ['ai.credentials.apiKey'])
  assert.equal(report.decrypted, true)
  assert.ok(fs.existsSync(report.backup), 'the encrypted original is kept')
  const text = fs.readFileSync(path.join(cwd, 'config.json'), 'utf8')
  const json = JSON.parse(text)
  assert.equal(json.theme, 'dark')
  assert.match(json.ai.credentials.apiKey, /^enc:v1:/)
  assertNoPlaintext(cwd, secret)
  const store = closeLater(t, new Store(options))
  assert.equal(store.get('ai.credentials.apiKey'), secret)
})

test('migrateToFieldEncryption seals plaintext secrets of a plain store and drops the history that held them', async (t) => {
  const cwd = tempDir(t)
  const secret = canary()
  const legacy = new Store({ cwd, checkpointIdleMs: 10 })
  legacy.set('ai.credentials.apiKey', secret)
  await new Promise((resolve) => setTimeout(resolve, 60))
  legacy.set('theme', 'dark')
  await legacy.close()
  assert.ok(fs.readdirSync(path.join(cwd, 'storeHistory')).length > 0)
  const options = { cwd, sensitiveKeys: ['ai.credentials.apiKey'], secretKey: crypto.randomBytes(32) }
  // Before the migration a plaintext where an envelope belongs is refused, not returned.
  const refused = new Store(options)
  assert.equal(codeOf(() => refused.get('ai.credentials.apiKey')).code, 'SECRET_NOT_ENCRYPTED')
  await refused.close()
  const report = await Store.migrateToFieldEncryption(options)
  assert.deepEqual(report, { sealed: ['ai.credentials.apiKey'], decrypted: false, backup: null })
  assertNoPlaintext(cwd, secret)
  const store = closeLater(t, new Store(options))
  assert.equal(store.get('ai.credentials.apiKey'), secret)
  assert.equal(store.get('theme'), 'dark')
})
