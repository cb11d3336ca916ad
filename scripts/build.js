#!/usr/bin/env node
// Builds the native addon. Release by default; `--debug` for quick iteration.
//
// In a checkout, `@napi-rs/cli` (a devDependency) builds it as napi-rs's package template
// does: `napi build --platform` leaves `tad-store.<platform>-<arch>[-<abi>].node` at the
// package root and regenerates the loader (`binding.js`, glibc/musl aware) and the native
// declarations (`binding.d.ts`), which `js/` is type-checked against.
//
// Installed as a dependency, the prebuilt package for the machine
// (`tad-store-<platform>-<arch>[-<abi>]`, an optionalDependency) is used and nothing is
// built, so no Rust toolchain is needed. Only when none loads (a platform without a
// prebuilt package, or a git install) is the addon built with cargo directly.
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const debug = process.argv.includes('--debug') || process.env.TAD_STORE_PROFILE === 'debug'
const installing = process.env.npm_lifecycle_event === 'install' && root.split(path.sep).includes('node_modules')

if (installing) {
  try {
    require(path.join(root, 'binding.js'))
    console.log('tad-store: using the prebuilt addon for this machine')
    process.exit(0)
  } catch (error) {
    console.log(`tad-store: no prebuilt addon loads here (${error.message.split('\n')[0]}); building from source`)
  }
}

const cli = (() => {
  try {
    return require.resolve('@napi-rs/cli/package.json', { paths: [root] })
  } catch {
    return undefined
  }
})()

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (result.error) {
    console.error(`tad-store: could not run ${command} (${result.error.message}). Install Rust from https://rustup.rs and retry.`)
    process.exit(1)
  }
  if (result.status !== 0) process.exit(result.status ?? 1)
}

if (cli) {
  const napi = path.join(path.dirname(cli), 'dist', 'cli.js')
  const args = [napi, 'build', '--platform', '--js', 'binding.js', '--dts', 'binding.d.ts']
  if (!debug) args.push('--release')
  // The workflow passes `--target <triple>` and cross-compiling flags through.
  args.push(...process.argv.slice(2).filter((a) => a !== '--debug'))
  run(process.execPath, args)
  console.log(`tad-store: built the addon with @napi-rs/cli (${debug ? 'debug' : 'release'})`)
} else {
  // No @napi-rs/cli (a source install): cargo alone, the artifact named as the loader
  // (`binding.js`, shipped in the package) looks for it.
  buildWithCargo()
}

function buildWithCargo() {
  const args = ['build', '--lib', '--message-format=json-render-diagnostics']
  if (!debug) args.push('--release')
  const cargo = spawnSync('cargo', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 256 << 20 })
  if (cargo.error) {
    console.error(`tad-store: could not run cargo (${cargo.error.message}). Install Rust from https://rustup.rs and retry.`)
    process.exit(1)
  }
  if (cargo.status !== 0) process.exit(cargo.status ?? 1)
  let artifact
  for (const line of cargo.stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    const msg = JSON.parse(line)
    if (msg.reason === 'compiler-artifact' && msg.target.name === 'tad_store' && msg.target.kind.includes('cdylib')) {
      artifact = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
    }
  }
  if (!artifact) {
    console.error('tad-store: cargo did not report the cdylib artifact')
    process.exit(1)
  }
  const dest = path.join(root, `tad-store.${platformSuffix()}.node`)
  // Copy to a temp name and rename, so a running process never maps a half-written file.
  const temp = `${dest}.tmp-${process.pid}`
  fs.copyFileSync(artifact, temp)
  fs.renameSync(temp, dest)
  console.log(`tad-store: built ${path.basename(dest)} with cargo (${debug ? 'debug' : 'release'})`)
}

/** napi-rs's platform suffix: `linux-x64-gnu`, `linux-arm64-musl`, `win32-x64-msvc`, `darwin-arm64`. */
function platformSuffix() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'win32') return `${base}-msvc`
  if (process.platform !== 'linux') return base
  const glibc = process.report?.getReport()?.header?.glibcVersionRuntime
  return `${base}-${glibc ? 'gnu' : 'musl'}`
}
