'use strict'
// Change latency through the renderer bridge, under the Electron stand-in (renderers are
// separate processes; messages are V8-serialised as in Electron). Part of npm run bench.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const Store = require('..')
const { registerStoreIpc } = require('../ipc')
const { createElectron } = require('../examples/electron-standin/main')

const PRELOAD = require('../preload').path
const ORIGIN = 'https://app.example.com'
const policy = { origins: { [ORIGIN]: { read: ['*'], write: ['ui'] } } }
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]
const now = () => process.hrtime.bigint()

// Renderer side: report how long each ping took to arrive (both clocks are CLOCK_MONOTONIC).
const LISTEN = `
  window.storeAPI.onDidChange('ui.ping', (v) => report(Number(clock() - BigInt(v.t)) / 1e3))
  await window.storeAPI.get('ui')
`

async function measure(rounds = 300) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-ipc-bench-'))
  const store = new Store({ cwd, history: false })
  const electron = createElectron()
  const dispose = registerStoreIpc(store, { policy, ipcMain: electron.ipcMain, audit: false })
  const open = () => electron.openWindow(`${ORIGIN}/`, { preload: PRELOAD })
  const windows = Array.from({ length: 11 }, open)
  try {
    const [sender, receiver] = windows
    await receiver.run(LISTEN)
    // Main process -> renderer.
    for (let i = 0; i < rounds; i++) {
      store.set('ui.ping', { i, t: String(now()) })
      await receiver.until((r) => r.length > i)
    }
    const mainToRenderer = receiver.reports.splice(0)
    // Renderer -> renderer.
    await sender.run(`globalThis.ping = (i) => window.storeAPI.set('ui.ping', { i, t: String(clock()) })`)
    for (let i = 0; i < rounds; i++) {
      await sender.run(`await ping(${i})`)
      await receiver.until((r) => r.length > i)
    }
    const rendererToRenderer = receiver.reports.splice(0)
    // Main-process CPU for one change broadcast to 10 subscribed windows: from the set
    // until the tenth window's message is sent (the replies are not counted).
    await Promise.all(windows.slice(2).map((w) => w.run(LISTEN)))
    const all = windows.slice(1)
    let sent = 0
    for (const w of all) {
      const send = w.webContents.send
      w.webContents.send = (...args) => {
        sent++
        return send(...args)
      }
    }
    const n = 200
    let cpuTotal = 0
    for (let i = 0; i < n; i++) {
      sent = 0
      const cpu = process.cpuUsage()
      store.set('ui.ping', { i, t: String(now()) })
      while (sent < all.length) await new Promise((resolve) => setImmediate(resolve))
      const used = process.cpuUsage(cpu)
      cpuTotal += used.user + used.system
      await Promise.all(all.map((w) => w.until((r) => r.length > i)))
    }
    return {
      mainToRenderer: { p50: pct(mainToRenderer, 0.5), p99: pct(mainToRenderer, 0.99) },
      rendererToRenderer: { p50: pct(rendererToRenderer, 0.5), p99: pct(rendererToRenderer, 0.99) },
      broadcastCpuUs: cpuTotal / n,
      windows: all.length,
    }
  } finally {
    await Promise.all(windows.map((w) => w.close()))
    dispose()
    await store.close()
    fs.rmSync(cwd, { recursive: true, force: true })
  }
}

function table(r) {
  const us = (v) => (v < 1000 ? `${v.toFixed(0)} µs` : `${(v / 1000).toFixed(2)} ms`)
  return [
    '| change latency | p50 | p99 |',
    '| --- | --- | --- |',
    `| main process → renderer | ${us(r.mainToRenderer.p50)} | ${us(r.mainToRenderer.p99)} |`,
    `| renderer → renderer | ${us(r.rendererToRenderer.p50)} | ${us(r.rendererToRenderer.p99)} |`,
    '',
    `Main-process CPU for one change broadcast to ${r.windows} subscribed windows: ${us(r.broadcastCpuUs)} (the change event, the policy checks and the 10 sends).`,
  ].join('\n')
}

module.exports = { measure, table }

if (require.main === module) {
  measure().then((r) => console.log(table(r)))
}
