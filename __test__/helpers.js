'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..')

const storesOf = new WeakMap()

/**
 * Closes `store` (anything with `close()`: a store, a window, a bridge) when the test
 * ends, before its directory is removed; last registered, first closed.
 */
function closeLater(t, store) {
  if (!storesOf.has(t)) {
    storesOf.set(t, [])
  }
  storesOf.get(t).push(store)
  return store
}

/** A fresh temporary directory, removed when the test ends (after its stores close). */
function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-store-test-'))
  t.after(async () => {
    for (const store of (storesOf.get(t) ?? []).reverse()) await Promise.resolve(store.close()).catch(() => {})
    storesOf.delete(t)
    // Retries: a background write (the audit log, a renderer) may still be finishing.
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })
  })
  return dir
}

/** Every file in `dir` with its bytes, to assert that nothing changed. */
function dirContents(dir) {
  const out = {}
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    // The writer's lock file is not data: any open, even a refused one, may leave it.
    if (entry.name.endsWith('.lock')) continue
    const full = path.join(dir, entry.name)
    out[entry.name] = entry.isDirectory() ? dirContents(full) : fs.readFileSync(full).toString('base64')
  }
  return out
}

/** Runs `node -e code` in a child process; resolves with {code, signal, stdout, stderr}. */
function runNode(code, { env, timeout = 60_000, uid, gid, args = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '-e', code], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      uid,
      gid,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`child timed out after ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeout)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Asserts that calling fn throws an error with the given code (and returns it). */
function codeOf(fn) {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error, nothing was thrown')
}

module.exports = { ROOT, tempDir, closeLater, dirContents, runNode, codeOf }
