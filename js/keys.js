'use strict'
// Data keys for sensitive values as an app supplies them (`secretKey`, `keyProvider`),
// and a key provider built on Electron's safeStorage.
const fs = require('node:fs')
const path = require('node:path')
const { inputError } = require('./errors')
const { assertRegularFile } = require('./paths')

/** A 32-byte key: a Uint8Array of 32 bytes, or its base64 or hex text. */
function keyBytes(key, option) {
  if (key instanceof Uint8Array && key.length === 32) return Buffer.from(key)
  if (typeof key === 'string') {
    if (/^[0-9a-f]{64}$/i.test(key)) return Buffer.from(key, 'hex')
    if (/^[A-Za-z0-9+/]{43}=$/.test(key)) return Buffer.from(key, 'base64')
  }
  // Never echo the value: it may be a key of the wrong length.
  throw inputError('INVALID_OPTION', `\`${option}\` must be a 32-byte key (a Uint8Array, or its base64 or hex text), or a list of them, newest first`)
}

function keyList(value, option) {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) throw inputError('INVALID_OPTION', `\`${option}\` must hold at least one key`)
  return list.map((key) => keyBytes(key, option))
}

/** The keys the app supplies, or undefined when the store keeps its own. */
function suppliedKeys(options, storePath) {
  const { secretKey, keyProvider } = options
  if (secretKey !== undefined && keyProvider !== undefined) {
    throw inputError('INVALID_OPTION', 'Give either `secretKey` or `keyProvider`, not both')
  }
  if (secretKey !== undefined) return keyList(secretKey, 'secretKey')
  if (keyProvider === undefined) return undefined
  if (typeof keyProvider !== 'function') throw inputError('INVALID_OPTION', 'The `keyProvider` option must be a function')
  const given = keyProvider({ name: options.name ?? 'config', path: storePath })
  if (given && typeof given.then === 'function') {
    throw inputError('INVALID_OPTION', '`keyProvider` must return the key itself, not a promise (the store opens synchronously)')
  }
  return keyList(given, 'keyProvider')
}

/**
 * The keys the app supplies, for opening: `{ secretKeys }`, or, when its `keyProvider`
 * has none to give (`KEYRING_UNAVAILABLE`, `KEY_NOT_FOUND`: safeStorage without a
 * keychain, say), `{ keysUnavailable: [code, message] }`: the store then opens without a
 * key, its sensitive values out of reach, instead of refusing to open.
 */
function keysForOpening(options, storePath) {
  try {
    return { secretKeys: suppliedKeys(options, storePath) }
  } catch (error) {
    if (options.keyProvider !== undefined && (error?.code === 'KEYRING_UNAVAILABLE' || error?.code === 'KEY_NOT_FOUND')) {
      return { keysUnavailable: [error.code, String(error.message)] }
    }
    throw error
  }
}

/** electron-store's `encryptionKey` (a string or bytes) as bytes. */
function encryptionKeyBytes(key) {
  if (key === undefined || key === null) return undefined
  if (typeof key === 'string') return Buffer.from(key, 'utf8')
  if (ArrayBuffer.isView(key)) return Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  throw inputError('INVALID_OPTION', 'The `encryptionKey` option must be a string, a Buffer, a TypedArray or a DataView')
}

/**
 * A `keyProvider` keeping a random data key in `file`, encrypted with Electron's
 * `safeStorage` (whose own key is in the OS keychain, DPAPI or the Secret Service).
 * The file is made on first use, mode 0600, written atomically.
 */
function safeStorageKeyProvider({ safeStorage, file }) {
  if (!safeStorage || typeof safeStorage.encryptString !== 'function') {
    throw inputError('INVALID_OPTION', '`safeStorage` must be Electron\'s safeStorage module')
  }
  if (typeof file !== 'string' || !path.isAbsolute(file)) throw inputError('INVALID_OPTION', '`file` must be an absolute path')
  return () => {
    if (!safeStorage.isEncryptionAvailable()) {
      throw Object.assign(new Error('Electron safeStorage cannot encrypt here (call it after the app is ready, on a system with a keyring)'), { code: 'KEYRING_UNAVAILABLE', kind: 'persistent' })
    }
    let sealed
    assertRegularFile(file)
    try {
      sealed = fs.readFileSync(file)
    } catch (error) {
      if (error.code !== 'ENOENT') throw error
    }
    if (sealed) return keyBytes(safeStorage.decryptString(sealed), 'keyProvider')
    const key = require('node:crypto').randomBytes(32)
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    // Written as the engine writes its own files (temp, fsync, rename, directory fsync).
    require('./native').writeFileAtomic(file, safeStorage.encryptString(key.toString('base64')), 0o600)
    return key
  }
}

module.exports = { suppliedKeys, keysForOpening, encryptionKeyBytes, safeStorageKeyProvider }
