'use strict'
// `StoreManager`: the seed app's API, one instance per store file, over `Store`.
const { Store, kDeferMigrations, kMigrate } = require('./store')
const { resolveStorePath } = require('./paths')
const native = require('./native')
const { inputError } = require('./errors')

const instances = new Map()

class StoreManager {
  #options
  #store
  #opening

  /** Returns the manager already made for the same file, if there is one. */
  constructor(options = {}) {
    const file = resolveStorePath(options, native)
    const existing = instances.get(file)
    if (existing) return existing
    this.#options = options
    this.path = file
    instances.set(file, this)
  }

  /**
   * Opens the store, running its migrations, which may be asynchronous (return a
   * promise). Safe to call more than once: later calls wait for the first.
   */
  initialize() {
    this.#opening ??= (async () => {
      const store = new Store({ ...this.#options, [kDeferMigrations]: true })
      try {
        await store[kMigrate]()
      } catch (error) {
        this.#opening = undefined
        throw error
      }
      this.#store = store
      return this
    })()
    return this.#opening
  }

  /**
   * Runs the `migrations` steps for versions after `fromVersion` up to `toVersion` on the
   * open store, awaiting asynchronous ones, all or nothing: if one throws, the store is
   * as it was. Writes a backup first and records `toVersion`.
   */
  async migrateData(fromVersion, toVersion) {
    if (!this.#options.migrations) throw inputError('INVALID_OPTION', 'The store has no `migrations` option')
    await this.store[kMigrate]({ from: fromVersion, to: toVersion })
  }

  /** The underlying `Store` (after `initialize()`). */
  get store() {
    if (!this.#store) throw inputError('NOT_INITIALIZED', 'Call `await manager.initialize()` first')
    return this.#store
  }

  get(key, defaultValue) {
    return this.store.get(key, defaultValue)
  }

  /** Resolves once the value is durable on disk. */
  async set(key, value) {
    this.store.set(key, value)
    await this.store.flush()
  }

  /** Resolves once the deletion is durable on disk. */
  async delete(key) {
    this.store.delete(key)
    await this.store.flush()
  }

  has(key) {
    return this.store.has(key)
  }

  onDidChange(key, callback) {
    return this.store.onDidChange(key, callback)
  }

  onDidAnyChange(callback) {
    return this.store.onDidAnyChange(callback)
  }

  flush() {
    return this.store.flush()
  }

  listHistory() {
    return this.store.listHistory()
  }

  /** Rolls back to a recorded state; resolves once the rollback is durable. */
  async rollbackToTimestamp(timestamp) {
    await this.store.rollbackToTimestamp(timestamp)
    await this.store.flush()
  }

  verifyHistory() {
    return this.store.verifyHistory()
  }

  /** Closes the store and forgets this manager, so the file can be opened again. */
  async close() {
    instances.delete(this.path)
    if (this.#store) await this.#store.close()
  }
}

module.exports = { StoreManager }
