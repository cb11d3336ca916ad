'use strict'
// `StoreManager`: the seed app's API, one instance per store file, over `Store`.
const { Store } = require('./store')
const { resolveStorePath } = require('./paths')
const native = require('./native')
const { inputError } = require('./errors')

const instances = new Map()

class StoreManager {
  #options
  #store

  /** Returns the manager already made for the same file, if there is one. */
  constructor(options = {}) {
    const file = resolveStorePath(options, native)
    const existing = instances.get(file)
    if (existing) return existing
    this.#options = options
    this.path = file
    instances.set(file, this)
  }

  /** Opens the store. Safe to call more than once. */
  async initialize() {
    this.#store ??= new Store(this.#options)
    return this
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

  /** Closes the store and forgets this manager, so the file can be opened again. */
  async close() {
    instances.delete(this.path)
    if (this.#store) await this.#store.close()
  }
}

module.exports = { StoreManager }
