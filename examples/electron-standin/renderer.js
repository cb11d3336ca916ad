'use strict'
// A renderer process under the stand-in: `ipcRenderer` over the parent's IPC channel,
// `contextBridge` that copies values across and freezes the exposed API as Electron
// does, and the preload given on the command line, loaded unmodified (its
// `require('electron')` gets these modules).
const Module = require('node:module')

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

// Values cross the bridge as structured clones; functions become callable proxies.
function bridge(value) {
  if (typeof value === 'function') {
    return Object.freeze((...args) => {
      const result = value(...args.map(bridge))
      return result && typeof result.then === 'function' ? result.then((v) => structuredClone(v)) : bridgeOut(result)
    })
  }
  if (value && typeof value === 'object') return Object.freeze(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bridge(v)])))
  return value
}
const bridgeOut = (value) => (typeof value === 'function' ? bridge(value) : value === undefined ? undefined : structuredClone(value))

const window = {}
const contextBridge = {
  exposeInMainWorld(name, api) {
    if (name in window) throw new Error(`Cannot bind an API on top of an existing property on the window object`)
    window[name] = bridge(api)
  },
}

const electron = { ipcRenderer, contextBridge }
const ROOT = require('node:path').resolve(__dirname, '..', '..')
const load = Module._load
Module._load = function (request, ...rest) {
  if (request === 'electron') return electron
  // An app's preload requires the installed package; here it is this repository.
  if (request === 'tad-store' || request.startsWith('tad-store/')) request = ROOT + request.slice('tad-store'.length)
  return load.call(this, request, ...rest)
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
      const fn = new Function('window', 'report', 'rawEvents', `return (async () => { ${message.code} })()`)
      const value = await fn(window, (data) => process.send({ type: 'report', data }), rawEvents)
      process.send({ type: 'result', id: message.id, value })
    } catch (error) {
      process.send({ type: 'result', id: message.id, error: { message: error.message, code: error.code, key: error.key } })
    }
  }
})

if (process.argv[2]) require(process.argv[2])
