'use strict'
// One engine per store file per process. electron-store lets an app create `new Store()`
// for the same file in several modules (main, menu, updater); here they all share one
// native engine, so a write through one is seen at once by all, and each instance's
// listeners hear every change. The engine closes when its last instance closes (or is
// collected without closing).
const { inputError } = require('./errors')
const { run, runTask } = require('./native')

/** Writer engines by resolved path. Weak: an engine whose instances were all collected goes. */
const writers = new Map()

/**
 * The options instances of one file must agree on to share its engine, as comparable
 * text: each decides what the engine does with every write or how it reads the file.
 */
function signatureOf(options, rootSchema) {
  const text = (fn) => (typeof fn === 'function' ? fn.toString() : undefined)
  const migrations = options.migrations && Object.entries(options.migrations).map(([version, step]) => [version, text(step)])
  const key = options.encryptionKey
  return {
    schema: rootSchema === undefined ? undefined : JSON.stringify(rootSchema),
    migrations: migrations && JSON.stringify(migrations),
    projectVersion: options.migrations ? options.projectVersion : undefined,
    beforeEachMigration: text(options.beforeEachMigration),
    serialize: text(options.serialize),
    deserialize: text(options.deserialize),
    encryptionKey: key === undefined || key === null ? undefined : Buffer.from(key).toString('hex'),
    encryptionAlgorithm: options.encryptionAlgorithm,
    sensitiveKeys: options.sensitiveKeys && JSON.stringify([...options.sensitiveKeys].sort()),
    keyStore: options.keyStore,
    accessPropertiesByDotNotation: options.accessPropertiesByDotNotation !== false,
    history: JSON.stringify(options.history ?? true),
    configFileMode: options.configFileMode === undefined ? undefined : String(options.configFileMode),
    sync: options.sync ? JSON.stringify(options.sync) : undefined,
  }
}

/** The first option two signatures disagree on, or undefined. */
function conflictOf(a, b) {
  return Object.keys(a).find((name) => a[name] !== b[name])
}

/**
 * A native engine and the `Store` instances that share it. Events are taken from the
 * engine once and handed to the instance that owns each watcher.
 */
class SharedEngine {
  /** Instances attached and not closed. */
  refs = 0
  /** watch id -> WeakRef of the instance that owns it. */
  owners = new Map()
  /** Instances, weakly, for `change` events and `onError`. */
  members = new Set()
  /** Watchers, feeds and `change` listeners over every instance: worth taking events for. */
  listeners = 0

  constructor(path, signature, defaultsText) {
    this.path = path
    this.signature = signature
    this.defaultsText = defaultsText
    this.native = undefined
    this.closing = undefined
  }

  attach(store) {
    this.refs += 1
    this.members.add(new WeakRef(store))
  }

  /**
   * An instance closed or was collected; resolves once the engine is closed if it was
   * the last. `close: false` when opening failed and the engine was abandoned (it has
   * nothing left to close).
   */
  detach(store, { close = true } = {}) {
    this.refs -= 1
    // The last instance stays a member: a failure of the final commit still reaches it.
    if (this.refs > 0) {
      for (const ref of this.members) if (ref.deref() === store || ref.deref() === undefined) this.members.delete(ref)
      return undefined
    }
    if (writers.get(this.path)?.deref() === this) writers.delete(this.path)
    return close ? runTask(this.native, { op: 'close' }) : undefined
  }

  watch(store, id) {
    this.owners.set(id, new WeakRef(store))
    this.listeners += 1
  }

  unwatch(id) {
    if (!this.owners.delete(id)) return
    this.listeners -= 1
    run(this.native, { op: 'unwatch', id })
  }

  /** The instances still attached. */
  *instances() {
    for (const ref of this.members) {
      const store = ref.deref()
      if (store) yield store
      else this.members.delete(ref)
    }
  }

  /**
   * Takes the engine's pending changes and hands each to the instance that watches it;
   * `wrote` says a write just went through (every instance's `change` event fires).
   * Called right after every write, and when the engine reports changes made elsewhere.
   */
  deliver(receive, wrote) {
    // One JSON text for the whole batch, values included (see the core's `Text`).
    const batch = this.listeners > 0 ? this.native.takeEvents() : null
    const events = batch == null ? [] : JSON.parse(batch)
    if (events.length === 0 && !wrote) return
    const byOwner = new Map()
    for (const event of events) {
      const owner = this.owners.get(event.watchId)?.deref()
      if (!owner) continue
      if (!byOwner.has(owner)) byOwner.set(owner, [])
      byOwner.get(owner).push(event)
    }
    for (const store of this.instances()) receive(store, byOwner.get(store) ?? [])
  }
}

/**
 * The engine an instance with these options uses: the open writer engine of the file
 * when there is one (its options must agree; a reader with other options gets one of its
 * own), else a new one made by `open(shared)`, registered if it is a writer.
 */
function engineFor(path, options, signature, defaultsText, open) {
  const existing = writers.get(path)?.deref()
  if (existing && existing.refs > 0) {
    const conflict = conflictOf(existing.signature, signature)
    if (!conflict) {
      // `watch` is wanted by one, served to all: the engine follows the file from the
      // first instance that asks (custom formats are read on the JS thread, not watched).
      if (options.watch && !options.deserialize) run(existing.native, { op: 'watchFile' })
      return { engine: existing, fresh: false }
    }
    if (!options.readOnly) {
      throw inputError('INVALID_OPTION', `A Store for \`${path}\` is already open in this process with another \`${conflict}\` option; instances of one file share one engine, so their \`${conflict}\` must agree`)
    }
  }
  const engine = new SharedEngine(path, signature, defaultsText)
  engine.native = open(engine)
  if (!options.readOnly) writers.set(path, new WeakRef(engine))
  return { engine, fresh: true }
}

module.exports = { engineFor, signatureOf }
