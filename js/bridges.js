'use strict'
// Which renderer bridges serve a store, so `store.stats()` can count their
// subscriptions without the store knowing about IPC.
const bridges = new WeakMap() // store -> Set<() => number>

/** Registers a bridge's subscription counter for `store`; returns the unregister function. */
function addBridge(store, countSubscriptions) {
  if (!bridges.has(store)) bridges.set(store, new Set())
  bridges.get(store).add(countSubscriptions)
  return () => bridges.get(store)?.delete(countSubscriptions)
}

/** Renderer subscriptions to `store`, over every bridge: one per (window, key). */
function rendererSubscriptions(store) {
  let total = 0
  for (const count of bridges.get(store) ?? []) total += count()
  return total
}

module.exports = { addBridge, rendererSubscriptions }
