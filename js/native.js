'use strict'
// Loads the compiled addon: `tad-store.<platform>-<arch>.node` beside the package root,
// or the file named by TAD_STORE_NATIVE.
const path = require('node:path')

const file = process.env.TAD_STORE_NATIVE || path.join(__dirname, '..', `tad-store.${process.platform}-${process.arch}.node`)
let native
try {
  native = require(file)
} catch (error) {
  const hint = `tad-store: the native addon ${file} could not be loaded (${error.message}). Run \`npm install\` (needs Rust) to build it.`
  throw Object.assign(new Error(hint), { code: 'NATIVE_MISSING', kind: 'critical', cause: error })
}
module.exports = native
