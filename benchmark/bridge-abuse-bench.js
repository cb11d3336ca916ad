'use strict'
// What one hostile or careless window can cost the main process through the renderer
// bridge: the shapes issue 12 reproduced. Requests go straight to the bridge's handlers
// (as a renderer's would, V8-serialised), and a window's `send` serialises what it is
// given, which is the main process's share of Electron's IPC; no renderer work is
// counted. Part of `npm run bench`; `node benchmark/bridge-abuse-bench.js` alone.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')
const { EventEmitter } = require('node:events')
const Store = require('..')
const { registerStoreIpc } = require('../ipc')
const { createElectron } = require('../examples/electron-standin/main')
const { settingsOfSize } = require('./settings')

const APP = 'https://app.example.com'
const DOCS = 'https://docs.example.com'
const policy = {
  origins: { [APP]: { read: ['*'], write: ['settings', 'ui'] }, [DOCS]: { read: ['settings.theme', 'ui'] } },
  sensitiveKeys: ['ai.credentials.apiKey'],
}
const clone = (value) => v8.deserialize(v8.serialize(value))
const cpuMs = (since) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 5)).then(() => new Promise((resolve) => setImmediate(resolve)))

let nextId = 1
/** A window as the main process sees it: a webContents whose sends are serialised and counted. */
function fakeWindow(ipcMain, url) {
  const emitter = new EventEmitter()
  const frame = { url, parent: null }
  const win = {
    sent: 0,
    bytes: 0,
    webContents: {
      id: nextId++,
      mainFrame: frame,
      send: (channel, message) => {
        win.sent += 1
        win.bytes += v8.serialize(message).length
      },
      isDestroyed: () => false,
      on: (e, l) => emitter.on(e, l),
      removeListener: (e, l) => emitter.removeListener(e, l),
    },
    request: (op, ...args) => ipcMain.dispatch(`tad-store:${op}`, { sender: win.webContents, senderFrame: frame }, clone(args)),
  }
  return win
}

function open(size, options = {}) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-bridge-bench-'))
  const store = new Store({ cwd, history: false, checkpointIdleMs: 60_000 })
  if (size) store.store = settingsOfSize(size)
  const electron = createElectron()
  const dispose = registerStoreIpc(store, { policy, ipcMain: electron.ipcMain, ...options })
  return {
    store,
    electron,
    dispose,
    async close() {
      await dispose()
      await store.close()
      fs.rmSync(cwd, { recursive: true, force: true })
    },
  }
}

/** 50 small writes on a 3 MiB store, until delivered: without and with a whole-store subscription. */
async function wholeStoreSubscription() {
  const out = {}
  for (const subscribed of [false, true]) {
    const { store, electron, close } = open(3 << 20)
    const win = fakeWindow(electron.ipcMain, `${APP}/`)
    if (subscribed) await win.request('subscribe', '', 'doc-1')
    await settle()
    const since = process.cpuUsage()
    for (let i = 0; i < 50; i++) {
      store.set('settings.theme', `theme-${i}`)
      await settle()
    }
    out[subscribed ? 'with' : 'without'] = { cpuMs: cpuMs(since), sent: win.sent, bytes: win.bytes }
    await close()
  }
  return out
}

/** One window asks for 100,000 subscriptions below its own grant. */
async function subscriptionFlood() {
  const { store, electron, dispose, close } = open(1 << 20)
  const win = fakeWindow(electron.ipcMain, `${DOCS}/`)
  const setP50 = () => {
    const times = []
    for (let i = 0; i < 2000; i++) {
      const t = process.hrtime.bigint()
      store.set('ui.zoom', i)
      times.push(Number(process.hrtime.bigint() - t) / 1000)
    }
    return times.sort((a, b) => a - b)[times.length >> 1]
  }
  const heap = () => {
    global.gc?.()
    return process.memoryUsage().heapUsed
  }
  await settle()
  const before = { heap: heap(), setUs: setP50() }
  let refused = 0
  for (let i = 0; i < 100_000; i++) {
    const reply = await win.request('subscribe', `ui.k${i}`, 'doc-1')
    if (!reply.ok) refused++
  }
  await settle()
  const after = { heap: heap(), setUs: setP50() }
  await settle()
  // The flood's audit lines are written and its garbage collected first: what is timed
  // is the delivery alone.
  while (dispose.stats().auditQueued > 0) await new Promise((resolve) => setTimeout(resolve, 10))
  await new Promise((resolve) => setTimeout(resolve, 50))
  global.gc?.()
  const since = process.cpuUsage()
  store.set('ui', { zoom: 2 }) // a change above every subscription
  await settle()
  const deliveryMs = cpuMs(since)
  const held = store.stats().rendererSubscriptions
  await close()
  return { before, after, refused, held, deliveryMs }
}

/** 200,000 refused requests from an origin with no grant, 1,000 in flight at a time. */
async function refusalFlood() {
  const { store, electron, dispose, close } = open(64 << 10)
  store.onError(() => {}) // the one AUDIT_DROPPED notice
  const win = fakeWindow(electron.ipcMain, 'https://evil.example.net/')
  global.gc?.()
  const heapBefore = process.memoryUsage().heapUsed
  const started = process.hrtime.bigint()
  let peak = 0
  for (let i = 0; i < 200_000; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, k) => win.request('get', `k${i + k}`)))
    peak = Math.max(peak, dispose.stats().auditQueued)
  }
  global.gc?.()
  const heapRetained = process.memoryUsage().heapUsed - heapBefore
  const { auditDropped } = dispose.stats()
  await dispose()
  const drainedMs = Number(process.hrtime.bigint() - started) / 1e6
  await close()
  return { heapRetained, peak, drainedMs, auditDropped }
}

async function measure() {
  return { whole: await wholeStoreSubscription(), flood: await subscriptionFlood(), refusals: await refusalFlood() }
}

function table(r) {
  const mb = (b) => `${(b / (1 << 20)).toFixed(1)} MiB`
  const us = (v) => (v < 1000 ? `${v.toFixed(1)} µs` : `${(v / 1000).toFixed(2)} ms`)
  return [
    '| what one window does | main-process cost |',
    '| --- | --- |',
    `| nothing; 50 small writes on a 3 MiB store | ${r.whole.without.cpuMs.toFixed(1)} ms CPU |`,
    `| follows every change (\`onDidAnyChange\`); the same 50 writes | ${r.whole.with.cpuMs.toFixed(1)} ms CPU, ${r.whole.with.sent} messages of ${Math.round(r.whole.with.bytes / Math.max(1, r.whole.with.sent))} B |`,
    `| asks for 100,000 subscriptions | ${r.flood.held} held, ${r.flood.refused} refused (LIMIT_EXCEEDED); heap after GC ${mb(r.flood.before.heap)} → ${mb(r.flood.after.heap)}; \`set\` p50 ${us(r.flood.before.setUs)} → ${us(r.flood.after.setUs)}; one change above all 256: ${r.flood.deliveryMs.toFixed(1)} ms CPU |`,
    `| sends 200,000 refused requests | audit queue at most ${r.refusals.peak} lines; heap retained after GC ${mb(r.refusals.heapRetained)}; ${r.refusals.auditDropped} lines dropped (counted); all answered and the log written in ${(r.refusals.drainedMs / 1000).toFixed(1)} s |`,
  ].join('\n')
}

module.exports = { measure, table }

if (require.main === module) {
  measure().then((r) => console.log(table(r)))
}
