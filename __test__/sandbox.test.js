'use strict'
// The stand-in holds preloads to real Electron's rules for a sandboxed, context-isolated
// renderer (cited in examples/electron-standin): each test below fails if the stand-in
// stops enforcing its rule. Then tad-store's own preload, as shipped and as bundled into
// an app's preload, under those rules.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { registerStoreIpc } = require('../ipc')
const { createElectron } = require('../examples/electron-standin/main')
const { tempDir, closeLater, ROOT } = require('./helpers')

const APP = 'https://app.example.com'

/** A window whose preload is `source`, written to a temporary file. */
function windowWith(t, source, url = `${APP}/`) {
  const file = path.join(tempDir(t), 'preload.js')
  fs.writeFileSync(file, source)
  const electron = createElectron()
  return { electron, win: closeLater(t, electron.openWindow(url, { preload: file })) }
}

test('a sandboxed preload can require electron, events, timers and url, nothing else, and has no __dirname', async (t) => {
  const { win } = windowWith(t, `
    const results = {}
    for (const name of ['electron', 'events', 'timers', 'url', 'fs', 'node:fs', 'path', 'child_process', './other.js', '../../preload', 'tad-store/preload', 'tad-store']) {
      try { require(name); results[name] = 'ok' } catch (error) { results[name] = error.message }
    }
    results.__dirname = typeof __dirname
    results.module = typeof module
    results.processType = process.type + '/' + process.sandboxed
    require('electron').contextBridge.exposeInMainWorld('results', results)
  `)
  const results = await win.run(`return window.results`)
  for (const name of ['electron', 'events', 'timers', 'url']) assert.equal(results[name], 'ok', name)
  for (const name of ['fs', 'node:fs', 'path', 'child_process', './other.js', '../../preload', 'tad-store/preload', 'tad-store']) {
    assert.equal(results[name], `module not found: ${name}`, name)
  }
  assert.equal(results.__dirname, 'undefined')
  assert.equal(results.module, 'object')
  assert.equal(results.processType, 'renderer/true')
})

test("the one-line preload of old, require('tad-store/preload').exposeStoreAPI(), fails as it would in Electron", async (t) => {
  const { win } = windowWith(t, `require('tad-store/preload').exposeStoreAPI()`)
  assert.equal(await win.run(`return typeof window.storeAPI`), 'undefined')
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(win.preloadErrors, ['module not found: tad-store/preload'])
})

test('the preload and the page are separate worlds: nothing but the bridge passes', async (t) => {
  const { win } = windowWith(t, `
    globalThis.fromPreload = 1
    window.alsoFromPreload = 2
    require('electron').contextBridge.exposeInMainWorld('probe', { seesPage: () => typeof globalThis.fromPage })
  `)
  assert.deepEqual(await win.run(`globalThis.fromPage = 3; return [typeof window.fromPreload, typeof window.alsoFromPreload, window.probe.seesPage(), typeof process, typeof require]`), ['undefined', 'undefined', 'undefined', 'undefined', 'undefined'])
})

test("contextBridge copies as Electron's does: errors lose their properties, classes their prototype, symbols vanish", async (t) => {
  const { win } = windowWith(t, `
    const { contextBridge } = require('electron')
    class Point { constructor() { this.x = 1 } norm() { return 1 } }
    contextBridge.exposeInMainWorld('api', {
      thrown: () => { throw Object.assign(new Error('boom'), { code: 'E_THROWN' }) },
      rejected: () => Promise.reject(Object.assign(new Error('no'), { code: 'E_REJECTED', key: 'k' })),
      rejectedPlain: () => Promise.reject({ code: 'E_PLAIN', message: 'plain', errors: [{ key: 'a' }] }),
      instance: () => new Point(),
      symbols: () => ({ s: Symbol('x'), [Symbol('k')]: 1, n: 1 }),
      call: (callback) => callback({ a: 1 }),
      maker: () => (n) => n * 2,
      keep: (object) => { object.changed = true; return object },
      nested: { deeper: { list: [1, { two: 2 }] } },
    })
  `)
  const seen = await win.run(`
    const out = {}
    try { window.api.thrown() } catch (e) { out.thrown = { isError: e instanceof Error, message: e.message, code: e.code } }
    try { await window.api.rejected() } catch (e) { out.rejected = { isError: e instanceof Error, message: e.message, code: e.code, key: e.key } }
    try { await window.api.rejectedPlain() } catch (e) { out.plain = { isError: e instanceof Error, code: e.code, message: e.message, errors: e.errors } }
    const p = window.api.instance()
    out.instance = { x: p.x, norm: typeof p.norm, proto: Object.getPrototypeOf(p) === Object.prototype }
    out.symbols = { keys: Reflect.ownKeys(window.api.symbols()), s: 's' in window.api.symbols() }
    out.called = window.api.call((v) => v.a + 1)
    out.made = window.api.maker()(21)
    const mine = { a: 1 }
    const back = window.api.keep(mine)
    out.copied = { mine: mine.changed, back: back.changed, same: back === mine }
    out.frozen = [Object.isFrozen(window.api), Object.isFrozen(window.api.nested.deeper.list[1])]
    try { window.api.extra = 1 } catch {}
    out.extra = 'extra' in window.api
    return out
  `)
  assert.deepEqual(seen.thrown, { isError: true, message: 'boom', code: undefined })
  assert.deepEqual(seen.rejected, { isError: true, message: 'no', code: undefined, key: undefined })
  assert.deepEqual(seen.plain, { isError: false, code: 'E_PLAIN', message: 'plain', errors: [{ key: 'a' }] })
  assert.deepEqual(seen.instance, { x: 1, norm: 'undefined', proto: true })
  assert.deepEqual(seen.symbols, { keys: ['n'], s: false })
  assert.equal(seen.called, 2)
  assert.equal(seen.made, 42)
  assert.deepEqual(seen.copied, { mine: undefined, back: true, same: false })
  assert.deepEqual(seen.frozen, [true, true])
  assert.equal(seen.extra, false)
})

test('ipcRenderer cannot be sent over the bridge, and an API cannot be bound twice', async (t) => {
  const { win } = windowWith(t, `
    const { contextBridge, ipcRenderer } = require('electron')
    contextBridge.exposeInMainWorld('ipc', ipcRenderer)
    contextBridge.exposeInMainWorld('nested', { ipc: ipcRenderer, invoke: ipcRenderer.invoke })
    let second
    try { contextBridge.exposeInMainWorld('ipc', {}) } catch (e) { second = e.message }
    contextBridge.exposeInMainWorld('second', second)
  `)
  const seen = await win.run(`return { ipc: Object.keys(window.ipc), nested: Object.keys(window.nested.ipc), second: window.second, invoke: typeof window.nested.invoke }`)
  assert.deepEqual(seen.ipc, [])
  assert.deepEqual(seen.nested, [])
  assert.equal(seen.invoke, 'function', 'a function taken off it is still just a function')
  assert.match(seen.second, /Cannot bind an API on top of an existing property/)
})

test('a window without sandbox or context isolation is refused by the stand-in', async () => {
  const { BrowserWindow } = createElectron()
  for (const webPreferences of [{ sandbox: false }, { contextIsolation: false }, { nodeIntegration: true }]) {
    await assert.rejects(new BrowserWindow({ webPreferences }).loadURL(`${APP}/`), /only runs isolated, sandboxed renderers/)
  }
})

// ----- tad-store's preload under those rules -----

const policy = { origins: { [APP]: { read: ['*'], write: ['settings', 'ui'] } } }

function bridged(t, preload, options = {}) {
  const store = closeLater(t, new Store({ cwd: tempDir(t), schema: { ui: { type: 'object', properties: { zoom: { type: 'number' } } } }, defaults: { settings: { theme: 'light' } }, ...options }))
  const electron = createElectron()
  closeLater(t, { close: registerStoreIpc(store, { policy, ipcMain: electron.ipcMain }) })
  return { store, win: closeLater(t, electron.openWindow(`${APP}/`, { preload })) }
}

test('the shipped preload runs sandboxed as named, and refusals keep their code, key and errors in the page', async (t) => {
  const preload = require('../preload').path
  assert.equal(preload, path.join(ROOT, 'preload', 'sandboxed.js'))
  assert.equal(require.resolve('tad-store/preload/sandboxed', { paths: [ROOT] }), preload)
  const { win } = bridged(t, preload)
  assert.equal(await win.run(`return window.storeAPI.get('settings.theme')`), 'light')
  const denied = await win.run(`try { await window.storeAPI.set('profile.name', 'x') } catch (e) { return { ...e, isError: e instanceof Error } }`)
  assert.deepEqual(denied, { name: 'StoreError', code: 'ACCESS_DENIED', kind: 'persistent', message: 'This origin may not write `profile.name`', key: 'profile.name', isError: false })
  const invalid = await win.run(`try { await window.storeAPI.set('ui.zoom', 'big') } catch (e) { return e }`)
  assert.equal(invalid.code, 'SCHEMA_VIOLATION')
  assert.equal(invalid.errors[0].keyword, 'type')
  assert.equal(invalid.errors[0].key, 'ui.zoom')
  assert.ok(!JSON.stringify(invalid).includes('big'), 'no value in the error')
  assert.deepEqual(await win.run(`return { keys: Object.keys(window.storeAPI).sort(), frozen: Object.isFrozen(window.storeAPI) }`), {
    keys: ['delete', 'get', 'has', 'listHistory', 'onDidAnyChange', 'onDidChange', 'rollbackToTimestamp', 'set'],
    frozen: true,
  })
})

test('an app bundles exposeStoreAPI into its own preload (esbuild, electron external) and it runs sandboxed', async (t) => {
  const dir = tempDir(t)
  const entry = path.join(dir, 'app-preload.js')
  fs.writeFileSync(entry, `
    const { contextBridge } = require('electron')
    const { exposeStoreAPI } = require('tad-store/preload')
    exposeStoreAPI()
    contextBridge.exposeInMainWorld('appAPI', { version: () => '1.2.3' })
  `)
  const outfile = path.join(dir, 'bundle.js')
  require('esbuild').buildSync({ entryPoints: [entry], outfile, bundle: true, platform: 'browser', format: 'cjs', external: ['electron'], alias: { 'tad-store/preload': path.join(ROOT, 'preload', 'index.js') }, logLevel: 'silent' })
  const { store, win } = bridged(t, outfile)
  assert.deepEqual(await win.run(`return [await window.storeAPI.get('settings.theme'), window.appAPI.version()]`), ['light', '1.2.3'])
  await win.run(`window.storeAPI.onDidChange('settings.theme', (v) => report(v)); await window.storeAPI.get('ui')`)
  store.set('settings.theme', 'dark')
  assert.deepEqual(await win.until((r) => r.length === 1), ['dark'])
})

test('preload/sandboxed.js is preload/index.js made self-contained, and requires nothing but electron', () => {
  const text = fs.readFileSync(path.join(ROOT, 'preload', 'sandboxed.js'), 'utf8')
  const requires = [...text.matchAll(/require\(\s*(['"])([^'"]+)\1\s*\)/g)].map((m) => m[2]).filter((name) => name !== 'tad-store/preload')
  assert.deepEqual([...new Set(requires)], ['electron'])
  assert.ok(text.includes(fs.readFileSync(path.join(ROOT, 'preload', 'index.js'), 'utf8').split('\n').find((l) => l.startsWith('function exposeStoreAPI'))))
})
