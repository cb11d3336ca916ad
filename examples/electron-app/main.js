'use strict'
// The TAD example app's main process: one store, the IPC bridge with a policy, and two
// windows with contextIsolation and sandbox on, whose preload is the one tad-store ships
// (a sandboxed preload cannot require a package, so it is named, not required). Run it
// with `npm start` here.
const path = require('node:path')
const { app, BrowserWindow, ipcMain, safeStorage } = require('electron')
const Store = require('tad-store')
const { safeStorageKeyProvider } = require('tad-store')
const { registerStoreIpc } = require('tad-store/ipc')
// The preload tad-store ships, self-contained for a sandboxed renderer.
const PRELOAD = require('tad-store/preload').path
const { storeOptions } = require('tad-store/schemas')

// What the app's own pages (loaded from files) may do. Credentials stay in this process:
// the schema's `x-sensitive` keys are hidden from every renderer, listed here or not.
const policy = {
  origins: {
    'file://': { read: ['settings', 'ui', 'workspaces'], write: ['settings', 'ui'], readOnly: ['settings.locale'], history: true },
  },
  sensitiveKeys: ['ai.credentials.apiKey', 'profile.auth.token', 'profile.auth.refreshToken'],
}

function createWindow() {
  const win = new BrowserWindow({
    width: 960,
    height: 720,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  })
  win.loadFile(path.join(__dirname, 'renderer', 'index.html'))
  return win
}

const ready = app.whenReady().then(() => {
  const userData = app.getPath('userData')
  // The data key that seals the credentials, kept encrypted by safeStorage (the OS keychain).
  const keyProvider = safeStorageKeyProvider({ safeStorage, file: path.join(userData, 'tad-store.key') })
  const store = new Store(storeOptions({ cwd: userData, keyProvider }))
  const dispose = registerStoreIpc(store, { policy, ipcMain })
  app.on('before-quit', async () => {
    dispose()
    await store.close()
  })
  return { store, windows: [createWindow(), createWindow()] }
})

module.exports = { ready, policy }
