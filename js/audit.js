'use strict'
// The audit log beside the store: one JSON line per renderer write or refusal (time,
// origin, operation, key, outcome). Never a value. Rotated by size.
const fs = require('node:fs')
const path = require('node:path')

class AuditLog {
  #file
  #maxBytes
  #keep
  #onError
  #chain = Promise.resolve()

  /** `options`: `false` to turn it off, or `{ maxBytes = 1 MiB, keep = 3 }`. */
  constructor(storePath, options = {}, onError = () => {}) {
    this.#file = options === false ? undefined : path.join(path.dirname(storePath), 'audit.log')
    this.#maxBytes = options?.maxBytes ?? 1 << 20
    this.#keep = options?.keep ?? 3
    this.#onError = onError
  }

  get file() {
    return this.#file
  }

  /** Queues one line; lines are written in order, off the caller's path. */
  append({ origin, op, key, outcome }) {
    if (!this.#file) return
    const line = `${JSON.stringify({ time: new Date().toISOString(), origin, op, key, outcome })}\n`
    this.#chain = this.#chain.then(() => this.#write(line)).catch((error) => this.#onError(error))
  }

  /** Resolves once every queued line is written. */
  flush() {
    return this.#chain
  }

  async #write(line) {
    const size = await fs.promises.stat(this.#file).then((s) => s.size, () => 0)
    if (size + line.length > this.#maxBytes && size > 0) await this.#rotate()
    await fs.promises.appendFile(this.#file, line, { mode: 0o600 })
  }

  async #rotate() {
    for (let n = this.#keep - 1; n >= 1; n--) {
      await fs.promises.rename(`${this.#file}.${n}`, `${this.#file}.${n + 1}`).catch((e) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)))
    }
    await fs.promises.rename(this.#file, `${this.#file}.1`)
    await fs.promises.rm(`${this.#file}.${this.#keep + 1}`, { force: true })
  }
}

module.exports = { AuditLog }
