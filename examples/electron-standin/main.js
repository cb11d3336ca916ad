'use strict'
// A stand-in for Electron's main-process modules, for tests: `ipcMain`, `webContents`,
// `BrowserWindow`-like windows whose renderers are separate OS processes talking over
// Node's `serialization: 'advanced'` IPC (V8 structured clone, as Electron's IPC).
const { fork } = require('node:child_process')
const path = require('node:path')
const { EventEmitter } = require('node:events')

/** Every renderer process still running, killed when this process exits (one listener for all). */
const liveRenderers = new Set()
process.once('exit', () => {
  for (const child of liveRenderers) child.kill()
})

function createElectron({ userData } = {}) {
  const handlers = new Map()
  const all = new Map()
  let nextId = 1

  const ipcMain = {
    handle(channel, handler) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
      handlers.set(channel, handler)
    },
    removeHandler(channel) {
      handlers.delete(channel)
    },
    handlerCount: () => handlers.size,
    /** Calls the handler for `channel` as an invoke from `event` would (for other transports). */
    async dispatch(channel, event, args) {
      const handler = handlers.get(channel)
      if (!handler) throw new Error(`No handler registered for '${channel}'`)
      return handler(event, ...args)
    },
  }

  /**
   * Opens a window on `url` whose renderer loads `preload` (a file) in its own process.
   * `frame` simulates where requests come from: 'main' (default), 'sub' (an iframe) or
   * 'none' (a frame that is gone).
   *
   * Each page load is a new document: a new renderer process running the preload again,
   * with a new main frame object, as after a cross-site navigation in Chromium (a new
   * RenderFrameHost, so a new WebFrameMain). The old frame object then reports
   * `detached`, and requests still in flight from the old document have no
   * `senderFrame` ("May be null if accessed after the frame has either navigated or been
   * destroyed", https://www.electronjs.org/docs/latest/api/structures/ipc-main-event).
   */
  function openWindow(url, { preload, frame = 'main' } = {}) {
    const id = nextId++
    const emitter = new EventEmitter()
    let destroyed = false
    let mainFrame = { url, parent: null, routingId: id, detached: false }
    /** The current document: its renderer process and its frames. */
    let doc
    const pending = new Map()
    let nextRun = 1
    const reports = []
    /** Why a preload failed to load (Electron prints "Unable to load preload script"). */
    const preloadErrors = []
    let nextRoutingId = id * 1000

    function startDocument() {
      const child = fork(path.join(__dirname, 'renderer.js'), [preload ?? ''], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      // A renderer never outlives the main process, whatever happens to the test.
      liveRenderers.add(child)
      child.once('exit', () => liveRenderers.delete(child))
      const exited = new Promise((resolve) => child.once('exit', resolve))
      const subFrame = { get url() { return mainFrame.url }, parent: mainFrame, routingId: ++nextRoutingId, detached: false }
      const current = { child, exited, frame: mainFrame, subFrame, firstInvoke: undefined }
      child.on('message', async (message) => {
        if (message.type === 'invoke') {
          current.firstInvoke?.()
          const handler = handlers.get(message.channel)
          const live = doc === current
          const senderFrame = !live || frame === 'none' ? null : frame === 'sub' ? current.subFrame : current.frame
          let reply
          try {
            if (!handler) throw new Error(`No handler registered for '${message.channel}'`)
            reply = { type: 'reply', id: message.id, value: await handler({ sender: webContents, senderFrame }, ...message.args) }
          } catch (error) {
            reply = { type: 'reply', id: message.id, error: { message: `Error invoking remote method '${message.channel}': ${error}` } }
          }
          if (!destroyed && doc === current) child.send(reply)
        } else if (doc !== current) {
          // A document that was navigated away from reports nothing more.
        } else if (message.type === 'result') {
          pending.get(message.id)?.(message)
          pending.delete(message.id)
        } else if (message.type === 'report') {
          reports.push(message.data)
          emitter.emit('report', message.data)
        } else if (message.type === 'preload-error') {
          preloadErrors.push(message.message)
        }
        // (webContents.on('report', …) listens to what the renderer reports, for demos.)
      })
      return current
    }

    async function endDocument() {
      const old = doc
      if (!old) return
      old.frame.detached = true
      old.child.kill()
      for (const [runId, settle] of pending) {
        settle({ error: { message: 'the document was navigated away from' } })
        pending.delete(runId)
      }
      await old.exited
    }

    /**
     * A main-frame, cross-document navigation, with the events Electron emits for it
     * (https://www.electronjs.org/docs/latest/api/web-contents#navigation-events):
     * `did-start-navigation` (details `{ url, isSameDocument, isMainFrame, frame,
     * initiator }`, then the deprecated positional `url, isInPlace, isMainFrame,
     * frameProcessId, frameRoutingId`), the commit (a new document), then
     * `did-frame-navigate` and `did-navigate` (`event, url, httpResponseCode,
     * httpStatusText`). Electron does not order `did-navigate` before the new
     * document's first IPC message; `lateNavigateEvent` emits it after that message was
     * handled, the order a main process must also survive.
     */
    async function navigate(to, { lateNavigateEvent = false } = {}) {
      if (destroyed) throw new Error('Object has been destroyed')
      const details = { url: to, isSameDocument: false, isMainFrame: true, frame: mainFrame, initiator: null }
      emitter.emit('did-start-navigation', details, to, false, true, child().pid, mainFrame.routingId)
      await endDocument()
      mainFrame = { url: to, parent: null, routingId: ++nextRoutingId, detached: false }
      doc = startDocument()
      const finished = () => {
        emitter.emit('did-frame-navigate', {}, to, 200, 'OK', true, doc.child.pid, mainFrame.routingId)
        emitter.emit('did-navigate', {}, to, 200, 'OK')
      }
      if (!lateNavigateEvent) return finished()
      await new Promise((resolve) => (doc.firstInvoke = resolve))
      doc.firstInvoke = undefined
      await new Promise((resolve) => setImmediate(resolve))
      finished()
    }

    const child = () => doc.child
    const webContents = {
      id,
      /** The top frame of the current document (a new object after each navigation). */
      get mainFrame() {
        return mainFrame
      },
      getURL: () => mainFrame.url,
      send(channel, ...args) {
        if (destroyed) throw new Error('Object has been destroyed')
        doc.child.connected && doc.child.send({ type: 'event', channel, args })
      },
      isDestroyed: () => destroyed,
      once: (event, listener) => emitter.once(event, listener),
      on: (event, listener) => emitter.on(event, listener),
      off: (event, listener) => emitter.off(event, listener),
      removeListener: (event, listener) => emitter.removeListener(event, listener),
      listenerCount: (event) => emitter.listenerCount(event),
      loadURL: (to) => navigate(to),
      reload: () => navigate(mainFrame.url),
    }
    all.set(id, webContents)
    doc = startDocument()
    return {
      webContents,
      reports,
      preloadErrors,
      navigate,
      /**
       * A same-document navigation (`history.pushState`, a fragment): the page stays.
       * It cannot change the origin (pushState throws a SecurityError), and Electron
       * emits `did-start-navigation` with `isSameDocument` then `did-navigate-in-page`.
       */
      navigateInPage(to) {
        if (new URL(to).origin !== new URL(mainFrame.url).origin) throw new Error('SecurityError: a same-document navigation cannot change the origin')
        emitter.emit('did-start-navigation', { url: to, isSameDocument: true, isMainFrame: true, frame: mainFrame, initiator: mainFrame }, to, true, true, doc.child.pid, mainFrame.routingId)
        mainFrame.url = to
        emitter.emit('did-navigate-in-page', {}, to, true, doc.child.pid, mainFrame.routingId)
      },
      /** The renderer process dies; the window stays until it reloads (`render-process-gone`). */
      async crash() {
        const old = doc
        old.child.kill('SIGKILL')
        await old.exited
        emitter.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 9 })
      },
      /** Runs `code` (an async function body with `window` and `report` in scope) in the renderer. */
      run(code) {
        const runId = nextRun++
        return new Promise((resolve, reject) => {
          pending.set(runId, (m) => (m.error ? reject(Object.assign(new Error(m.error.message), m.error)) : resolve(m.value)))
          doc.child.send({ type: 'run', id: runId, code })
        })
      },
      /** Resolves once `predicate(reports)` holds. */
      until(predicate, timeout = 10_000) {
        return new Promise((resolve, reject) => {
          if (predicate(reports)) return resolve(reports)
          const timer = setTimeout(() => reject(new Error(`timed out; reports: ${JSON.stringify(reports).slice(0, 500)}`)), timeout)
          const check = () => {
            if (predicate(reports)) {
              clearTimeout(timer)
              emitter.off('report', check)
              resolve(reports)
            }
          }
          emitter.on('report', check)
        })
      },
      async close() {
        if (destroyed) return
        destroyed = true
        all.delete(id)
        emitter.emit('destroyed')
        await endDocument()
      },
    }
  }

  const appEvents = new EventEmitter()
  const app = {
    getPath: (name) => (name === 'userData' ? userData : undefined),
    getVersion: () => '2.0.0',
    whenReady: () => Promise.resolve(),
    on: (event, listener) => appEvents.on(event, listener),
    once: (event, listener) => appEvents.once(event, listener),
    /** Emits before-quit and will-quit, as Electron does, awaiting async listeners. */
    async quit() {
      for (const event of ['before-quit', 'will-quit']) {
        await Promise.all(appEvents.listeners(event).map((listener) => listener({ preventDefault() {} })))
      }
      await Promise.all([...windows].map((w) => w.close()))
    },
  }

  const windows = new Set()
  /** Electron's BrowserWindow, as far as an app's main process uses it. */
  class BrowserWindow {
    constructor(options = {}) {
      this.options = options
      this.handle = undefined
      windows.add(this)
    }
    static getAllWindows() {
      return [...windows]
    }
    get webContents() {
      return this.handle?.webContents
    }
    async loadFile(file) {
      return this.loadURL(require('node:url').pathToFileURL(file).href)
    }
    async loadURL(url) {
      const prefs = this.options.webPreferences ?? {}
      // Electron's defaults since version 20, which the README asks for: a preload that
      // works only without them would fail in the app.
      if (prefs.contextIsolation === false || prefs.nodeIntegration === true || prefs.sandbox === false) {
        throw new Error('The stand-in only runs isolated, sandboxed renderers (contextIsolation and sandbox on, nodeIntegration off)')
      }
      this.handle = openWindow(url, { preload: prefs.preload })
    }
    async close() {
      windows.delete(this)
      await this.handle?.close()
    }
  }

  /**
   * Electron's shell, as far as `openInEditor` uses it: `openPath` resolves to an error
   * message, empty on success (https://www.electronjs.org/docs/latest/api/shell); here
   * it records the path instead of launching an editor.
   */
  const shell = {
    opened: [],
    async openPath(file) {
      if (!require('node:fs').existsSync(file)) return `Failed to open path: ${file} does not exist`
      shell.opened.push(file)
      return ''
    },
  }

  return { ipcMain, app, BrowserWindow, shell, safeStorage: standInSafeStorage(userData), webContents: { getAllWebContents: () => [...all.values()], fromId: (id) => all.get(id) }, openWindow }
}

/**
 * Electron's safeStorage, as far as a key provider uses it. The real one encrypts with a
 * key the OS keeps (Keychain, DPAPI, Secret Service); the stand-in's key is derived from
 * its user-data path, so it is stable across restarts of the same stand-in app.
 */
function standInSafeStorage(userData) {
  const crypto = require('node:crypto')
  const key = crypto.createHash('sha256').update(`stand-in os keychain:${userData}`).digest()
  return {
    isEncryptionAvailable: () => true,
    encryptString(text) {
      const iv = crypto.randomBytes(12)
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
      return Buffer.concat([iv, cipher.getAuthTag(), body])
    },
    decryptString(buffer) {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, buffer.subarray(0, 12))
      decipher.setAuthTag(buffer.subarray(12, 28))
      return Buffer.concat([decipher.update(buffer.subarray(28)), decipher.final()]).toString('utf8')
    },
  }
}

/**
 * Runs `fn` with `require('electron')` (and `require('tad-store…')`) answered by the
 * stand-in, so an app's main file loads unmodified.
 */
function withElectron(electron, fn) {
  const Module = require('node:module')
  const root = path.resolve(__dirname, '..', '..')
  const load = Module._load
  Module._load = function (request, ...rest) {
    if (request === 'electron') return electron
    if (request === 'tad-store' || request.startsWith('tad-store/')) request = root + request.slice('tad-store'.length)
    return load.call(this, request, ...rest)
  }
  try {
    return fn()
  } finally {
    Module._load = load
  }
}

module.exports = { createElectron, withElectron }
