'use strict'
// The package as an app consumes it: `npm pack` of the main package and of this
// platform's prebuilt one, installed into a fresh directory without Rust, loads
// every entry point (CommonJS and ESM), resolves its types, runs a set and a get, and
// ships the `tad-store` command.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { tempDir, ROOT } = require('./helpers')

function run(command, args, cwd, env = process.env) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' } })
  assert.equal(result.status, 0, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

/** napi-rs's name for this machine: `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, `win32-x64-msvc`. */
function platformSuffix() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'win32') return `${base}-msvc`
  if (process.platform !== 'linux') return base
  return `${base}-${process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

/** The environment with every PATH directory that holds `cargo` or `rustc` left out. */
function withoutCargo() {
  const exe = process.platform === 'win32' ? '.exe' : ''
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !['cargo', 'rustc'].some((t) => fs.existsSync(path.join(d, t + exe))))
  const env = { ...process.env, PATH: dirs.join(path.delimiter) }
  for (const name of ['CARGO', 'CARGO_HOME', 'RUSTUP_HOME', 'RUSTC']) delete env[name]
  const probe = spawnSync('cargo', ['--version'], { env })
  assert.ok(probe.error, 'cargo is out of reach')
  return env
}

test('npm pack installs into a fresh app: every entry point loads (CJS and ESM), with types, and the CLI runs', { timeout: 600_000 }, (t) => {
  const dir = tempDir(t)
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], ROOT))
  const files = packed.files.map((f) => f.path)
  // The main package is the same on every platform: the addon comes in the prebuilt
  // package for the machine (napi-rs's layout), found by the generated loader.
  assert.ok(!files.some((f) => f.endsWith('.node')), 'no addon in the main package')
  for (const f of ['binding.js', 'binding.d.ts']) assert.ok(files.includes(f), f)
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  const suffix = platformSuffix()
  assert.equal(manifest.optionalDependencies[`tad-store-${suffix}`], manifest.version, 'this platform has a prebuilt package')
  // That package as the workflow publishes it: npm/<target>/package.json and the addon.
  const platformDir = path.join(dir, `platform-${suffix}`)
  fs.mkdirSync(platformDir)
  fs.copyFileSync(path.join(ROOT, 'npm', suffix, 'package.json'), path.join(platformDir, 'package.json'))
  fs.copyFileSync(path.join(ROOT, `tad-store.${suffix}.node`), path.join(platformDir, `tad-store.${suffix}.node`))
  const [prebuilt] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], platformDir))
  for (const f of ['index.d.ts', 'ipc.d.ts', 'react.d.ts', 'preload/index.d.ts', 'preload/window.d.ts', 'schemas/window.d.ts', 'schemas/tad-app.schema.json', 'bin/tad-store.js']) {
    assert.ok(files.includes(f), f)
  }
  assert.ok(!files.some((f) => f.startsWith('__test__/') || f.startsWith('target/')), 'no tests or build output')

  const app = path.join(dir, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  const reactVersion = require('react/package.json').version
  // Installed as an app installs it, with no Rust toolchain: cargo is not on PATH, so
  // anything that tried to build would fail the install.
  const installed = run('npm', ['install', '--prefer-offline', '--no-package-lock', '--foreground-scripts', path.join(dir, packed.filename), path.join(dir, prebuilt.filename), `react@${reactVersion}`], app, withoutCargo())
  assert.match(installed, /tad-store: using the prebuilt addon/, 'nothing was built')

  const data = path.join(dir, 'data')
  fs.writeFileSync(
    path.join(app, 'cjs.js'),
    `const Store = require('tad-store')
     const { StoreManager, safeStorageKeyProvider } = require('tad-store')
     const { registerStoreIpc } = require('tad-store/ipc')
     const { exposeStoreAPI } = require('tad-store/preload')
     const { useStore } = require('tad-store/react')
     const { storeOptions } = require('tad-store/schemas')
     const schema = require('tad-store/schemas/tad-app.schema.json')
     for (const f of [StoreManager, safeStorageKeyProvider, registerStoreIpc, exposeStoreAPI, useStore, storeOptions]) if (typeof f !== 'function') throw new Error('missing export')
     // The preload an app names as webPreferences.preload, shipped in the package.
     const preload = require('tad-store/preload').path
     if (preload !== require.resolve('tad-store/preload/sandboxed') || !require('node:fs').readFileSync(preload, 'utf8').includes('exposeStoreAPI()')) throw new Error('no shipped preload at ' + preload)
     const store = new Store({ cwd: ${JSON.stringify(data)}, name: 'cjs' })
     store.set('settings.theme', 'dark')
     console.log(JSON.stringify({ theme: store.get('settings.theme'), version: schema['x-version'], file: require.resolve('tad-store') }))
     store.close()`,
  )
  const cjs = JSON.parse(run(process.execPath, ['cjs.js'], app))
  assert.deepEqual([cjs.theme, cjs.version], ['dark', '2.0.0'])
  assert.ok(cjs.file.startsWith(path.join(app, 'node_modules', 'tad-store')), 'loaded from the installed package')

  fs.writeFileSync(
    path.join(app, 'esm.mjs'),
    `import Store, { StoreManager } from 'tad-store'
     import { registerStoreIpc } from 'tad-store/ipc'
     import { exposeStoreAPI } from 'tad-store/preload'
     import { useStore } from 'tad-store/react'
     import { storeOptions } from 'tad-store/schemas'
     import schema from 'tad-store/schemas/tad-app.schema.json' with { type: 'json' }
     for (const f of [StoreManager, registerStoreIpc, exposeStoreAPI, useStore, storeOptions]) if (typeof f !== 'function') throw new Error('missing export')
     const store = new Store({ cwd: ${JSON.stringify(data)}, name: 'esm' })
     store.set('n', 41 + 1)
     console.log(JSON.stringify({ n: store.get('n'), version: schema['x-version'] }))
     await store.close()`,
  )
  assert.deepEqual(JSON.parse(run(process.execPath, ['esm.mjs'], app)), { n: 42, version: '2.0.0' })

  // Types through the package's `exports`, as an app's TypeScript resolves them.
  fs.writeFileSync(
    path.join(app, 'index.ts'),
    `/// <reference types="tad-store/schemas/window" />
     import Store = require('tad-store')
     import { registerStoreIpc } from 'tad-store/ipc'
     import { useStore } from 'tad-store/react'
     import type { StoreAPI } from 'tad-store/preload'
     import { storeOptions, type TadAppStore } from 'tad-store/schemas'
     const store = new Store<TadAppStore>(storeOptions({ secretKey: new Uint8Array(32) }))
     const theme: 'light' | 'dark' | 'auto' | undefined = store.get('settings.theme')
     registerStoreIpc(store, { policy: { origins: {} } })
     const api: StoreAPI<TadAppStore> = window.storeAPI
     export function Theme() { return useStore('settings.theme', 'auto').value }
     // @ts-expect-error: not a key of the TAD store
     store.get('settings.colour')
     export { theme, api }`,
  )
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, lib: ['es2022', 'dom'], types: [] }, files: ['index.ts'] }))
  run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app)

  const bin = path.join(app, 'node_modules', '.bin', 'tad-store')
  assert.match(run(bin, ['get', 'settings.theme', '--file', path.join(data, 'cjs.json')], app), /^dark\n$/)
})

test("require('tad-store') loads the Store and the addon only: the CLI, IPC, React, schema helpers and semver wait until used", () => {
  const probe = `require(${JSON.stringify(ROOT)})
    const loaded = Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(ROOT)}, f))
    console.log(JSON.stringify(loaded))`
  const loaded = JSON.parse(run(process.execPath, ['-e', probe], ROOT))
  for (const lazy of ['js/cli.js', 'js/ipc.js', 'js/react.js', 'js/policy.js', 'js/audit.js', 'ipc.js', 'react.js', 'schemas/index.js']) {
    assert.ok(!loaded.includes(lazy), `${lazy} is not loaded by require('tad-store')`)
  }
  assert.ok(!loaded.some((f) => f.includes(`node_modules${path.sep}semver`)), 'semver waits for a migration')
  assert.ok(loaded.includes('js/store.js') && loaded.includes('binding.js'), 'the Store and the addon are loaded')
  // A migration loads semver when it runs.
  const migrating = `const Store = require(${JSON.stringify(ROOT)})
    const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'tad-lazy-'))
    ;(async () => {
      // A fresh store records its version without migrating (conf's rule); the next
      // version's open runs the step.
      await new Store({ cwd: dir, projectVersion: '1.0.0', migrations: { '1.0.0': () => {} } }).close()
      const store = new Store({ cwd: dir, projectVersion: '2.0.0', migrations: { '2.0.0': (s) => s.set('m', 1) } })
      console.log(JSON.stringify({ m: store.get('m'), semver: Object.keys(require.cache).some((f) => f.includes('semver')) }))
      await store.close()
    })()`
  assert.deepEqual(JSON.parse(run(process.execPath, ['-e', migrating], ROOT)), { m: 1, semver: true })
})
