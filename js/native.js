'use strict'
// Loads the compiled addon, first found of: the file named by TAD_STORE_NATIVE;
// `tad-store.<platform>-<arch>.node` beside the package root (built by `npm install`, or
// shipped prebuilt in the package); the per-platform package `tad-store-<platform>-<arch>`
// (napi-rs's convention: published separately, listed as optionalDependencies, so npm
// installs only the one for the machine).
const fs = require('node:fs')
const path = require('node:path')

const platformId = `${process.platform}-${process.arch}`
const local = path.join(__dirname, '..', `tad-store.${platformId}.node`)

function load() {
  if (process.env.TAD_STORE_NATIVE) return require(process.env.TAD_STORE_NATIVE)
  if (fs.existsSync(local)) return require(local)
  return require(`tad-store-${platformId}`)
}

let native
try {
  native = load()
} catch (error) {
  const hint = `tad-store: the native addon for ${platformId} could not be loaded (${error.message}). Run \`npm install\` (needs Rust) to build it, or install the prebuilt package tad-store-${platformId}.`
  throw Object.assign(new Error(hint), { code: 'NATIVE_MISSING', kind: 'critical', cause: error })
}
module.exports = native
