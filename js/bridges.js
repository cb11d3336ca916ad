'use strict'
// Which renderer bridges serve a store, so `store.stats()` can report their
// subscriptions and dropped audit lines without the store knowing about IPC.
const bridges = new WeakMap() // store -> Set<() => { subscriptions, auditDropped }>

/** Registers a bridge's counters for `store`; returns the unregister function. */
function addBridge(store, counters) {
  if (!bridges.has(store)) bridges.set(store, new Set())
  bridges.get(store).add(counters)
  return () => bridges.get(store)?.delete(counters)
}

/**
 * Over every bridge serving `store`: renderer subscriptions (one per window, document
 * and key) and audit lines dropped because the audit queue was full.
 */
function rendererStats(store) {
  let rendererSubscriptions = 0
  let rendererAuditDropped = 0
  for (const counters of bridges.get(store) ?? []) {
    const { subscriptions, auditDropped } = counters()
    rendererSubscriptions += subscriptions
    rendererAuditDropped += auditDropped
  }
  return { rendererSubscriptions, rendererAuditDropped }
}

module.exports = { addBridge, rendererStats }
