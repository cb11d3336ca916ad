'use strict'
// Loads the compiled addon: the file named by TAD_STORE_NATIVE, else what napi-rs's
// generated loader (`binding.js`) finds for this machine: `tad-store.<platform>-<arch>
// [-<abi>].node` beside the package root (a checkout's build), or the prebuilt package
// `tad-store-<platform>-<arch>[-<abi>]` (an optionalDependency: npm installs only the
// one for the machine; glibc and musl told apart).

function load() {
  if (process.env.TAD_STORE_NATIVE) return require(process.env.TAD_STORE_NATIVE)
  return require('../binding.js')
}

let native
try {
  native = load()
} catch (error) {
  const platformId = `${process.platform}-${process.arch}`
  const hint = `tad-store: the native addon for ${platformId} could not be loaded (${error.message.split('\n')[0]}). Install the prebuilt package for this platform (npm installs it with tad-store), or build from source with Rust (\`npm run build\`).`
  throw Object.assign(new Error(hint), { code: 'NATIVE_MISSING', kind: 'critical', cause: error })
}
module.exports = native
