'use strict'
// Sync across devices, JS side: the `sync` option resolved for the engine (the device
// defaults to the host name), and the status `tad-store sync status` reads from the
// store's sync directory (the engine writes it there whenever it changes).
const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')
const { inputError } = require('./errors')

const FIELDS = new Set(['folder', 'keys', 'device', 'scanIntervalMs'])

/**
 * The `sync` option as the engine takes it, or undefined when the store does not sync.
 * Types are checked here; what the values mean (an absolute folder, key patterns) the
 * engine checks, with `INVALID_OPTION` naming the field.
 * @param {any} sync
 */
function syncOption(sync) {
  if (sync === undefined || sync === null || sync === false) return undefined
  const refuse = (why) => inputError('INVALID_OPTION', `The \`sync\` option ${why}`)
  if (typeof sync !== 'object' || Array.isArray(sync)) throw refuse('must be an object: { folder, keys, device? }')
  const unknown = Object.keys(sync).find((k) => !FIELDS.has(k))
  if (unknown !== undefined) throw refuse(`has no field \`${unknown}\` (it takes folder, keys, device, scanIntervalMs)`)
  const { folder, keys, device = os.hostname(), scanIntervalMs } = sync
  if (typeof folder !== 'string') throw refuse('needs `folder`: the path of a folder a sync service replicates')
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw refuse('needs `keys`: an array of key patterns')
  if (typeof device !== 'string') throw refuse('`device` must be a string')
  if (scanIntervalMs !== undefined && typeof scanIntervalMs !== 'number') throw refuse('`scanIntervalMs` must be a number')
  return { folder, keys: [...keys], device, scanIntervalMs }
}

/**
 * The last sync status the engine wrote for the store at `storePath`, or null when it
 * never synced. Read from disk, so it works while the app holds the store.
 * @param {string} syncDir the store's sync directory (`storeFiles(path).syncDir`)
 */
function readStatus(syncDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(syncDir, 'status.json'), 'utf8'))
  } catch (error) {
    if (error?.code === 'ENOENT') return null
    throw error
  }
}

module.exports = { syncOption, readStatus }
