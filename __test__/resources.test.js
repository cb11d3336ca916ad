'use strict'
// What a store holds while open, and that it gives all of it back: threads, descriptors
// and watches return to their baseline after stores are opened and closed (or collected
// without closing) thousands of times. Counted from /proc/self, so Linux only.
const test = require('node:test')
const assert = require('node:assert/strict')
const { runNode, tempDir } = require('./helpers')

const linuxOnly = process.platform !== 'linux' && 'counts threads and descriptors in /proc/self'

/** Code for a child process: `counts()`, `settle(base)`, and the package as `Store`. */
const prelude = `
  const Store = require('.')
  const fs = require('fs')
  const path = require('path')
  const counts = () => ({
    threads: fs.readdirSync('/proc/self/task').length,
    fds: fs.readdirSync('/proc/self/fd').length,
  })
  // The counts once they hold still (a watcher's thread ends a moment after its last
  // watch is dropped): the same five times in a row, 50 ms apart (at most 10 s).
  async function steady() {
    let last = JSON.stringify(counts())
    const deadline = Date.now() + 10000
    for (let same = 0; same < 5 && Date.now() < deadline; ) {
      if (global.gc) global.gc()
      await new Promise((resolve) => setTimeout(resolve, 50))
      const now = JSON.stringify(counts())
      same = now === last ? same + 1 : 0
      last = now
    }
    return JSON.parse(last)
  }
  // Threads end and descriptors close a moment after close() resolves (the committer
  // answers, then returns): wait until the counts are back, or report what is left.
  async function settle(base) {
    const deadline = Date.now() + 10000
    let now = counts()
    while ((now.threads > base.threads || now.fds > base.fds) && Date.now() < deadline) {
      if (global.gc) global.gc()
      await new Promise((resolve) => setTimeout(resolve, 20))
      now = counts()
    }
    return now
  }
`

test('opening and closing watched and unwatched stores thousands of times leaves nothing behind', { skip: linuxOnly }, async (t) => {
  const dir = tempDir(t)
  const result = await runNode(
    `${prelude}
    ;(async () => {
      const cwd = (i) => path.join(${JSON.stringify(dir)}, 'store' + (i % 20))
      // Warm-up: what the runtime starts once (libuv's pool, the first watch) is baseline.
      for (const watch of [false, true]) {
        const store = new Store({ cwd: cwd(0), watch })
        store.set('warm', true)
        await store.close()
      }
      const base = await steady()
      let peak = base
      for (let i = 0; i < 2000; i++) {
        const store = new Store({ cwd: cwd(i), watch: i % 2 === 0 })
        store.set('i', i)
        if (i % 100 === 0) peak = { threads: Math.max(peak.threads, counts().threads), fds: Math.max(peak.fds, counts().fds) }
        await store.close()
      }
      const after = await settle(base)
      console.log(JSON.stringify({ base, peak, after }))
    })()`,
    { timeout: 170_000, args: ['--expose-gc'] },
  )
  assert.equal(result.code, 0, result.stderr)
  const { base, peak, after } = JSON.parse(result.stdout.trim().split('\n').pop())
  assert.deepEqual(after, base, `after 2000 open/close rounds (peak ${JSON.stringify(peak)})`)
})

test('stores collected without close() give back their threads, descriptors and watches', { skip: linuxOnly }, async (t) => {
  const dir = tempDir(t)
  const result = await runNode(
    `${prelude}
    ;(async () => {
      const cwd = (i) => path.join(${JSON.stringify(dir)}, 'store' + i)
      for (const watch of [false, true]) {
        const store = new Store({ cwd: cwd('warm'), watch })
        store.set('warm', true)
        await store.close()
      }
      const base = await steady()
      for (let round = 0; round < 5; round++) {
        ;(() => {
          for (let i = 0; i < 40; i++) new Store({ cwd: cwd(round * 40 + i), watch: i % 2 === 0 }).set('i', i)
        })()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const opened = counts()
      const after = await settle(base)
      console.log(JSON.stringify({ base, opened, after }))
    })()`,
    { timeout: 120_000, args: ['--expose-gc'] },
  )
  assert.equal(result.code, 0, result.stderr)
  const { base, opened, after } = JSON.parse(result.stdout.trim().split('\n').pop())
  assert.deepEqual(after, base, `after 200 stores were dropped unclosed (open: ${JSON.stringify(opened)})`)
})
