'use strict'
// `Store`: electron-store's API over the native engine. This file wires and converts;
// the engine (Rust) owns the document, durability and change tracking.
const native = require('./native')
const { run, runTask } = native
const { encode, decodeRead } = require('./encode')
const { toError, inputError, retype, settled } = require('./errors')
const { resolveStorePath, fileMode, electronModule } = require('./paths')
const { rootSchemaOf } = require('./schema')
const migrate = require('./migrate')
const keys = require('./keys')
const { rendererStats } = require('./bridges')
const { engineFor, signatureOf } = require('./shared')
const { syncOption } = require('./sync')

/** Internal: open without running migrations, for StoreManager's asynchronous pass. */
const kDeferMigrations = Symbol('tad-store.deferMigrations')
/** Internal: run migrations on an open store (`async`, or between two versions). */
const kMigrate = Symbol('tad-store.migrate')
/** Internal: seal sensitive values found in plaintext (migrateToFieldEncryption). */
const kSealPlaintext = Symbol('tad-store.sealPlaintext')
/**
 * Internal: what the renderer bridge (`js/ipc.js`) needs of a store and nothing else
 * does: a key feed, the sensitive patterns as data, how keys are addressed, and the way
 * to `onError`.
 */
const kRendererBridge = Symbol('tad-store.rendererBridge')

function assertKey(key) {
  if (typeof key !== 'string') {
    throw inputError('INVALID_KEY', `Expected \`key\` to be of type \`string\`, got ${key === null ? 'null' : typeof key}`)
  }
}

function assertCallback(callback) {
  if (typeof callback !== 'function') {
    throw inputError('INVALID_ARGUMENT', `Expected \`callback\` to be of type \`function\`, got ${typeof callback}`)
  }
}

/** The `history` option: `false`, or `{ maxEntries, maxAgeDays, maxBytes }`. */
function historyOptions(history) {
  if (history === undefined || history === true) return {}
  if (history === false) return { history: false }
  if (history === null || typeof history !== 'object') throw inputError('INVALID_OPTION', 'The `history` option must be `false` or an object of limits')
  for (const name of ['maxEntries', 'maxAgeDays', 'maxBytes']) {
    const n = history[name]
    if (n !== undefined && !(typeof n === 'number' && n >= 0 && Number.isFinite(n))) {
      throw inputError('INVALID_OPTION', `\`history.${name}\` must be a non-negative number`)
    }
  }
  return { historyMaxEntries: history.maxEntries, historyMaxAgeDays: history.maxAgeDays, historyMaxBytes: history.maxBytes }
}

function textOf(serialized) {
  if (typeof serialized === 'string') return serialized
  if (serialized instanceof Uint8Array) return Buffer.from(serialized).toString('utf8')
  throw new TypeError(`\`serialize\` must return a string, got ${typeof serialized}`)
}

/**
 * Before an encrypted store is rewritten as JSON: a durable copy of the encrypted file in
 * `backups/` (still encrypted, so it leaks nothing). Returns its path, or null.
 */
function keepEncryptedCopy(file) {
  const fs = require('node:fs')
  const path = require('node:path')
  if (!fs.existsSync(file)) return null
  const dir = native.storeFiles(file).backups
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const copy = path.join(dir, `${path.basename(file)}.encryptionKey-${new Date().toISOString().replace(/[:.]/g, '-')}.enc`)
  // Durable as the engine's own files: temp, fsync, rename, directory fsync.
  native.writeFileAtomic(copy, fs.readFileSync(file), 0o600)
  return copy
}

/** Throws `error` on a later turn, where it surfaces as an uncaught exception. */
function rethrowAsync(error) {
  queueMicrotask(() => {
    throw error
  })
}

/** Internal: hands an instance the events of its watchers (see js/shared.js). */
const kReceive = Symbol('tad-store.receive')
const receive = (store, events, wrote) => store[kReceive](events, wrote)

/**
 * What an instance calls once it is closed while others of its file stay open: every
 * method and property of the engine throws CLOSED, as a closed engine does.
 */
function closedNative(file) {
  const closed = () => Object.assign(new Error(`The store \`${file}\` is closed`), { code: 'CLOSED', kind: 'persistent', file })
  return new Proxy(Object.create(null), {
    get() {
      return () => {
        throw closed()
      }
    },
  })
}

/**
 * An instance that collected without `close()` lets go of its engine: its watchers are
 * dropped and, if it was the last, the engine closes (committing everything).
 */
const collected = new FinalizationRegistry(({ engine, ids }) => {
  for (const id of ids) engine.unwatch(id)
  engine.detach(undefined)?.catch(() => {})
})

/** What opening found (`OpenReport` in the core), read once per engine. */
const openReports = new WeakMap()
function openReportOf(engine) {
  let report = openReports.get(engine)
  if (report === undefined) {
    report = run(engine, { op: 'openReport' })
    openReports.set(engine, report)
  }
  return report
}

/** Internal: tells an instance's `onError` listeners; false when it has none. */
const kReportError = Symbol('tad-store.reportError')

/**
 * A background failure reaches the `onError` listeners of every instance of the file;
 * with none anywhere, it becomes a process warning.
 */
function broadcastError(engine, error) {
  let heard = false
  for (const store of engine.instances()) heard = store[kReportError](error) || heard
  if (!heard) process.emitWarning(`tad-store: ${error.message}`, { code: error.code })
}

/**
 * Opens the native engine for `shared`. Outside the constructor on purpose: the engine
 * keeps these callbacks, and a closure made in the constructor would keep the instance
 * alive through its scope. They hold the shared engine weakly, so instances dropped
 * without close() can still be collected (the engine then commits and closes).
 */
function openNative(options, keyBytes, shared, serialize, deserialize) {
  const weak = new WeakRef(shared)
  try {
    return new native.NativeStore(
      // The options as JSON, read by the engine (`StoreSettings`); key bytes apart.
      JSON.stringify(options),
      keyBytes,
      // Changes found off the JS thread (the file watch); writes deliver their own.
      () => weak.deref()?.deliver(receive, false),
      (info) => {
        const engine = weak.deref()
        if (engine) broadcastError(engine, toError(info))
      },
      // The engine speaks JSON text; electron-store's options take and give objects.
      serialize && ((json) => textOf(serialize(JSON.parse(json)))),
      deserialize && ((text) => encode('', deserialize(text))),
    )
  } catch (error) {
    throw error.code ? retype(error) : Object.assign(error, { code: 'INVALID_OPTION', kind: 'persistent' })
  }
}

/**
 * conf's `events`: an `EventTarget` that dispatches `change` after every write of the
 * store and every change another program makes to its file (with `watch`). It counts its
 * listeners, so a store nobody listens to pays nothing for it.
 */
class StoreEvents extends EventTarget {
  #count = 0
  #onFirst
  #onLast
  constructor(onFirst, onLast) {
    super()
    this.#onFirst = onFirst
    this.#onLast = onLast
  }
  get listening() {
    return this.#count > 0
  }
  addEventListener(type, listener, options) {
    super.addEventListener(type, listener, options)
    if (type === 'change' && listener && this.#count++ === 0) this.#onFirst()
  }
  removeEventListener(type, listener, options) {
    super.removeEventListener(type, listener, options)
    if (type === 'change' && listener && this.#count > 0 && --this.#count === 0) this.#onLast()
  }
}

class Store {
  /** The engine's native handle; after close() (with other instances open) one that throws CLOSED. */
  #native
  /** The engine this instance shares with every other instance of its file in the process. */
  #engine
  /** Whether this instance opened the engine (and so ran its migrations). */
  #opened
  #listeners = new Map()
  /** Key feeds by id: callbacks taking `[{ path, value }]` (see `kRendererBridge`). */
  #feeds = new Map()
  #errorListeners = new Set()
  /** @type {Record<string, any>} The options as given, with electron-store's defaults. */
  #options
  /** This instance's `defaults` where they differ from those the engine was opened with. */
  #ownDefaults
  #events
  /** The key feed that wakes `change` listeners for changes made elsewhere. */
  #changeFeed
  /** Watch ids of this instance, for the collector. */
  #ids = new Set()
  #closed = false
  #readOnly

  /**
   * Opens (or creates) the store file. Throws CORRUPT_FILE for an unreadable file unless
   * `clearInvalidConfig` is set, in which case the file is moved aside, never deleted.
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw inputError('INVALID_OPTION', 'The options must be an object')
    const definedOptions = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
    this.#options = { accessPropertiesByDotNotation: true, clearInvalidConfig: false, ...definedOptions }
    // electron-store takes the app's version for migrations.
    this.#options.projectVersion ||= electronModule(this.#options.electron)?.app?.getVersion?.()
    const { serialize, deserialize } = this.#options
    for (const [name, fn] of [['serialize', serialize], ['deserialize', deserialize]]) {
      if (fn !== undefined && typeof fn !== 'function') throw inputError('INVALID_OPTION', `The \`${name}\` option must be a function`)
    }
    /** The absolute path of the store file. */
    this.path = resolveStorePath(this.#options, native)
    const defaults = this.#options.defaults
    if (defaults !== undefined && (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults))) {
      throw inputError('INVALID_OPTION', 'The `defaults` option must be an object')
    }
    const schema = rootSchemaOf(/** @type {any} */ (this.#options))
    const { sensitiveKeys, keyStore } = this.#options
    if (sensitiveKeys !== undefined && !(Array.isArray(sensitiveKeys) && sensitiveKeys.every((k) => typeof k === 'string'))) {
      throw inputError('INVALID_OPTION', 'The `sensitiveKeys` option must be an array of key patterns')
    }
    const { secretKeys, keysUnavailable } = keys.keysForOpening(this.#options, this.path)
    this.#readOnly = Boolean(this.#options.readOnly)
    // A reader never writes, so it runs no migrations: it shows the store as it is.
    const migrating = !this.#readOnly && migrate.checkMigrationOptions(/** @type {any} */ (this.#options))
    const defaultsText = defaults === undefined ? undefined : encode('defaults', defaults, { entries: true })
    const nativeOptions = {
      path: this.path,
      fileMode: fileMode(this.#options.configFileMode),
      clearInvalidConfig: Boolean(this.#options.clearInvalidConfig),
      defaultsJson: defaultsText,
      accessPropertiesByDotNotation: this.#options.accessPropertiesByDotNotation !== false,
      checkpointIdleMs: this.#options.checkpointIdleMs,
      schemaJson: schema === undefined ? undefined : JSON.stringify(schema),
      deferSettle: migrating,
      readOnly: this.#readOnly,
      // Custom formats need the JS thread to read; the watch reads JSON only.
      watch: Boolean(this.#options.watch) && !deserialize,
      ...historyOptions(this.#options.history),
      sensitiveKeys,
      keysUnavailable,
      keyStore,
      sealPlaintextSecrets: Boolean(options[kSealPlaintext]),
      encryptionAlgorithm: this.#options.encryptionAlgorithm,
      sync: syncOption(this.#options.sync),
    }
    const keyBytes = { secretKeys, encryptionKey: keys.encryptionKeyBytes(this.#options.encryptionKey) }
    const { engine, fresh } = engineFor(this.path, this.#options, signatureOf(this.#options, schema), defaultsText, (shared) => openNative(nativeOptions, keyBytes, shared, serialize, deserialize))
    this.#engine = engine
    this.#native = engine.native
    this.#opened = fresh
    engine.attach(this)
    collected.register(this, { engine, ids: this.#ids }, this)
    if (fresh) {
      if (migrating && !options[kDeferMigrations]) {
        try {
          this.#finishOpening(() => migrate.runSync(this.#pass()))
        } catch (error) {
          this.#discard()
          throw error
        }
      }
      const unavailable = openReportOf(this.#native).keysUnavailable
      if (unavailable) {
        // Said once, after the constructor returns, so an `onError` listener registered
        // right after `new Store()` hears it.
        const [code, reason] = unavailable
        const error = Object.assign(new Error(`The store opened without a data key for its sensitive values (${reason}): they stay sealed, and reading or writing one throws ${code} until a key is supplied (rotateKey(key), or open again with one)`), { code, kind: 'persistent', file: this.path })
        setImmediate(() => broadcastError(engine, error))
      }
      const { recovery } = this
      if (recovery) {
        // Never silent: the app can also read `store.recovery`.
        process.emitWarning(`tad-store: ${this.path} could not be read (${recovery.reason}); it was moved to ${recovery.quarantined} and the store ${recovery.file ? `was restored from ${recovery.file}` : 'starts from its defaults'}`, { code: 'TAD_STORE_RECOVERED' })
      }
    } else if (defaultsText !== engine.defaultsText && defaults) {
      // Another instance opened the file with other defaults: as electron-store does,
      // this one's fill in what the store lacks, and its reset()/clear() use its own.
      this.#ownDefaults = defaults
      if (!this.#readOnly) {
        const missing = Object.fromEntries(Object.entries(defaults).filter(([key, value]) => value !== undefined && !this.#native.has(key)))
        if (Object.keys(missing).length > 0) this.set(missing)
      }
    }
  }

  /** Opening failed and the engine was abandoned: it leaves the registry, unclosed. */
  #discard() {
    collected.unregister(this)
    this.#closed = true
    this.#engine.detach(this, { close: false })
  }

  /** Drops this instance from its engine without closing it for the others. */
  #letGo() {
    collected.unregister(this)
    for (const id of this.#ids) this.#engine.unwatch(id)
    this.#ids.clear()
    this.#closed = true
    this.#native = closedNative(this.path)
    return this.#engine.detach(this)
  }

  /**
   * How opening recovered from an unreadable file, or null: `{ from: 'history' | 'backup' |
   * 'defaults', file, quarantined, reason }`. The unreadable file is kept at `quarantined`.
   */
  get recovery() {
    const report = openReportOf(this.#native)
    if (!report.quarantined) return null
    return {
      from: report.recoveredFrom ?? 'defaults',
      file: report.restoredFrom ?? null,
      quarantined: report.quarantined,
      reason: report.quarantineReason,
    }
  }

  /** Runs the migration pass (inside the opening transaction), then validates and commits. */
  #finishOpening(run) {
    try {
      const result = run()
      if (result && typeof result.then === 'function') {
        // One failure path for the steps and the validation after them.
        return result.then(() => this.#settle()).catch((error) => this.#abandon(error))
      }
      this.#settle()
    } catch (error) {
      this.#abandon(error)
    }
  }

  #settle() {
    run(this.#native, { op: 'settle', allowClear: true })
    run(this.#native, { op: 'commit' })
  }

  #abandon(error) {
    run(this.#native, { op: 'abandon' })
    throw error
  }

  /** The pass from the recorded version to `projectVersion`; a new store just records it. */
  #pass(plan) {
    const { migrations, projectVersion, beforeEachMigration } = this.#options
    if (!plan && openReportOf(this.#native).fresh) {
      run(this.#native, { op: 'setInternal', key: migrate.MIGRATION_KEY }, JSON.stringify(projectVersion))
      return [][Symbol.iterator]()
    }
    return migrate.pass({
      store: this,
      native: this.#native,
      migrations,
      beforeEachMigration,
      target: plan?.to ?? projectVersion,
      plan: plan ? migrate.planBetween(migrations, plan.from, plan.to) : migrate.planPass(this.#native, migrations, projectVersion),
      name: this.#options.name ?? 'config',
    })
  }

  /**
   * Internal, for StoreManager: with no arguments, finishes opening a store made with
   * kDeferMigrations by running its (possibly asynchronous) migrations; with `{from, to}`,
   * runs the steps between two versions on the open store, all or nothing.
   */
  async [kMigrate](between) {
    if (!between) {
      // Without migrations the constructor already finished opening; an instance that
      // joined an open engine finds it migrated.
      if (this.#options.migrations && this.#opened) {
        try {
          await this.#finishOpening(() => migrate.runAsync(this.#pass()))
        } catch (error) {
          this.#discard()
          throw error
        }
        this.#wrote()
      }
      return
    }
    this.#writable()
    run(this.#native, { op: 'begin', validate: false })
    try {
      await migrate.runAsync(this.#pass(between))
      run(this.#native, { op: 'settle', allowClear: false })
    } catch (error) {
      run(this.#native, { op: 'rollback' })
      throw error
    }
    run(this.#native, { op: 'commit' })
    this.#wrote()
  }

  /** Get an item, or `defaultValue` when the key is absent. */
  get(key, defaultValue) {
    this.#assertKey(key)
    const value = this.#native.get(key)
    return value === undefined ? defaultValue : decodeRead(value)
  }

  /**
   * Set an item, or several with an object. Applied when it returns; durable in the
   * background (await `flush()` to know it is on disk).
   */
  set(key, value) {
    if (this.#readOnly) this.#writable()
    if (typeof key === 'object' && key !== null) {
      this.#native.setMany(this.#refuse(() => encode('', key, { entries: true })))
    } else {
      if (typeof key !== 'string') {
        this.#refuse(() => {
          throw inputError('INVALID_KEY', `Expected \`key\` to be of type \`string\` or \`object\`, got ${key === null ? 'null' : typeof key}`)
        })
      }
      this.#native.set(key, this.#refuse(() => encode(key, value)))
    }
    this.#wrote()
  }

  /**
   * After every write through this instance: its change callbacks (and every other
   * instance's of this file) run now, inside the call, as electron-store's do.
   */
  #wrote() {
    // Watchers, feeds and `change` listeners all count: with none, a write costs nothing more.
    if (this.#engine.listeners > 0) this.#engine.deliver(receive, true)
  }

  /** Refuses a write through an instance opened `readOnly` on a file another instance writes. */
  #writable() {
    if (!this.#readOnly) return
    this.#refuse(() => {
      throw Object.assign(new Error(`The store \`${this.path}\` was opened read-only`), { code: 'READ_ONLY', kind: 'persistent', file: this.path })
    })
  }

  has(key) {
    this.#assertKey(key)
    return this.#native.has(key)
  }

  /** Append an item to the array at `key`, creating the array when absent. */
  appendToArray(key, value) {
    this.#assertKey(key)
    this.#writable()
    this.#native.appendToArray(key, this.#refuse(() => encode(key, value, { item: true })))
    this.#wrote()
  }

  delete(key) {
    this.#assertKey(key)
    this.#writable()
    this.#native.delete(key)
    this.#wrote()
  }

  /** Reset items to their `defaults` values. A key without a default is left alone. */
  reset(...keys) {
    for (const key of keys) this.#assertKey(key)
    this.#writable()
    const own = this.#ownDefaults && Object.fromEntries(keys.filter((key) => Object.hasOwn(this.#ownDefaults, key)).map((key) => [key, this.#ownDefaults[key]]))
    if (own && Object.keys(own).length > 0) this.#native.setMany(encode('', own))
    run(this.#native, { op: 'reset', keys: own ? keys.filter((key) => !Object.hasOwn(own, key)) : keys })
    this.#wrote()
  }

  /** Delete all items; keys with a default get it back. */
  clear() {
    this.#writable()
    if (this.#ownDefaults) run(this.#native, { op: 'replace' }, encode('', this.#ownDefaults))
    else run(this.#native, { op: 'clear' })
    this.#wrote()
  }

  /** Number of items (top-level keys). */
  get size() {
    return run(this.#native, { op: 'size' })
  }

  /**
   * All items as one object (a fresh copy). Its top level has no prototype, as conf's
   * (a key named `toString` is an item, not a method); values below are plain objects.
   */
  get store() {
    return Object.setPrototypeOf(run(this.#native, { op: 'storeJson' }), null)
  }

  set store(value) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw inputError('INVALID_VALUE', 'The store must be set to an object')
    }
    this.#writable()
    run(this.#native, { op: 'replace' }, this.#refuse(() => encode('', value)))
    this.#wrote()
  }

  *[Symbol.iterator]() {
    yield* Object.entries(this.store)
  }

  /**
   * Watch `key`; `callback(newValue, oldValue)` runs inside the call that changed it
   * (through this instance or any other of the file), once per call, as electron-store's
   * does; a change another program makes (`watch`) is reported as soon as it is seen.
   * No call when the value ends where it started. Returns an unsubscribe function.
   */
  onDidChange(key, callback) {
    this.#assertKey(key)
    assertCallback(callback)
    return this.#subscribe(run(this.#native, { op: 'watch', key }), (newValue, oldValue) => callback.call(this, newValue, oldValue))
  }

  /** Watch the whole store. Returns an unsubscribe function. */
  onDidAnyChange(callback) {
    assertCallback(callback)
    // conf gives the whole store as `.store` does: a top level without a prototype.
    const wholeStore = (newValue, oldValue) => callback.call(this, newValue && Object.setPrototypeOf(newValue, null), oldValue && Object.setPrototypeOf(oldValue, null))
    return this.#subscribe(run(this.#native, { op: 'watch' }), wholeStore)
  }

  /**
   * conf's `events`: an `EventTarget` that dispatches `change` after every write (through
   * any instance of this file) and every change another program makes to it (`watch`).
   */
  get events() {
    this.#events ??= new StoreEvents(
      () => {
        // Changes made elsewhere reach this instance through a key feed of its own.
        this.#changeFeed = run(this.#native, { op: 'follow' })
        this.#watched(this.#changeFeed)
      },
      () => {
        this.#unwatched(this.#changeFeed)
        this.#changeFeed = undefined
      },
    )
    return this.#events
  }

  /**
   * electron-store's: opens the store file in the user's editor (Electron's
   * `shell.openPath`), once the file holds every change made so far. Resolves when the
   * editor was launched; rejects with the reason it could not be.
   */
  async openInEditor() {
    const shell = electronModule(this.#options.electron)?.shell
    if (typeof shell?.openPath !== 'function') {
      throw inputError('INVALID_OPTION', 'openInEditor() needs Electron\'s `shell` (outside Electron, pass the `electron` option)')
    }
    await settled(runTask(this.#native, { op: 'writeFile' }))
    const failure = await shell.openPath(this.path)
    if (failure) throw Object.assign(new Error(failure), { code: 'IO', kind: 'persistent', file: this.path })
  }

  /**
   * electron-store's, for apps that call it in the main process: its renderer side reads
   * the store through IPC of its own. Renderers reach tad-store through
   * `registerStoreIpc` and `window.storeAPI`, so there is nothing more to set up.
   */
  static initRenderer() {}

  /** Failures that happen in the background (a commit that could not reach the disk). */
  onError(callback) {
    assertCallback(callback)
    this.#errorListeners.add(callback)
    return () => this.#errorListeners.delete(callback)
  }

  /** Resolves once every change made so far is durable; rejects with the I/O error. */
  async flush() {
    await settled(runTask(this.#native, { op: 'flush' }))
  }

  /**
   * Commits everything, writes the final snapshot and delivers pending change events.
   * Durable when it resolves. Later writes throw CLOSED.
   */
  async close() {
    if (this.#closed) return
    // The last instance closes the engine; an earlier one only makes sure that what it
    // wrote is durable, and leaves the others working.
    const flushed = this.#engine.refs > 1 ? runTask(this.#native, { op: 'flush' }) : undefined
    const closing = this.#letGo()
    await settled(closing ?? flushed)
  }

  /**
   * Every recorded state, newest first: `[{ timestamp, size, hash, kind }]`, where `kind`
   * is `diff` (one per snapshot written) or `backup` (a full copy made before migrations).
   */
  listHistory() {
    return run(this.#native, { op: 'listHistory' })
  }

  /**
   * Puts the store back as it was at `timestamp` (an ISO string or a Date from
   * `listHistory()`). The current state is recorded first and the rollback is itself a
   * change, so it can be undone. The chain of hashes is checked on the way; the result
   * is validated against the schema. Change events fire for every key that differs.
   * Throws HISTORY_NOT_FOUND or HISTORY_CORRUPT, changing nothing.
   */
  async rollbackToTimestamp(timestamp) {
    const text = await this.#recordedText(timestamp)
    const { deserialize } = this.#options
    this.#writable()
    run(this.#native, { op: 'restore' }, deserialize ? encode('', deserialize(text)) : text)
    this.#wrote()
  }

  /**
   * The store as it was recorded at `timestamp` (from `listHistory()`), without changing
   * anything: the chain of hashes is checked on the way. Sensitive values stay sealed.
   */
  async stateAt(timestamp) {
    const text = await this.#recordedText(timestamp)
    const { deserialize } = this.#options
    const state = deserialize ? deserialize(text) : JSON.parse(text)
    delete state.__internal__
    return state
  }

  /** The file's text as recorded at `timestamp`, rebuilt and hash-checked by the committer. */
  async #recordedText(timestamp) {
    const ts = timestamp instanceof Date ? timestamp.toISOString() : timestamp
    if (typeof ts !== 'string') throw inputError('INVALID_ARGUMENT', `Expected an ISO timestamp, got ${typeof timestamp}`)
    return settled(runTask(this.#native, { op: 'stateAt', timestamp: ts }))
  }

  /** Checks the whole history chain: `{ ok, entries, verified, brokenAt, reason }`. */
  async verifyHistory() {
    return JSON.parse(await settled(runTask(this.#native, { op: 'verifyHistory' })))
  }

  /**
   * What the store has been doing: `{ operations, errors, snapshotBytes, journalBytes,
   * fsyncCount, fsyncP50Micros, fsyncP99Micros, checkpoints, lastCheckpoint,
   * historyEntries, historyBytes, rendererSubscriptions, rendererAuditDropped }`. Counts
   * are since this store was opened; `errors` is by code, thrown or reported to `onError`.
   */
  stats() {
    return { ...run(this.#native, { op: 'stats' }), ...rendererStats(this) }
  }

  /** Refuses a key that is not a string, counting the error (no closure on the hot path). */
  #assertKey(key) {
    if (typeof key !== 'string') this.#refuse(() => assertKey(key))
  }

  /** Runs a check of the caller's input; an error it throws is counted, then thrown. */
  #refuse(check) {
    try {
      return check()
    } catch (error) {
      if (error?.code) run(this.#native, { op: 'noteError', code: error.code })
      throw error
    }
  }

  /** The sensitive-key patterns in force: the `sensitiveKeys` option's and the schema's `x-sensitive` ones. */
  get sensitiveKeys() {
    return run(this.#native, { op: 'sensitiveKeys' })
  }

  /**
   * Re-encrypts every sensitive value under a new data key. With keys the store keeps
   * (the keyring, a key file) a new key is made there; with app-supplied keys pass the
   * new one, and supply `[newKey, oldKey]` until this resolves. Crash-safe: the old key
   * stays readable until everything is durable under the new one.
   */
  async rotateKey(newKey) {
    const bytes = newKey === undefined ? undefined : keys.suppliedKeys({ secretKey: newKey })[0]
    await settled(this.#native.rotateKey(bytes))
  }

  /**
   * Moves a store to per-field encryption, in one call: a store electron-store wrote
   * with `encryptionKey` (pass the same `encryptionKey`, and `encryptionAlgorithm` if
   * it was not CBC) is decrypted and rewritten as JSON, and sensitive values found in
   * plaintext are sealed with the store's data key. Earlier states on disk that held
   * plaintext secrets (the history, migration backups) are removed or sealed. Open the
   * store afterwards without `encryptionKey`. Resolves to `{ sealed, decrypted, backup }`.
   */
  static async migrateToFieldEncryption(options = {}) {
    const { encryptionKey } = options
    const store = new Store({ ...options, watch: false, [kSealPlaintext]: true })
    const { sealed } = store.openReport
    let backup = null
    try {
      if (encryptionKey !== undefined && encryptionKey !== null) {
        backup = keepEncryptedCopy(store.path)
        run(store.#native, { op: 'dropFileCipher' })
      }
    } finally {
      await store.close()
    }
    return { sealed, decrypted: Boolean(encryptionKey), backup }
  }

  /**
   * The sync across devices (the `sync` option), as this device sees it: `{ device,
   * directory, folder, keys, reachable, devices: [{ directory, device, thisDevice,
   * lastChange }], pendingOut, pendingIn, conflicts: [{ key, message, since }], lastScan,
   * lastError }`. `null` for a store that does not sync, or before its first look at the
   * folder (just after opening).
   */
  syncStatus() {
    return run(this.#native, { op: 'syncStatus' })
  }

  /** Looks at the sync folder now (after a reconnect, say) instead of at the next interval. */
  syncNow() {
    run(this.#native, { op: 'syncNow' })
  }

  /** What opening the file found: a file moved aside, journal records replayed. */
  get openReport() {
    return openReportOf(this.#native)
  }

  #subscribe(id, callback) {
    this.#listeners.set(id, callback)
    this.#watched(id)
    return () => {
      if (this.#listeners.delete(id)) this.#unwatched(id)
    }
  }

  #watched(id) {
    this.#ids.add(id)
    this.#engine.watch(this, id)
  }

  #unwatched(id) {
    if (!this.#ids.delete(id)) return
    this.#engine.unwatch(id)
  }

  /** This instance's share of a delivery (see js/shared.js): callbacks, feeds, `change`. */
  [kReceive](events, wrote) {
    let fed
    for (const change of events) {
      if (change.path) {
        if (change.watchId === this.#changeFeed) continue
        fed ??= new Map()
        if (!fed.has(change.watchId)) fed.set(change.watchId, [])
        fed.get(change.watchId).push({ path: change.path, value: change.newValue })
        continue
      }
      const callback = this.#listeners.get(change.watchId)
      if (!callback) continue
      try {
        callback(change.newValue, change.oldValue)
      } catch (error) {
        // One failing listener must not starve the others; its error still surfaces.
        rethrowAsync(error)
      }
    }
    for (const [id, changes] of fed ?? []) {
      try {
        this.#feeds.get(id)?.(changes)
      } catch (error) {
        rethrowAsync(error)
      }
    }
    if (this.#events?.listening && (wrote || events.length > 0)) this.#events.dispatchEvent(new Event('change'))
  }

  /**
   * For the renderer bridge. `follow(callback)` starts a key feed: `callback([{ path,
   * value }])` once per delivery, with the paths every change touched (arrays of
   * segments) and their values now (`undefined` when deleted), never the old values or
   * the whole store, so following everything costs what changed. Returns a stop
   * function.
   */
  get [kRendererBridge]() {
    return {
      follow: (callback) => {
        const id = run(this.#native, { op: 'follow' })
        this.#feeds.set(id, callback)
        this.#watched(id)
        return () => {
          if (this.#feeds.delete(id)) this.#unwatched(id)
        }
      },
      /** The store's sensitive patterns as segments, `null` for `*`. */
      sensitivePatterns: run(this.#native, { op: 'sensitivePatterns' }),
      /** Without dot notation every key is one top-level property. */
      literalKeys: this.#options.accessPropertiesByDotNotation === false,
      reportError: (error) => {
        if (error?.code && !this.#closed) run(this.#native, { op: 'noteError', code: error.code })
        if (!this[kReportError](error)) process.emitWarning(`tad-store: ${error.message}`, { code: error.code })
      },
    }
  }

  /** Tells this instance's `onError` listeners; false when it has none. */
  [kReportError](error) {
    if (this.#errorListeners.size === 0) return false
    for (const listener of this.#errorListeners) {
      try {
        listener(error)
      } catch (listenerError) {
        rethrowAsync(listenerError)
      }
    }
    return true
  }
}

module.exports = { Store, kDeferMigrations, kMigrate, kRendererBridge }
