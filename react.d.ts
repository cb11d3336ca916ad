import type { StoreAPI } from './preload'

export interface UseStoreResult<T> {
  /** The value, or `defaultValue` while loading or when absent. */
  value: T
  /** Shows the change at once; rolls it back and sets `error` if the store refuses it. */
  updateValue(next: T | ((current: T) => T)): Promise<void>
  loading: boolean
  error: (Error & { code?: string }) | undefined
}

/** The value at `key`, kept in sync with every window. `api` defaults to `window.storeAPI`. */
export function useStore<T>(key: string, defaultValue: T, api?: StoreAPI): UseStoreResult<T>
