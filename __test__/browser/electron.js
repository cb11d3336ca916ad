// `require('electron')` for the preload in the browser test (the bundler maps `electron`
// here): an `ipcRenderer` carried over a WebSocket to the main process under the
// stand-in, and a `contextBridge` that copies by Electron's rules
// (examples/electron-standin/context-bridge.js) between the preload and the page, though
// a browser page has one realm for both.
const { localWorld, createContextBridge } = require('../../examples/electron-standin/context-bridge')

const socket = new WebSocket(`ws://${location.host}/ipc`)
const opened = new Promise((resolve) => socket.addEventListener('open', resolve, { once: true }))
const pending = new Map()
const listeners = new Map()
let next = 1

socket.addEventListener('message', (event) => {
  const message = JSON.parse(event.data)
  if (message.type === 'reply') {
    const call = pending.get(message.id)
    pending.delete(message.id)
    if (message.error) call?.reject(new Error(message.error))
    else call?.resolve(message.value)
  } else if (message.type === 'event') {
    for (const listener of listeners.get(message.channel) ?? []) listener({}, ...message.args)
  }
})

const ipcRenderer = {
  async invoke(channel, ...args) {
    await opened
    const id = next++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject })
      socket.send(JSON.stringify({ type: 'invoke', id, channel, args }))
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

const world = localWorld((value) => structuredClone(value))
const contextBridge = createContextBridge({ isolated: world, page: world, window, blocked: new Set([ipcRenderer]) })

module.exports = { contextBridge, ipcRenderer }
