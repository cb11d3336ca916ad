'use strict'
// The example renderer in a real browser: Playwright drives two pages of it in headless
// Chromium (Debian's `chromium`, installed by .ci/run). Each page's window.storeAPI is
// the preload tad-store ships, run as a sandboxed preload and exposed through a bridge
// that copies as Electron's contextBridge does, carried over a local WebSocket to this
// process, which plays Electron's main process with the stand-in's ipcMain and the real
// bridge.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { EventEmitter } = require('node:events')
const Store = require('..')
const { registerStoreIpc } = require('../ipc')
const { storeOptions } = require('../schemas')
const { createElectron } = require('../examples/electron-standin/main')
const { tempDir, closeLater } = require('./helpers')

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ROOT = path.join(__dirname, '..')
const RENDERER = path.join(ROOT, 'examples', 'electron-app', 'renderer')

function bundle(entry, electron) {
  return require('esbuild').buildSync({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    define: { 'process.env.NODE_ENV': '"production"' },
    alias: { 'tad-store/react': path.join(ROOT, 'react.js'), ...(electron && { electron }) },
    external: electron ? [] : ['electron'],
    logLevel: 'silent',
  }).outputFiles[0].text
}

async function serve(t, store) {
  const assets = {
    '/bundle.js': bundle(path.join(RENDERER, 'app.js')),
    '/preload.js': bundle(path.join(__dirname, 'browser', 'ws-preload.js'), path.join(__dirname, 'browser', 'electron.js')),
    // The page as the app ships it, with the preload's script first, as Electron runs it.
    '/index.html': fs.readFileSync(path.join(RENDERER, 'index.html'), 'utf8').replace('<script src="bundle.js">', '<script src="preload.js"></script>\n    <script src="bundle.js">'),
  }
  const server = http.createServer((req, res) => {
    if (req.url === '/favicon.ico') return res.writeHead(204).end()
    const body = assets[req.url === '/' ? '/index.html' : req.url]
    if (body === undefined) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': req.url.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${server.address().port}`
  const electron = createElectron()
  const dispose = registerStoreIpc(store, {
    ipcMain: electron.ipcMain,
    policy: { origins: { [origin]: { read: ['settings', 'ui'], write: ['settings'], history: true } }, sensitiveKeys: ['ai.credentials.apiKey'] },
  })
  // Each WebSocket is one window: its webContents, and invokes dispatched to ipcMain.
  const { WebSocketServer } = require('ws')
  const wss = new WebSocketServer({ server, path: '/ipc' })
  let nextId = 1
  wss.on('connection', (socket, req) => {
    const events = new EventEmitter()
    const frame = { url: `${origin}${req.url}`, parent: null }
    frame.url = `${origin}/index.html`
    const sender = {
      id: nextId++,
      mainFrame: frame,
      send: (channel, ...args) => socket.readyState === 1 && socket.send(JSON.stringify({ type: 'event', channel, args })),
      isDestroyed: () => socket.readyState > 1,
      once: (event, listener) => events.once(event, listener),
      on: (event, listener) => events.on(event, listener),
      removeListener: (event, listener) => events.removeListener(event, listener),
    }
    socket.on('close', () => events.emit('destroyed'))
    socket.on('message', async (data) => {
      const message = JSON.parse(data)
      try {
        const value = await electron.ipcMain.dispatch(message.channel, { sender, senderFrame: frame }, message.args)
        socket.send(JSON.stringify({ type: 'reply', id: message.id, value }))
      } catch (error) {
        socket.send(JSON.stringify({ type: 'reply', id: message.id, error: String(error) }))
      }
    })
  })
  closeLater(t, { close: dispose })
  t.after(async () => {
    for (const client of wss.clients) client.terminate()
    await new Promise((resolve) => wss.close(resolve))
    await new Promise((resolve) => server.close(resolve))
  })
  return origin
}

test('two pages of the example renderer in Chromium stay in sync; a refused write shows its error', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)` }, async (t) => {
  const store = closeLater(t, new Store(storeOptions({ cwd: tempDir(t), secretKey: require('node:crypto').randomBytes(32) })))
  const origin = await serve(t, store)
  const { chromium } = require('playwright-core')
  // (The browser is closed by its own hook; the bridge and the store by closeLater.)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.after(() => browser.close())
  const [one, two] = await Promise.all([browser.newPage(), browser.newPage()])
  const problems = []
  for (const page of [one, two]) {
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()))
  }
  t.after(() => problems.length && console.error('page problems:', problems))
  await Promise.all([one, two].map((page) => page.goto(`${origin}/index.html`)))
  await Promise.all([one, two].map((page) => page.waitForSelector('#theme:not([disabled])')))
  assert.equal(await two.inputValue('#theme'), 'auto')

  await one.selectOption('#theme', 'dark')
  await two.waitForFunction(() => document.querySelector('#theme').value === 'dark', null, { timeout: 1000 })
  assert.equal(await two.evaluate(() => document.body.className), 'dark')
  assert.equal(store.get('settings.theme'), 'dark')

  await one.selectOption('#theme', 'sepia')
  await one.waitForSelector('#theme-error', { timeout: 2000 })
  assert.match(await one.textContent('#theme-error'), /SCHEMA_VIOLATION/)
  assert.equal(await one.inputValue('#theme'), 'dark', 'rolled back')
  assert.equal(store.get('settings.theme'), 'dark')
  assert.deepEqual(problems, [])
  if (process.env.TAD_STORE_SCREENSHOT) await one.screenshot({ path: process.env.TAD_STORE_SCREENSHOT })
})
