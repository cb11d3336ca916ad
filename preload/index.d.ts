import type { DotPath, DotValue } from '..'

/**
 * What a refused call of `window.storeAPI` rejects with, in the page: a plain object, not
 * an `Error`. Electron's contextBridge rebuilds an `Error` from its message alone, so an
 * `Error` would reach the page without its `code`; this crosses whole.
 */
export interface StoreAPIError {
  name: 'StoreError'
  /** The store's code (`SCHEMA_VIOLATION`, `INVALID_VALUE`, …) or the bridge's (`ACCESS_DENIED`, `LIMIT_EXCEEDED`, `INVALID_KEY`). */
  code: string
  kind: 'transient' | 'persistent' | 'critical'
  message: string
  /** The key involved, when there is one. */
  key?: string
  /** For `SCHEMA_VIOLATION`: each violation (never a value). */
  errors?: Array<{ key: string; instancePath: string; keyword: string; message: string }>
}

/**
 * `window.storeAPI`, as exposed by `exposeStoreAPI()`, typed by the store's shape `T`:
 * keys are checked as dot paths and values by their type. Every method is asynchronous
 * (it crosses IPC) and rejects with a {@link StoreAPIError}: the store's error codes, or
 * `ACCESS_DENIED`.
 */
export interface StoreAPI<T extends Record<string, any> = Record<string, unknown>> {
  get<K extends DotPath<T>>(key: K): Promise<DotValue<T, K> | undefined>
  set<K extends DotPath<T>>(key: K, value: DotValue<T, K>): Promise<void>
  delete(key: DotPath<T>): Promise<void>
  has(key: DotPath<T>): Promise<boolean>
  onDidChange<K extends DotPath<T>>(key: K, callback: (newValue: DotValue<T, K> | undefined, oldValue: DotValue<T, K> | undefined) => void): () => void
  onDidAnyChange(callback: (newValue: Partial<T>, oldValue: Partial<T>) => void): () => void
  listHistory(): Promise<Array<{ timestamp: string; size: number; hash: string; kind: 'diff' | 'backup' }>>
  rollbackToTimestamp(timestamp: string): Promise<void>
}

/**
 * Exposes `window.storeAPI` with contextBridge, for an app's own preload (bundled, with
 * `electron` external). Electron's modules are injected for tests.
 */
export function exposeStoreAPI(electron?: { contextBridge: unknown; ipcRenderer: unknown }): StoreAPI

/**
 * The absolute path of the preload tad-store ships (`preload/sandboxed.js`), for
 * `webPreferences.preload` of a sandboxed window. Read it in the main process.
 */
export const path: string

/**
 * The store shape `window.storeAPI` is declared with, once the app includes a global
 * declaration (`tad-store/preload/window` untyped, `tad-store/schemas/window` for the TAD
 * app, or its own); `Record<string, unknown>` before.
 */
export type WindowStore = Window extends { storeAPI: StoreAPI<infer T> } ? T : Record<string, unknown>
