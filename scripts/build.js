#!/usr/bin/env node
// Builds the native addon with cargo and copies it next to the loader as
// `tad-store.<platform>-<arch>.node`. Release by default; `--debug` for quick iteration.
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const debug = process.argv.includes('--debug') || process.env.TAD_STORE_PROFILE === 'debug'
const dest = path.join(root, `tad-store.${process.platform}-${process.arch}.node`)

// Installed as a dependency (inside node_modules) with a prebuilt addon for this machine
// in the package: use it, no Rust needed. A development checkout always builds, so a
// stale addon is never kept.
if (process.env.npm_lifecycle_event === 'install' && root.split(path.sep).includes('node_modules') && fs.existsSync(dest)) {
  try {
    require(dest)
    console.log(`tad-store: using the prebuilt ${path.basename(dest)}`)
    process.exit(0)
  } catch (error) {
    console.log(`tad-store: the prebuilt ${path.basename(dest)} does not load here (${error.message}); building`)
  }
}
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
// Copy to a temp name and rename, so a running process never maps a half-written file.
const temp = `${dest}.tmp-${process.pid}`
fs.copyFileSync(artifact, temp)
fs.renameSync(temp, dest)
console.log(`tad-store: built ${path.relative(root, dest)} (${debug ? 'debug' : 'release'})`)
