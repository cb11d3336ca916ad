'use strict'
// Loads the compiled addon: the file named by TAD_STORE_NATIVE, else what napi-rs's
// generated loader (`binding.js`) finds for this machine: `tad-store.<platform>-<arch>
// [-<abi>].node` beside the package root (a checkout's build), or the prebuilt package
// `tad-store-<platform>-<arch>[-<abi>]` (an optionalDependency: npm installs only the
// one for the machine; glibc and musl told apart).

/** @returns {typeof import('../binding')} */
function load() {
  if (process.env.TAD_STORE_NATIVE) return require(process.env.TAD_STORE_NATIVE)
  return require('../binding.js')
}

/** @type {typeof import('../binding')} */
let native
try {
  native = load()
} catch (error) {
  const platformId = `${process.platform}-${process.arch}`
  const hint = `tad-store: the native addon for ${platformId} could not be loaded (${error.message.split('\n')[0]}). Install the prebuilt package for this platform (npm installs it with tad-store), or build from source with Rust (\`npm run build\`).`
  throw Object.assign(new Error(hint), { code: 'NATIVE_MISSING', kind: 'critical', cause: error })
}

/**
 * Runs one of the core's less frequent calls on a `NativeStore` (a `Command`, see
 * crates/core/src/engine/command.rs): `{ op, ...arguments }`, with `value` the JSON text
 * of the value it carries, if any. Answers the command's JSON, parsed.
 * @param {import('../binding').NativeStore} store
 * @param {{ op: string } & Record<string, unknown>} command
 * @param {string} [value]
 * @returns {any}
 */
const run = (store, command, value) => JSON.parse(store.run(JSON.stringify(command), value))

/**
 * Starts one of the core's background calls (a `Task`, same file): a promise of its
 * text, rejected with the store's error.
 * @param {import('../binding').NativeStore} store
 * @param {{ op: string } & Record<string, unknown>} task
 */
const runTask = (store, task) => store.runTask(JSON.stringify(task))

module.exports = { ...native, run, runTask }
