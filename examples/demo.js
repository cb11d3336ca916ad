'use strict'
// npm run demo: a first look at tad-store. Opens a store in a temporary directory, sets
// and reads values, shows a change event, flushes, reopens and prints what survived.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const Store = require('..')

const say = (...args) => console.log(...args)

async function main() {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-store-demo-'))
  say(`1. Open a store in ${cwd}`)
  const store = new Store({ cwd, defaults: { settings: { theme: 'light', language: 'en' } } })
  say(`   file: ${store.path}`)
  say('   defaults filled in:', store.store)

  say('\n2. Listen for changes to settings.theme')
  const changed = new Promise((resolve) => {
    const off = store.onDidChange('settings.theme', (newValue, oldValue) => {
      say(`   onDidChange: settings.theme ${JSON.stringify(oldValue)} -> ${JSON.stringify(newValue)}`)
      off()
      resolve()
    })
  })

  say('\n3. Set values (each returns in microseconds; the disk catches up in the background)')
  store.set('settings.language', 'en-GB') // the first call warms up the JIT
  let t = process.hrtime.bigint()
  store.set('settings.theme', 'dark')
  say(`   set('settings.theme', 'dark') took ${(Number(process.hrtime.bigint() - t) / 1000).toFixed(1)} µs`)
  store.set({ 'profile.name': 'Ada', 'ui.window': { width: 1440, height: 900 } })
  store.appendToArray('workspaces', { name: 'tad', path: '/home/ada/tad' })
  say('   get("settings.theme") =', store.get('settings.theme'))
  say('   get("ui.window") =', store.get('ui.window'))
  say('   get("missing", "fallback") =', store.get('missing', 'fallback'))
  await changed

  say('\n4. Bad input is refused with a stable code, and changes nothing')
  for (const [key, value] of [['__proto__.polluted', true], ['when', NaN], ['callback', () => 1]]) {
    try {
      store.set(key, value)
    } catch (error) {
      say(`   set(${JSON.stringify(key)}, ${String(value)}) -> ${error.code}: ${error.message}`)
    }
  }

  say('\n5. flush(): resolves once everything above is durable (journal fsynced)')
  t = process.hrtime.bigint()
  await store.flush()
  say(`   durable after ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(2)} ms`)
  await store.close()

  say('\n6. Reopen: what survived')
  const again = new Store({ cwd })
  say(JSON.stringify(again.store, undefined, 2).replace(/^/gm, '   '))
  say(`\n   ${path.basename(again.path)} on disk (electron-store's format):`)
  say(fs.readFileSync(again.path, 'utf8').replace(/^/gm, '   '))
  await again.close()
  fs.rmSync(cwd, { recursive: true, force: true })
  await twoWindows()
  await twoDevices()
}

/**
 * Part three: two devices, each its own store directory, sharing a folder as a sync
 * service would replicate it (here the same local folder). Only the synced keys travel;
 * the API key and the window size stay where they were set.
 */
async function twoDevices() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-store-demo-sync-'))
  const folder = path.join(root, 'Dropbox', 'TAD')
  fs.mkdirSync(folder, { recursive: true })
  say(`\n8. Two devices syncing through ${folder}`)
  const device = (name) =>
    new Store({
      cwd: path.join(root, name),
      sensitiveKeys: ['ai.request.apiKey'],
      secretKey: Buffer.alloc(32, name.length),
      sync: { folder, keys: ['settings', 'ai.request'], device: name, scanIntervalMs: 200 },
    })
  const laptop = device('laptop')
  const desktop = device('desktop')
  const arrived = new Promise((resolve) => desktop.onDidChange('settings.theme', (v, old) => resolve([old, v])))
  laptop.set({ 'settings.theme': 'dark', 'ai.request.model': 'gpt-5', 'ai.request.apiKey': 'sk-laptop-only', 'ui.window.width': 1440 })
  desktop.set('settings.fontSize', 15)
  const t = process.hrtime.bigint()
  // A store never keeps Node running on its own (as electron-store does not); this
  // script has nothing else to wait on, so a timer holds it open meanwhile.
  const alive = setInterval(() => {}, 1000)
  const [old, theme] = await arrived
  say(`   desktop's onDidChange: settings.theme ${JSON.stringify(old)} -> ${JSON.stringify(theme)}, ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms after the laptop set it`)
  while (laptop.get('settings.fontSize') !== 15 || desktop.get('ai.request.model') !== 'gpt-5') {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  for (const [name, store] of [['laptop', laptop], ['desktop', desktop]]) {
    say(`   ${name}: settings ${JSON.stringify(store.get('settings'))}, ai.request ${JSON.stringify(store.get('ai.request'))}, ui ${JSON.stringify(store.get('ui') ?? null)}`)
  }
  const status = laptop.syncStatus()
  say(`   laptop's syncStatus(): devices ${status.devices.map((d) => `${d.device}${d.thisDevice ? ' (this)' : ''}`).join(', ')}; pending out ${status.pendingOut}, in ${status.pendingIn}; conflicts ${status.conflicts.length}`)
  const files = fs.readdirSync(folder, { recursive: true }).filter((f) => String(f).endsWith('.tadsync'))
  say(`   the folder: ${files.length} change files; one holding 'sk-laptop-only': ${files.some((f) => fs.readFileSync(path.join(folder, String(f))).includes('sk-laptop-only'))}`)
  clearInterval(alive)
  await laptop.close()
  await desktop.close()
  fs.rmSync(root, { recursive: true, force: true })
}

/**
 * Part two: examples/electron-app, unmodified, under the Electron stand-in (Electron's
 * binary cannot be installed here). Each window's renderer is its own process with
 * contextIsolation and sandbox on; all it has is window.storeAPI.
 */
async function twoWindows() {
  const { createElectron, withElectron } = require('./electron-standin/main')
  const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-store-demo-app-'))
  say(`\n7. The example Electron app, two windows (userData: ${userData})`)
  const electron = createElectron({ userData })
  const { ready } = withElectron(electron, () => require('./electron-app/main.js'))
  const { store, windows } = await ready
  const [one, two] = windows.map((w) => w.handle)
  for (let i = 0; i < 200 && store.listHistory().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  const watch = `window.storeAPI.onDidChange('settings.theme', (v, old) => report({ theme: v, was: old })); await window.storeAPI.get('settings.theme')`
  await one.run(watch)
  await two.run(watch)
  one.webContents.on('report', (r) => say(`   window 1 sees settings.theme: ${r.was} -> ${r.theme}`))
  two.webContents.on('report', (r) => say(`   window 2 sees settings.theme: ${r.was} -> ${r.theme}`))
  say('   window 1 sets the theme to dark')
  await one.run(`await window.storeAPI.set('settings.theme', 'dark')`)
  await two.until((r) => r.some((x) => x.theme === 'dark'))
  const history = await two.run(`return window.storeAPI.listHistory()`)
  say(`   window 2 lists the history: ${history.map((e) => `${e.timestamp} (${e.kind})`).join(', ')}`)
  const first = history.at(-1).timestamp
  say(`   window 2 rolls back to ${first}`)
  await two.run(`await window.storeAPI.rollbackToTimestamp(${JSON.stringify(first)})`)
  await one.until((r) => r.some((x) => x.theme === 'auto'))
  const refused = await one.run(`await window.storeAPI.get('ai.credentials.apiKey')`).catch((e) => e)
  say(`   window 1 asks for the API key: ${refused.code} (${refused.message})`)
  // The main process reads it in plaintext; the file holds only the sealed envelope.
  store.set('ai.credentials.apiKey', 'sk-demo-1234')
  await store.flush()
  say(`   main process: ai.credentials.apiKey = ${store.get('ai.credentials.apiKey')}`)
  await electron.app.quit()
  const onDisk = JSON.parse(fs.readFileSync(path.join(userData, 'config.json'), 'utf8')).ai.credentials.apiKey
  say(`   on disk (sealed with a key safeStorage keeps): ${onDisk.slice(0, 48)}…`)
  fs.rmSync(userData, { recursive: true, force: true })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
