'use strict'
// examples/electron-app's main.js, loaded unmodified under the stand-in, with the preload it names.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { createElectron, withElectron } = require('../examples/electron-standin/main')
const { tempDir, closeLater } = require('./helpers')

const MAIN = path.join(__dirname, '..', 'examples', 'electron-app', 'main.js')

async function startApp(t) {
  const electron = createElectron({ userData: tempDir(t) })
  delete require.cache[MAIN]
  const { ready } = withElectron(electron, () => require(MAIN))
  const { store, windows } = await ready
  // Quit (closing the store and the windows) before the directory is removed.
  closeLater(t, { close: () => electron.app.quit() })
  // A new store writes its file, and its first history entry, right away.
  for (let i = 0; i < 200 && store.listHistory().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  // loadFile is asynchronous in Electron too: wait for both renderers.
  await new Promise((resolve) => setTimeout(resolve, 50))
  return { electron, store, windows: windows.map((w) => w.handle) }
}

test('the example app: two sandboxed windows share the theme; one rolls back', async (t) => {
  const { store, windows } = await startApp(t)
  const [one, two] = windows
  for (const w of windows) await w.run(`window.storeAPI.onDidChange('settings.theme', (v) => report(v)); await window.storeAPI.get('settings.theme')`)
  assert.equal(store.get('settings.theme'), 'auto', 'the TAD schema default')
  await one.run(`await window.storeAPI.set('settings.theme', 'dark')`)
  await two.until((r) => r.includes('dark'))
  const history = await two.run(`return window.storeAPI.listHistory()`)
  assert.ok(history.length >= 1)
  const oldest = history.at(-1).timestamp
  await two.run(`await window.storeAPI.rollbackToTimestamp(${JSON.stringify(oldest)})`)
  await one.until((r) => r.at(-1) === 'auto')
  assert.equal(store.get('settings.theme'), 'auto')
})

test('the example app refuses what its policy and schema refuse', async (t) => {
  const { windows } = await startApp(t)
  const [one] = windows
  const refused = async (code) => (await one.run(code).then(() => null, (e) => e))?.code
  assert.equal(await refused(`await window.storeAPI.set('settings.theme', 'sepia')`), 'SCHEMA_VIOLATION')
  assert.equal(await refused(`await window.storeAPI.get('ai.credentials.apiKey')`), 'ACCESS_DENIED')
  assert.equal(await refused(`await window.storeAPI.set('settings.locale', 'fr-FR')`), 'ACCESS_DENIED')
})
