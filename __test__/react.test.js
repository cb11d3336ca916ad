'use strict'
// useStore with real React (react-dom) in a jsdom document, against a real store.
const test = require('node:test')
const assert = require('node:assert/strict')
const { JSDOM } = require('jsdom')
const Store = require('..')
const { tempDir, closeLater } = require('./helpers')

const dom = new JSDOM('<!doctype html><div id="root"></div>')
globalThis.window = dom.window
globalThis.document = dom.window.document
globalThis.navigator = dom.window.navigator
globalThis.IS_REACT_ACT_ENVIRONMENT = true
const React = require('react')
const { createRoot } = require('react-dom/client')
const { useStore } = require('../react')

/** A storeAPI over a real store, with the asynchrony of IPC. */
function apiFor(store) {
  const later = (fn) => new Promise((resolve, reject) => setTimeout(() => { try { resolve(fn()) } catch (e) { reject(e) } }, 2))
  let subscriptions = 0
  return {
    get: (key) => later(() => store.get(key)),
    set: (key, value) => later(() => store.set(key, value)),
    onDidChange: (key, cb) => {
      subscriptions++
      const off = store.onDidChange(key, cb)
      return () => {
        subscriptions--
        off()
      }
    },
    subscriptions: () => subscriptions,
  }
}

const tick = (ms = 30) => React.act(() => new Promise((resolve) => setTimeout(resolve, ms)))

function mount(element) {
  const container = document.createElement('div')
  const root = createRoot(container)
  React.act(() => root.render(element))
  return { container, unmount: () => React.act(() => root.unmount()) }
}

test('useStore - loads, shows the default meanwhile, and follows changes made elsewhere', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), defaults: { theme: 'dark' } }))
  const api = apiFor(store)
  const seen = []
  function Theme() {
    const { value, loading } = useStore('theme', 'light', api)
    seen.push([value, loading])
    return React.createElement('span', null, value)
  }
  const { container, unmount } = mount(React.createElement(Theme))
  assert.deepEqual(seen[0], ['light', true])
  await tick()
  assert.equal(container.textContent, 'dark')
  store.set('theme', 'auto') // another window, or the main process
  await tick()
  assert.equal(container.textContent, 'auto')
  unmount()
  assert.equal(api.subscriptions(), 0, 'unsubscribed on unmount')
})

test('useStore - updateValue is optimistic and reconciles with the main process', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t) }))
  const api = apiFor(store)
  let update
  function Counter() {
    const { value, updateValue } = useStore('count', 0, api)
    update = updateValue
    return React.createElement('b', null, String(value))
  }
  const { container, unmount } = mount(React.createElement(Counter))
  await tick()
  let pending
  React.act(() => {
    pending = update((n) => n + 1)
  })
  assert.equal(container.textContent, '1', 'shown before the main process answers')
  await React.act(() => pending)
  assert.equal(store.get('count'), 1)
  assert.equal(container.textContent, '1')
  unmount()
})

test('useStore - a refused write rolls back and reports the error', async (t) => {
  const store = closeLater(t, new Store({ cwd: tempDir(t), schema: { size: { type: 'number', maximum: 10 } }, defaults: { size: 5 } }))
  const api = apiFor(store)
  let hook
  function Size() {
    hook = useStore('size', 0, api)
    return React.createElement('i', null, String(hook.value))
  }
  const { container, unmount } = mount(React.createElement(Size))
  await tick()
  assert.equal(container.textContent, '5')
  await React.act(() => hook.updateValue(99))
  assert.equal(container.textContent, '5', 'rolled back')
  assert.equal(hook.error?.code, 'SCHEMA_VIOLATION')
  await React.act(() => hook.updateValue(7))
  assert.equal(hook.error, undefined, 'cleared by a good write')
  assert.equal(container.textContent, '7')
  unmount()
})

test('useStore - through the real preload and a bridge that copies as Electron does, a refusal keeps its code', async (t) => {
  const { registerStoreIpc } = require('../ipc')
  const { createElectron } = require('../examples/electron-standin/main')
  const { openInProcessWindow } = require('./hostile-window')
  const store = closeLater(t, new Store({ cwd: tempDir(t), schema: { size: { type: 'number', maximum: 10 } }, defaults: { size: 5 } }))
  const electron = createElectron()
  closeLater(t, { close: registerStoreIpc(store, { policy: { origins: { 'https://app.example.com': { read: ['*'], write: ['size'] } } }, ipcMain: electron.ipcMain }) })
  const { api } = closeLater(t, openInProcessWindow(electron.ipcMain, 'https://app.example.com/'))
  let hook
  function Size() {
    hook = useStore('size', 0, api)
    return React.createElement('i', null, String(hook.value))
  }
  const { container, unmount } = mount(React.createElement(Size))
  await tick()
  assert.equal(container.textContent, '5')
  await React.act(() => hook.updateValue(50))
  assert.equal(container.textContent, '5', 'rolled back')
  assert.equal(hook.error?.code, 'SCHEMA_VIOLATION')
  assert.equal(hook.error?.errors?.[0]?.keyword, 'maximum')
  await React.act(() => hook.updateValue(7))
  assert.equal(hook.error, undefined)
  store.set('size', 9) // the main process
  await tick()
  assert.equal(container.textContent, '9')
  unmount()
})
