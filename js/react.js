'use strict'
// require('tad-store/react'): `useStore(key, defaultValue)` for renderers, on top of
// `window.storeAPI`, built on React's useSyncExternalStore.
//
//   const { value, updateValue, loading, error } = useStore('settings.theme', 'light')
const React = require('react')

/** One cache entry per (api, key): the snapshot React reads, and who listens to it. */
class KeyState {
  constructor(api, key) {
    this.api = api
    this.key = key
    this.snapshot = { value: undefined, loading: true, error: undefined }
    this.listeners = new Set()
    this.stop = undefined
    this.subscribe = this.subscribe.bind(this)
    this.getSnapshot = () => this.snapshot
  }

  update(patch) {
    this.snapshot = { ...this.snapshot, ...patch }
    for (const listener of this.listeners) listener()
  }

  subscribe(listener) {
    this.listeners.add(listener)
    if (this.listeners.size === 1) {
      // The first component watching this key: follow the main process.
      this.stop = this.api.onDidChange(this.key, (value) => this.update({ value, loading: false }))
      this.api.get(this.key).then(
        (value) => this.update({ value, loading: false }),
        (error) => this.update({ loading: false, error }),
      )
    }
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) {
        // The last one unmounted: stop following, and start fresh next time.
        this.stop?.()
        this.stop = undefined
        this.snapshot = { value: undefined, loading: true, error: undefined }
      }
    }
  }

  /** Optimistic write: shown at once, then reconciled with what the main process holds. */
  async write(value) {
    const before = this.snapshot.value
    this.update({ value, error: undefined })
    try {
      await this.api.set(this.key, value)
      this.update({ value: await this.api.get(this.key) })
    } catch (error) {
      // Refused (schema, policy): back to what the store holds, and say why.
      this.update({ value: before, error })
    }
  }
}

const states = new WeakMap()

function stateFor(api, key) {
  if (!api) throw new Error('useStore needs window.storeAPI: expose it in the preload with exposeStoreAPI()')
  if (!states.has(api)) states.set(api, new Map())
  const byKey = states.get(api)
  if (!byKey.has(key)) byKey.set(key, new KeyState(api, key))
  return byKey.get(key)
}

/**
 * The value at `key`, kept in sync with the store in every window.
 * Returns `{ value, updateValue, loading, error }`: `value` is `defaultValue` while
 * loading or when absent; `updateValue(next)` (a value, or a function of the current
 * one) shows the change at once and rolls it back, setting `error`, if it is refused.
 * `api` defaults to `window.storeAPI`.
 */
function useStore(key, defaultValue, api = globalThis.window?.storeAPI) {
  const state = stateFor(api, key)
  const snapshot = React.useSyncExternalStore(state.subscribe, state.getSnapshot, state.getSnapshot)
  const updateValue = React.useCallback(
    (next) => state.write(typeof next === 'function' ? next(state.snapshot.value ?? defaultValue) : next),
    [state, defaultValue],
  )
  return {
    value: snapshot.value === undefined ? defaultValue : snapshot.value,
    updateValue,
    loading: snapshot.loading,
    error: snapshot.error,
  }
}

module.exports = { useStore }
