import type { DotPath, DotValue } from '.'
import type { StoreAPI, StoreAPIError, WindowStore } from './preload'

export interface UseStoreResult<T> {
  /** The value, or `defaultValue` while loading or when absent. */
  value: T
  /** Shows the change at once; rolls it back and sets `error` if the store refuses it. */
  updateValue(next: T | ((current: T) => T)): Promise<void>
  loading: boolean
  /** Why the last write was refused: what `window.storeAPI` rejected with (its `code` survives the bridge). */
  error: StoreAPIError | (Error & { code?: string }) | undefined
}

/** The value at `key` of `window.storeAPI`, kept in sync with every window. */
export function useStore<K extends DotPath<WindowStore>>(key: K, defaultValue: NonNullable<DotValue<WindowStore, K>>): UseStoreResult<NonNullable<DotValue<WindowStore, K>>>
/** The same over another `StoreAPI` (a test double, a second store). */
export function useStore<T extends Record<string, any>, K extends DotPath<T>>(key: K, defaultValue: NonNullable<DotValue<T, K>>, api: StoreAPI<T>): UseStoreResult<NonNullable<DotValue<T, K>>>
