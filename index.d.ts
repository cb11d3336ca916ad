// Types for tad-store: electron-store's API, typed by the shape of your store.
//
//   import Store = require('tad-store')   // or: import Store from 'tad-store'
//   const store = new Store<{ settings: { theme: 'light' | 'dark' } }>()
//   store.get('settings.theme')           // 'light' | 'dark' | undefined
//   store.set('settings.theme', 'blue')   // compile error

type Depth = [never, 0, 1, 2, 3, 4, 5, 6, 7]

type IsPlainObject<V> = V extends readonly unknown[] ? false : V extends (...args: never[]) => unknown ? false : V extends object ? true : false

/** Every dot-notation key of `T`, to a depth of 8: `'settings' | 'settings.theme' | …`. */
type DotPath<T, D extends number = 8> = [D] extends [never]
  ? never
  : string extends keyof T
    ? string
    : {
        [K in keyof T & string]: K | (IsPlainObject<NonNullable<T[K]>> extends true ? `${K}.${DotPath<NonNullable<T[K]>, Depth[D]>}` : never)
      }[keyof T & string]

/** The type of the value at dot-notation key `P` of `T`. */
type DotValue<T, P extends string> = string extends keyof T
  ? T[string]
  : P extends keyof T
    ? T[P]
    : P extends `${infer Head}.${infer Rest}`
      ? Head extends keyof T
        ? DotValue<NonNullable<T[Head]>, Rest>
        : never
      : never

/** A JSON value as the store keeps it. A `Date` is accepted and stored as its ISO string. */
type StoreValue = string | number | boolean | null | Date | readonly StoreValue[] | { readonly [key: string]: StoreValue | undefined }

/** A 256-bit data key: 32 bytes, or their base64 or hex text. */
type DataKey = Uint8Array | string

/** Stable error codes, on every error's `.code`. */
type ErrorCode =
  | 'INVALID_KEY'
  | 'INVALID_VALUE'
  | 'INVALID_OPTION'
  | 'INVALID_ARGUMENT'
  | 'SERIALIZE_FAILED'
  | 'SCHEMA_VIOLATION'
  | 'HISTORY_NOT_FOUND'
  | 'HISTORY_CORRUPT'
  | 'MIGRATION_FAILED'
  | 'TYPE_CONFLICT'
  | 'CORRUPT_FILE'
  | 'DISK_FULL'
  | 'PERMISSION_DENIED'
  | 'IO'
  | 'CLOSED'
  | 'LOCKED'
  | 'READ_ONLY'
  | 'EXTERNAL_EDIT_REFUSED'
  | 'NOT_INITIALIZED'
  | 'NATIVE_MISSING'
  | 'SECRET_TAMPERED'
  | 'SECRET_NOT_ENCRYPTED'
  | 'DECRYPT_FAILED'
  | 'KEY_NOT_FOUND'
  | 'KEYRING_UNAVAILABLE'
  | 'ENCRYPT_FAILED'
  | 'KEY_GENERATION_FAILED'
  | 'NOT_A_FILE'
  | 'ACCESS_DENIED'
  | 'LIMIT_EXCEEDED'
  | 'AUDIT_DROPPED'
  | 'SYNC_CONFLICT'
  | 'DIRECTORY_REMOVED'

/** Every error tad-store throws or rejects with. */
interface StoreError extends Error {
  code: ErrorCode
  /** `transient`: retrying may work. `persistent`: it will not until something changes. `critical`: the store cannot go on safely. */
  kind: 'transient' | 'persistent' | 'critical'
  /** The key involved, when there is one. */
  key?: string
  /** The file involved, when there is one. */
  file?: string
  /** `SYNC_CONFLICT`: the synced subtrees whose merged state was held back. */
  keys?: string[]
  /** For SCHEMA_VIOLATION: every violation. */
  errors?: Array<{ key: string; instancePath: string; keyword: string; message: string }>
  /** For MIGRATION_FAILED: the version whose step failed, and the backup written before the pass. */
  version?: string
  backup?: string
}

interface Options<T extends Record<string, any>> {
  /** File name without extension. @default 'config' */
  name?: string
  /** Directory of the file; relative paths resolve against the default directory. @default Electron's `userData`, else `<OS config dir>/<projectName>` */
  cwd?: string
  /** @default 'json' */
  fileExtension?: string
  /** Values for keys the store does not hold; restored by `reset()` and `clear()`. */
  defaults?: Readonly<Partial<T>>
  /** Treat `a.b` as a path. @default true */
  accessPropertiesByDotNotation?: boolean
  /** Move an unreadable file aside (`config.json.corrupt-<time>`) and start from defaults, instead of throwing CORRUPT_FILE. @default false */
  clearInvalidConfig?: boolean
  /** Permission bits for created files, e.g. `0o644`. @default 0o600 minus the umask */
  configFileMode?: number
  /** Project name for the default directory outside Electron. @default 'tad-electron' */
  projectName?: string
  /** Appended to `projectName` (`<projectName>-<projectSuffix>`) for the default directory outside Electron, as conf's option. @default none (conf: 'nodejs') */
  projectSuffix?: string
  /** Follow edits other programs make to the file: valid ones apply with change events; broken or invalid ones are moved aside and reported (EXTERNAL_EDIT_REFUSED on onError). @default false */
  watch?: boolean
  /** Turns the whole store into the file's text. Runs whenever the file is rewritten (not on every set). @default value => JSON.stringify(value, undefined, '\t') */
  serialize?: (value: T) => string
  /** Turns the file's text into the store. Runs when the store opens. @default JSON.parse */
  deserialize?: (text: string) => T
  /** conf's `schema`: JSON Schema for each top-level key. Every write is validated before it is applied. */
  schema?: { [K in keyof T]?: Record<string, unknown> | boolean } & Record<string, Record<string, unknown> | boolean>
  /** conf's `rootSchema`: the rest of the root schema (`$defs`, `additionalProperties`, `$schema`…), without `properties`. */
  rootSchema?: Record<string, unknown>
  /** Migration steps keyed by version or range (`'2.0.0'`, `'>=3.0.0 <4.0.0'`), run in version order up to `projectVersion`, all or nothing. */
  migrations?: Record<string, (store: Store<T>) => unknown>
  /** The app's version; required with `migrations`. @default app.getVersion() inside Electron */
  projectVersion?: string
  /** Called before each migration step. */
  beforeEachMigration?: (store: Store<T>, context: { fromVersion: string; toVersion: string; finalVersion: string; versions: string[] }) => unknown
  /** Open without the writer's lock, to read a store another process (or Store) holds: writes throw READ_ONLY, nothing is ever written, migrations do not run. @default false */
  readOnly?: boolean
  /** Keep a reverse diff of every snapshot in `storeHistory/` for `rollbackToTimestamp`, within these limits; `false` keeps none. @default { maxEntries: 500, maxAgeDays: 30, maxBytes: 64 MiB } */
  history?: false | { maxEntries?: number; maxAgeDays?: number; maxBytes?: number }
  /** Fold the journal into the file after this many ms without writes. @default 500 */
  checkpointIdleMs?: number
  /** Electron's module, injected (tests, or a custom loader). @default require('electron') inside Electron */
  electron?: { app?: { getPath(name: 'userData'): string } }
  /** Key patterns (`ai.credentials.apiKey`, `workspaces.*.token`) whose values are sealed at rest; the schema's `"x-sensitive": true` adds more. */
  sensitiveKeys?: readonly string[]
  /** The data key of sensitive values, supplied by the app: 32 bytes, or their base64 or hex. A list is `[current, ...older]` (during a rotation). */
  secretKey?: DataKey | readonly DataKey[]
  /** Returns the data key when the store opens, e.g. `safeStorageKeyProvider(...)`. Synchronous. */
  keyProvider?: (store: { name: string; path: string }) => DataKey | readonly DataKey[]
  /** Where the store keeps its data key when the app supplies none: the OS keyring (default), or, opted into, a key file beside the store (mode 0600). */
  keyStore?: 'keyring' | 'file'
  /**
   * Sync these subtrees with the user's other devices through a folder a sync service
   * replicates (Dropbox, iCloud Drive, OneDrive, Syncthing, a share). Sensitive keys and
   * everything outside `keys` never leave the device. Off by default.
   */
  sync?: SyncOption
  /** electron-store's whole-file encryption, kept for compatibility (see `migrateToFieldEncryption`). */
  encryptionKey?: string | Uint8Array | DataView
  /** electron-store's algorithm for `encryptionKey`. Default `aes-256-cbc`. */
  encryptionAlgorithm?: 'aes-256-cbc' | 'aes-256-gcm' | 'aes-256-ctr'
}

/** One recorded state, from `listHistory()`. */
interface HistoryEntry {
  /** When it was recorded, ISO 8601 (`2026-09-01T18:56:56.765Z`): what `rollbackToTimestamp` takes. */
  timestamp: string
  /** Bytes on disk. */
  size: number
  /** BLAKE3 hash (hex) of the store file as it was then. */
  hash: string
  /** `diff`: recorded when the file was written. `backup`: a full copy made before migrations. */
  kind: 'diff' | 'backup'
}

/** From `verifyHistory()`. */
interface HistoryReport {
  /** The whole chain verifies from the current state. */
  ok: boolean
  entries: number
  verified: number
  /** The entry where the chain ends early, and why. */
  brokenAt?: string | null
  reason?: string | null
}

interface OpenReport {
  /** Where an unreadable file was moved, with `clearInvalidConfig`. */
  quarantined?: string
  quarantineReason?: string
  /** The backup an unreadable file was restored from. */
  restoredFrom?: string
  /** Which rung restored it: `history` (the previous snapshot) or `backup`. */
  recoveredFrom?: 'history' | 'backup'
  /** There was no store file: a new store. */
  fresh: boolean
  /** Journal records replayed on open (after a crash). */
  replayed: number
  /** Bytes of a torn journal tail dropped on open. */
  tornBytes: number
  /** Temporary files of an interrupted write removed on open. */
  staleTemps: number
  /** Sensitive values found in plaintext and sealed at open (`migrateToFieldEncryption`). */
  sealed: string[]
}

/** The `sync` option. */
interface SyncOption {
  /** An absolute path: the folder a sync service replicates. The store's files go in `<folder>/<store name>/<device>-<id>/`. */
  folder: string
  /** Key patterns of the subtrees that sync (`settings`, `workspaces.*.name`). */
  keys: readonly string[]
  /** This machine's name. Default: the host name. */
  device?: string
  /** How often the folder is looked at besides its watch, in ms. Default 2000. */
  scanIntervalMs?: number
}

/** `store.syncStatus()`. */
interface SyncStatus {
  device: string
  /** This device's directory in the folder. */
  directory: string
  /** `<sync.folder>/<store name>`. */
  folder: string
  keys: string[]
  /** The folder could be listed at the last look (offline or unmounted when false). */
  reachable: boolean
  devices: { directory: string; device: string; thisDevice: boolean; lastChange: string | null }[]
  /** Changes made here not in the folder yet. */
  pendingOut: number
  /** Changes that arrived but wait for changes they depend on. */
  pendingIn: number
  /** Subtrees whose merged state fails the schema: this device keeps its last valid state there. */
  conflicts: { key: string; message: string; since: string }[]
  lastScan: string | null
  lastError: [code: string, message: string] | null
}

/** `store.stats()`: what a store has been doing since it was opened. */
interface StoreStats {
  /** Calls by operation: get, has, set, delete, append, reset, clear, replace, rollback, flush. */
  operations: Record<'get' | 'has' | 'set' | 'delete' | 'append' | 'reset' | 'clear' | 'replace' | 'rollback' | 'flush', number>
  /** Errors thrown or reported to `onError`, by code. */
  errors: Partial<Record<ErrorCode | string, number>>
  snapshotBytes: number
  journalBytes: number
  fsyncCount: number
  /** Over the latest 4096 fsyncs; null before the first. */
  fsyncP50Micros: number | null
  fsyncP99Micros: number | null
  checkpoints: number
  /** ISO-8601 time of the last snapshot this store wrote, or null. */
  lastCheckpoint: string | null
  /** History diffs and migration backups on disk. */
  historyEntries: number
  historyBytes: number
  /** (window, document, key) subscriptions over every renderer bridge. */
  rendererSubscriptions: number
  /** Audit lines renderer bridges dropped because their audit queue was full. */
  rendererAuditDropped: number
}

type Unsubscribe = () => void

declare class Store<T extends Record<string, any> = Record<string, unknown>> implements Iterable<[keyof T & string, T[keyof T]]> {
  /** Opens or creates the store file. Throws CORRUPT_FILE for an unreadable file unless `clearInvalidConfig`. */
  constructor(options?: Options<T>)
  /** Absolute path of the store file. */
  readonly path: string
  /** Number of top-level items. */
  readonly size: number
  /** All items (a fresh copy); assigning replaces them all. */
  store: T
  /** What opening found: a file moved aside, journal records replayed. */
  readonly openReport: OpenReport
  /** How opening recovered from an unreadable file (restored from a backup, or defaults), or null. The bad file is kept at `quarantined`. */
  readonly recovery: { from: 'history' | 'backup' | 'defaults'; file: string | null; quarantined: string; reason: string } | null

  /** The value at `key`, or `undefined`. */
  get<K extends DotPath<T>>(key: K): DotValue<T, K> | undefined
  /** The value at `key`, or `defaultValue` when absent. */
  get<K extends DotPath<T>>(key: K, defaultValue: NonNullable<DotValue<T, K>>): NonNullable<DotValue<T, K>>
  /** Applied when it returns; durable in the background (`await flush()`). */
  set<K extends DotPath<T>>(key: K, value: DotValue<T, K>): void
  /** Sets several items as one change. */
  set(object: Partial<T>): void
  has(key: DotPath<T>): boolean
  /** Appends to the array at `key`, creating it when absent. */
  appendToArray<K extends DotPath<T>>(key: K, value: NonNullable<DotValue<T, K>> extends readonly (infer I)[] ? I : never): void
  delete(key: DotPath<T>): void
  /** Restores keys to their `defaults`; a key without a default is left alone. */
  reset(...keys: Array<DotPath<T>>): void
  /** Deletes every item; keys with a default get it back. */
  clear(): void
  /**
   * `callback(newValue, oldValue)` when `key` changes: inside the call that changed it
   * (through any instance of this file), once per call, as electron-store calls it.
   */
  onDidChange<K extends DotPath<T>>(key: K, callback: (newValue: DotValue<T, K> | undefined, oldValue: DotValue<T, K> | undefined) => void): Unsubscribe
  /** `callback(newStore, oldStore)` after any change, inside the call that made it. */
  onDidAnyChange(callback: (newValue: T, oldValue: T) => void): Unsubscribe
  /** conf's `events`: dispatches `change` after every write (through any instance of this file) and every change `watch` sees. */
  readonly events: EventTarget
  /** Failures that happen in the background, such as a commit that cannot reach the disk. */
  onError(callback: (error: StoreError) => void): Unsubscribe
  /** Resolves once every change made so far is durable; rejects with the I/O error. */
  flush(): Promise<void>
  /**
   * Durable when it resolves; afterwards every call of this instance throws CLOSED. The
   * last instance of a file closes its engine; earlier ones leave the others working.
   */
  close(): Promise<void>
  /** Every recorded state, newest first: history diffs and migration backups. */
  listHistory(): HistoryEntry[]
  /**
   * Puts the store back as it was at `timestamp`: checks the chain of hashes, validates the
   * result, commits it as one change (recorded, so it can be undone) and fires change events
   * for every key that differs. Rejects with HISTORY_NOT_FOUND or HISTORY_CORRUPT, changing nothing.
   */
  rollbackToTimestamp(timestamp: string | Date): Promise<void>
  /** Checks every history entry from the current state back. */
  verifyHistory(): Promise<HistoryReport>
  /** What the store has been doing: counts, sizes, fsync latency, checkpoints, history. */
  stats(): StoreStats
  /** Sync across devices as this device sees it; `null` without `sync`, or before the first look at the folder. */
  syncStatus(): SyncStatus | null
  /** Looks at the sync folder now instead of at the next interval. */
  syncNow(): void
  /** The store as recorded at `timestamp`, without changing anything (sealed values stay sealed). */
  stateAt(timestamp: string | Date): Promise<Partial<T>>
  /** The sensitive-key patterns in force: `sensitiveKeys` and the schema's `x-sensitive`. */
  readonly sensitiveKeys: string[]
  /**
   * Re-encrypts every sensitive value under a new data key, crash-safely. Pass the new key
   * when the app supplies keys; without one, the store makes one in its key store.
   */
  rotateKey(newKey?: DataKey): Promise<void>
  /**
   * Moves a store to per-field encryption: decrypts an electron-store `encryptionKey` file
   * and rewrites it as JSON, sealing sensitive values found in plaintext. Open it afterwards
   * without `encryptionKey`.
   */
  /** electron-store's: nothing to set up here (renderers use `registerStoreIpc` and `window.storeAPI`). */
  static initRenderer(): void
  /** electron-store's: opens the file in the user's editor (Electron's `shell.openPath`) once it holds every change. */
  openInEditor(): Promise<void>
  static migrateToFieldEncryption<T extends Record<string, any>>(options: Options<T>): Promise<{ sealed: string[]; decrypted: boolean; backup: string | null }>
  [Symbol.iterator](): IterableIterator<[keyof T & string, T[keyof T]]>
}

/** The seed app's API: one instance per store file, `set` resolving once durable. */
declare class StoreManager<T extends Record<string, any> = Record<string, unknown>> {
  /** Returns the manager already made for the same file, if there is one. */
  constructor(options?: Options<T>)
  readonly path: string
  /** The underlying Store; throws NOT_INITIALIZED before `initialize()`. */
  readonly store: Store<T>
  /** Opens the store, awaiting asynchronous migrations. */
  initialize(): Promise<this>
  /** Runs the migration steps for versions after `fromVersion` up to `toVersion`, awaiting each, all or nothing. */
  migrateData(fromVersion: string, toVersion: string): Promise<void>
  get<K extends DotPath<T>>(key: K): DotValue<T, K> | undefined
  get<K extends DotPath<T>>(key: K, defaultValue: NonNullable<DotValue<T, K>>): NonNullable<DotValue<T, K>>
  /** Resolves once the value is durable on disk. */
  set<K extends DotPath<T>>(key: K, value: DotValue<T, K>): Promise<void>
  /** Resolves once the deletion is durable on disk. */
  delete(key: DotPath<T>): Promise<void>
  has(key: DotPath<T>): boolean
  onDidChange<K extends DotPath<T>>(key: K, callback: (newValue: DotValue<T, K> | undefined, oldValue: DotValue<T, K> | undefined) => void): Unsubscribe
  onDidAnyChange(callback: (newValue: T, oldValue: T) => void): Unsubscribe
  flush(): Promise<void>
  close(): Promise<void>
  listHistory(): HistoryEntry[]
  /** Resolves once the rollback is durable. */
  rollbackToTimestamp(timestamp: string | Date): Promise<void>
  verifyHistory(): Promise<HistoryReport>
}

declare namespace Store {
  export { Store, StoreManager, Store as default }
  /**
   * A `keyProvider` keeping a random data key in `file`, encrypted with Electron's
   * `safeStorage` (whose key the OS keeps). Also `Store.safeStorageKeyProvider`.
   */
  export function safeStorageKeyProvider(options: {
    safeStorage: { isEncryptionAvailable(): boolean; encryptString(text: string): Uint8Array; decryptString(data: Uint8Array): string }
    file: string
  }): () => Uint8Array
  export type { DataKey, StoreStats, DotPath, DotValue, StoreValue, ErrorCode, StoreError, Options, OpenReport, HistoryEntry, HistoryReport, SyncOption, SyncStatus }
}

export = Store
