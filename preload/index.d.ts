/** `window.storeAPI`, as exposed by `exposeStoreAPI()`. */
export interface StoreAPI {
  get<T = unknown>(key: string): Promise<T | undefined>
  set(key: string, value: unknown): Promise<void>
  delete(key: string): Promise<void>
  has(key: string): Promise<boolean>
  onDidChange<T = unknown>(key: string, callback: (newValue: T | undefined, oldValue: T | undefined) => void): () => void
  onDidAnyChange(callback: (newValue: Record<string, unknown>, oldValue: Record<string, unknown>) => void): () => void
  listHistory(): Promise<Array<{ timestamp: string; size: number; hash: string; kind: 'diff' | 'backup' }>>
  rollbackToTimestamp(timestamp: string): Promise<void>
}

/** Exposes `window.storeAPI` with contextBridge. Electron's modules are injected for tests. */
export function exposeStoreAPI(electron?: { contextBridge: unknown; ipcRenderer: unknown }): StoreAPI

declare global {
  interface Window {
    storeAPI: StoreAPI
  }
}
