import type { DotPath, DotValue } from '..'

/**
 * `window.storeAPI`, as exposed by `exposeStoreAPI()`, typed by the store's shape `T`:
 * keys are checked as dot paths and values by their type. Every method is asynchronous
 * (it crosses IPC) and rejects with the store's error codes, or `ACCESS_DENIED`.
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

/** Exposes `window.storeAPI` with contextBridge. Electron's modules are injected for tests. */
export function exposeStoreAPI(electron?: { contextBridge: unknown; ipcRenderer: unknown }): StoreAPI

/**
 * The store shape `window.storeAPI` is declared with, once the app includes a global
 * declaration (`tad-store/preload/window` untyped, `tad-store/schemas/window` for the TAD
 * app, or its own); `Record<string, unknown>` before.
 */
export type WindowStore = Window extends { storeAPI: StoreAPI<infer T> } ? T : Record<string, unknown>
