'use strict'
// A renderer process under the stand-in, held to a sandboxed, context-isolated Electron
// renderer's rules (Electron's default since version 20):
//
// - the preload runs in its own JS context (the isolated world), the page in another
//   (the main world), so nothing but what `contextBridge` copies passes between them;
// - the preload is run as Electron runs a sandboxed one: its source as the body of a
//   function given `require`, `process`, `exports`, `module`, `Buffer`, `global`,
//   `setImmediate` and `clearImmediate` (lib/sandboxed_renderer in Electron's source),
//   with no `__dirname` or `__filename`, and a `require` that answers only `electron`
//   (renderer modules), `events`, `timers` and `url`, anything else being "module not
//   found" (https://www.electronjs.org/docs/latest/tutorial/sandbox#preload-scripts);
// - `contextBridge` copies by Electron's rules (./context-bridge.js).
//
// The page is driven by the main process's `run(code)` messages; `ipcRenderer` talks to
// the main process over Node's `serialization: 'advanced'` IPC, the V8 structured clone
// Electron's IPC uses.
const fs = require('node:fs')
const vm = require('node:vm')
const v8 = require('node:v8')
const { EventEmitter } = require('node:events')
const { makeWorld, createContextBridge } = require('./context-bridge')

let nextInvoke = 1
const invokes = new Map()
const listeners = new Map()
/** Every raw message on an event channel, for tests that check ordering and gaps. */
const rawEvents = []

const ipcRenderer = {
  invoke(channel, ...args) {
    const id = nextInvoke++
    return new Promise((resolve, reject) => {
      invokes.set(id, { resolve, reject })
      process.send({ type: 'invoke', id, channel, args })
    })
  },
  on(channel, listener) {
    if (!listeners.has(channel)) listeners.set(channel, new Set())
    listeners.get(channel).add(listener)
    return ipcRenderer
  },
  removeListener(channel, listener) {
    listeners.get(channel)?.delete(listener)
    return ipcRenderer
  },
}

// Web globals both worlds have; nothing of Node's.
const webGlobals = () => ({ console, setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask, URL, URLSearchParams, TextEncoder, TextDecoder, crypto: globalThis.crypto, atob, btoa })
const clone = (value) => v8.deserialize(v8.serialize(value))

const pageContext = vm.createContext(webGlobals(), { name: 'main world' })
vm.runInContext('globalThis.window = globalThis', pageContext)
const window = vm.runInContext('window', pageContext)
const isolatedContext = vm.createContext(webGlobals(), { name: 'isolated world' })
vm.runInContext('globalThis.window = globalThis', isolatedContext)

const page = makeWorld((source) => vm.runInContext(source, pageContext), clone)
const isolated = makeWorld((source) => vm.runInContext(source, isolatedContext), clone)
const contextBridge = createContextBridge({ isolated, page, window, blocked: new Set([ipcRenderer]) })

// The renderer modules of `electron` (https://www.electronjs.org/docs/latest/api/),
// those a preload could use here; the rest are present and inert.
const inert = (name) => Object.freeze({ [Symbol.toStringTag]: name })
const electron = Object.freeze({ contextBridge, ipcRenderer, crashReporter: inert('crashReporter'), nativeImage: inert('nativeImage'), webFrame: inert('webFrame'), webUtils: inert('webUtils') })
const preloadModules = new Map([
  ['electron', electron],
  ['electron/common', electron],
  ['electron/renderer', electron],
  ['events', require('node:events')],
  ['timers', require('node:timers')],
  ['url', require('node:url')],
])
function preloadRequire(name) {
  if (preloadModules.has(name)) return preloadModules.get(name)
  throw new Error(`module not found: ${name}`)
}
const preloadProcess = Object.assign(new EventEmitter(), { type: 'renderer', sandboxed: true, contextIsolated: true, platform: process.platform, arch: process.arch, env: {}, versions: { ...process.versions, electron: 'stand-in' } })

function runPreload(file) {
  const source = fs.readFileSync(file, 'utf8')
  const params = ['require', 'process', 'exports', 'module', 'Buffer', 'global', 'setImmediate', 'clearImmediate']
  try {
    const fn = vm.compileFunction(source, params, { parsingContext: isolatedContext, filename: file })
    const exports = {}
    fn(preloadRequire, preloadProcess, exports, { exports }, Buffer, vm.runInContext('globalThis', isolatedContext), setImmediate, clearImmediate)
  } catch (error) {
    // What Electron prints; the page goes on without whatever the preload exposed.
    console.error(`Unable to load preload script: ${file}`)
    console.error(error)
    process.send({ type: 'preload-error', message: String(error?.message ?? error) })
  }
}

process.on('message', async (message) => {
  if (message.type === 'reply') {
    const pending = invokes.get(message.id)
    invokes.delete(message.id)
    if (message.error) pending?.reject(new Error(message.error.message))
    else pending?.resolve(message.value)
  } else if (message.type === 'event') {
    rawEvents.push(message.args[0])
    for (const listener of listeners.get(message.channel) ?? []) listener({ sender: ipcRenderer }, ...message.args)
  } else if (message.type === 'run') {
    try {
      // Page code, in the main world: `window` is its global; `report`, `rawEvents` and
      // `clock` (a monotonic clock shared with the main process) are the harness's.
      const fn = vm.runInContext(`(async (report, rawEvents, clock) => { ${message.code} })`, pageContext)
      const value = await fn((data) => process.send({ type: 'report', data }), rawEvents, () => process.hrtime.bigint())
      process.send({ type: 'result', id: message.id, value })
    } catch (error) {
      const plain = error && typeof error === 'object' ? { message: String(error.message), code: error.code, key: error.key, name: error.name, errors: error.errors, isError: Object.prototype.toString.call(error) === '[object Error]' } : { message: String(error) }
      process.send({ type: 'result', id: message.id, error: plain })
    }
  }
})

if (process.argv[2]) runPreload(process.argv[2])
