'use strict'
// The audit log beside the store: one JSON line per renderer write or refusal (time,
// origin, operation, key, outcome). Never a value. Rotated by size.
//
// Renderers choose what reaches it, so it is bounded: origins and keys are cut to a
// fixed length, every line separator is escaped (a key holding U+2028 cannot split a
// line for a reader that honours it), and lines wait in a queue of fixed size, written
// in batches; when renderers produce them faster than the disk takes them, the excess
// is dropped and counted, never held in memory.
const fs = require('node:fs')
const path = require('node:path')
const { quote } = require('./policy')

/** Longest origin or key an audit line quotes. */
const FIELD_LENGTH = 200

/** Characters JSON leaves raw that some readers take for line ends. */
const LINE_SEPARATORS = /[\u0085\u2028\u2029]/g

/** One audit line for `record`: JSON, fields capped, on one line for every reader. */
function formatLine({ time, origin, op, key, outcome }) {
  const record = { time, origin: quote(origin, FIELD_LENGTH), op: quote(op, 40), key: key === undefined ? undefined : quote(key, FIELD_LENGTH), outcome: quote(outcome, 60) }
  return `${JSON.stringify(record).replace(LINE_SEPARATORS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`
}

class AuditLog {
  #file
  #maxBytes
  #keep
  #maxQueued
  #onError
  /** Lines waiting to be written. Invariant: never longer than `#maxQueued`. */
  #queue = []
  /** The batch being written, settled when it is on disk. */
  #writing = null
  #dropped = 0
  /** Whether this overflow (since the queue last drained) has been reported. */
  #overflowReported = false

  /** `options`: `false` to turn it off, or `{ maxBytes = 1 MiB, keep = 3, maxQueued = 4096 }`. */
  constructor(storePath, options = {}, onError = (/** @type {Error} */ _error) => {}) {
    this.#file = options === false ? undefined : require('./native').storeFiles(storePath).auditLog
    this.#maxBytes = options?.maxBytes ?? 1 << 20
    this.#keep = options?.keep ?? 3
    this.#maxQueued = options?.maxQueued ?? 4096
    // A listener that throws must not stop the log (nor reject a flush).
    this.#onError = (error) => {
      try {
        onError(error)
      } catch (listenerError) {
        queueMicrotask(() => {
          throw listenerError
        })
      }
    }
  }

  get file() {
    return this.#file
  }

  /** Lines dropped because the queue was full. */
  get dropped() {
    return this.#dropped
  }

  /** Lines waiting to be written. */
  get queued() {
    return this.#queue.length
  }

  /** Queues one line; lines are written in order, off the caller's path. */
  append({ origin, op, key, outcome }) {
    if (!this.#file) return
    if (this.#queue.length >= this.#maxQueued) {
      this.#dropped += 1
      if (!this.#overflowReported) {
        this.#overflowReported = true
        this.#onError(Object.assign(new Error(`The audit log of ${this.#file} is behind: renderer requests come faster than it is written, so lines are dropped (counted in stats().rendererAuditDropped)`), { code: 'AUDIT_DROPPED', kind: 'transient', file: this.#file }))
      }
      return
    }
    this.#queue.push(formatLine({ time: new Date().toISOString(), origin, op, key, outcome }))
    this.#writing ??= this.#drain()
  }

  /** Resolves once every queued line is written. */
  async flush() {
    while (this.#writing) await this.#writing
  }

  async #drain() {
    try {
      while (this.#queue.length > 0) {
        // As many lines as one file can take, so a rotated file stays under maxBytes.
        let n = 1
        let bytes = this.#queue[0].length
        while (n < this.#queue.length && bytes + this.#queue[n].length <= this.#maxBytes) bytes += this.#queue[n++].length
        const batch = this.#queue.splice(0, n).join('')
        await this.#write(batch).catch((error) => this.#onError(error))
      }
      this.#overflowReported = false
    } finally {
      this.#writing = null
    }
  }

  async #write(text) {
    const size = await fs.promises.stat(this.#file).then((s) => s.size, () => 0)
    if (size + text.length > this.#maxBytes && size > 0) await this.#rotate()
    await fs.promises.appendFile(this.#file, text, { mode: 0o600 })
  }

  async #rotate() {
    for (let n = this.#keep - 1; n >= 1; n--) {
      await fs.promises.rename(`${this.#file}.${n}`, `${this.#file}.${n + 1}`).catch((e) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)))
    }
    await fs.promises.rename(this.#file, `${this.#file}.1`)
    await fs.promises.rm(`${this.#file}.${this.#keep + 1}`, { force: true })
  }
}

module.exports = { AuditLog, formatLine }
