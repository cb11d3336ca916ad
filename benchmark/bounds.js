'use strict'
// What bounds two of the targets the README quotes, measured outside the bench's loop:
// - `get` of a primitive in a tight loop of 10^6 calls, per store size (the bench's own
//   rows move with this machine's speed from one sample to the next);
// - opening a 10 MiB store five times in one process, with the page faults each open
//   takes (the first open takes the document's memory from the kernel), and what
//   touching that much fresh memory costs alone.
// Usage: node benchmark/bounds.js
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { settingsOfSize } = require('./settings')
const Store = require('..')

function storeDir(bytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-bounds-'))
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(settingsOfSize(bytes), undefined, '\t'))
  return dir
}

async function main() {
  // Opens first: the first one must be this process's first use of that much memory.
  const dir = storeDir(10 << 20)
  for (let i = 0; i < 5; i++) {
    const faults = process.resourceUsage().minorPageFault
    const t = performance.now()
    const store = new Store({ cwd: dir })
    const ms = performance.now() - t
    console.log(`open 10 MiB, #${i + 1} in this process: ${ms.toFixed(1)} ms, ${process.resourceUsage().minorPageFault - faults} page faults`)
    await store.close()
  }
  fs.rmSync(dir, { recursive: true, force: true })
  for (const [label, bytes] of [['10 KiB', 10 << 10], ['1 MiB', 1 << 20], ['10 MiB', 10 << 20]]) {
    const dir = storeDir(bytes)
    const store = new Store({ cwd: dir })
    const rounds = []
    for (let r = 0; r < 3; r++) {
      const t = process.hrtime.bigint()
      for (let i = 0; i < 1e6; i++) store.get('settings.theme')
      rounds.push(Number(process.hrtime.bigint() - t) / 1e6)
    }
    console.log(`get (primitive), tight loop, ${label}: ${rounds.map((ns) => ns.toFixed(0)).join(' / ')} ns`)
    await store.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  let t = performance.now()
  const fresh = Buffer.allocUnsafe(46e6)
  fresh.fill(1)
  const first = performance.now() - t
  t = performance.now()
  fresh.fill(2)
  console.log(`touching 46 MB of fresh memory: ${first.toFixed(1)} ms (the same memory again: ${(performance.now() - t).toFixed(1)} ms)`)
}

main()
