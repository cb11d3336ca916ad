'use strict'
// Windows whose renderers run in this process, for tests that need thousands of
// requests, navigations and documents per second: an attacker's view of the bridge.
// Requests reach the handlers on the stand-in's `ipcMain` as V8-serialised clones (the
// structured clone Electron's IPC uses), and replies come back the same way. Everything
// the main process sends is recorded as it leaves, with the URL the window showed at
// that moment, before the page's preload sees it.
const v8 = require('node:v8')
const { EventEmitter } = require('node:events')
const { exposeStoreAPI } = require('../preload')
const { localWorld, createContextBridge } = require('../examples/electron-standin/context-bridge')

const clone = (value) => v8.deserialize(v8.serialize(value))
let nextId = 100_000

/**
 * Opens a window on `url`. `navigate(url)` loads a new document (a new preload instance,
 * a new main frame) with Electron's events; `navigateSilently(url)` changes what the
 * window shows without any event, which no Electron does, to check the delivery rule
 * alone; `raw(op, ...args)` sends what a compromised renderer could.
 */
function openInProcessWindow(ipcMain, url) {
  const id = nextId++
  const emitter = new EventEmitter()
  let destroyed = false
  let frame = { url, parent: null, detached: false }
  /** `{ url, message }` for every event the main process sent. */
  const received = []
  let doc

  const webContents = {
    id,
    get mainFrame() {
      return frame
    },
    send(channel, message) {
      if (destroyed) throw new Error('Object has been destroyed')
      const copy = clone(message)
      received.push({ url: frame.url, channel, message: copy })
      doc.deliver(channel, clone(message))
    },
    isDestroyed: () => destroyed,
    on: (event, listener) => emitter.on(event, listener),
    once: (event, listener) => emitter.once(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    removeListener: (event, listener) => emitter.removeListener(event, listener),
    listenerCount: (event) => emitter.listenerCount(event),
  }

  /** A page load: its own preload instance, bound to the frame it was loaded in. */
  function newDocument() {
    const docFrame = frame
    const listeners = new Map()
    const event = () => ({ sender: webContents, senderFrame: docFrame === frame && !destroyed ? frame : null })
    const ipcRenderer = {
      async invoke(channel, ...args) {
        return clone(await ipcMain.dispatch(channel, event(), clone(args)))
      },
      on(channel, listener) {
        if (!listeners.has(channel)) listeners.set(channel, new Set())
        listeners.get(channel).add(listener)
      },
      removeListener(channel, listener) {
        listeners.get(channel)?.delete(listener)
      },
    }
    // The page gets the API as Electron's contextBridge copies it (a refusal's `code`
    // survives only because the preload rejects with a plain object).
    const window = {}
    const world = localWorld(clone)
    exposeStoreAPI({ contextBridge: createContextBridge({ isolated: world, page: world, window, blocked: new Set([ipcRenderer]) }), ipcRenderer })
    return {
      api: window.storeAPI,
      frame: docFrame,
      deliver(channel, message) {
        if (docFrame !== frame) return // a document navigated away from is gone
        for (const listener of listeners.get(channel) ?? []) listener({}, message)
      },
      /** A request exactly as given (`op` is `get`, `set`, …), from this document. */
      raw: (op, ...args) => ipcMain.dispatch(`tad-store:${op}`, event(), clone(args)).then(clone),
    }
  }
  doc = newDocument()

  return {
    webContents,
    received,
    get api() {
      return doc.api
    },
    get url() {
      return frame.url
    },
    raw: (op, ...args) => doc.raw(op, ...args),
    /**
     * A cross-document navigation with Electron's events (see the stand-in's `navigate`).
     * With `lateNavigateEvent`, `did-navigate` is held back until `commit()` is called,
     * so a new document can talk to the main process first.
     */
    navigate(to, { lateNavigateEvent = false } = {}) {
      emitter.emit('did-start-navigation', { url: to, isSameDocument: false, isMainFrame: true, frame, initiator: null }, to, false, true, 1, 1)
      frame.detached = true
      frame = { url: to, parent: null, detached: false }
      doc = newDocument()
      const commit = () => void emitter.emit('did-navigate', {}, to, 200, 'OK')
      if (!lateNavigateEvent) return commit()
      return commit
    },
    navigateSilently(to) {
      frame.url = to
    },
    crash() {
      emitter.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 9 })
      frame.detached = true
      frame = { url: frame.url, parent: null, detached: false }
      doc = newDocument()
    },
    close() {
      if (destroyed) return
      destroyed = true
      emitter.emit('destroyed')
    },
  }
}

module.exports = { openInProcessWindow }
