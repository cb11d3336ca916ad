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
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
