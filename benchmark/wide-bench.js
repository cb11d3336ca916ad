'use strict'
// Wide shapes: a `set` (and `appendToArray`, `delete`) below an object of 1,000, 10,000 or 100,000
// keys, or in an array of 100,000 items, with no options, with `defaults`, and with a
// schema; measured right after open and after a checkpoint (the store quiet long
// enough for one), side by side with conf. A write should cost what changed, whatever
// the width of the objects above it and whatever the options. Each case runs in its own
// process. Prints a markdown table.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const SHAPES = { 'object 1,000 keys': 1000, 'object 10,000 keys': 10000, 'object 100,000 keys': 100000, 'array 1,000 items': -1000, 'array 100,000 items': -100000 }
const OPTIONS = ['none', 'defaults', 'schema', 'every option']
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const now = () => Number(process.hrtime.bigint()) / 1e3

function document(width) {
  const n = Math.abs(width)
  if (width < 0) return { big: Array.from({ length: n }, (_, i) => ({ n: i })) }
  const big = {}
  for (let i = 0; i < n; i++) big[`k${i}`] = { n: i }
  return { big }
}

const SCHEMA = { a: { type: 'number' }, big: { type: ['object', 'array'] }, token: { type: 'string' } }

function optionsFor(kind) {
  if (kind === 'defaults') return { defaults: { zz: 1 } }
  if (kind === 'schema') return { schema: SCHEMA }
  // conf has no sealed keys: it gets the rest (history is on by default in tad-store).
  if (kind === 'every option') return { defaults: { zz: 1 }, schema: SCHEMA, watch: true }
  return {}
}

function open(impl, cwd, kind) {
  if (impl === 'tad-store') {
    const Store = require(ROOT)
    const sealed = kind === 'every option' ? { sensitiveKeys: ['token'], secretKey: Buffer.alloc(32, 7) } : {}
    const store = new Store({ cwd, ...optionsFor(kind), ...sealed })
    if (sealed.sensitiveKeys) store.set('token', 'sk-bench')
    return store
  }
  const Conf = require('conf').default
  return new Conf({ cwd, projectName: 'bench', ...optionsFor(kind) })
}

function p50(times) {
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

/** p50 of `runs` calls of `op(i)`, in µs. */
function measure(runs, op) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const t = now()
    op(i)
    times.push(now() - t)
  }
  return p50(times)
}

async function child(impl, shape, kind) {
  const width = SHAPES[shape]
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-wide-'))
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(document(width)))
  const store = open(impl, dir, kind)
  const key = width < 0 ? 'big.7.n' : 'big.k7.n'
  // conf rewrites the whole file per write: a few samples say enough.
  const runs = impl === 'tad-store' ? 500 : width === 1000 ? 50 : 10
  const result = { impl, shape, kind }
  result.setOpenUs = measure(runs, (i) => store.set(key, i))
  if (impl === 'tad-store') {
    await store.flush()
    // Quiet past the idle checkpoint (500 ms), so the next writes follow a checkpoint.
    await sleep(1500)
  }
  result.setCheckpointUs = measure(runs, (i) => store.set(key, runs + i))
  if (width < 0) result.appendUs = measure(runs, (i) => store.appendToArray('big', { n: i }))
  // A member of the object, or an item from the middle of the array (the items after it
  // move up one index).
  if (impl === 'tad-store') result.deleteUs = measure(runs, (i) => store.delete(width < 0 ? `big[${-width >> 1}]` : `big.k${(i * 7) % width}`))
  if (impl === 'tad-store') {
    // The first set once the committer has begun a checkpoint: it holds the document's
    // snapshot, so that set copies what it shares with the snapshot on the key's path.
    // Quiet past the idle checkpoint (500 ms), then write; the median of 5 rounds. (The
    // slowest of the sets after it is V8's scavenges, 1-4 ms at every width.)
    const firsts = []
    for (let round = 0; round < 5; round++) {
      store.set(key, round)
      await store.flush()
      await sleep(510)
      const t = now()
      store.set(key, -round)
      firsts.push(now() - t)
    }
    result.checkpointFirstUs = p50(firsts)
    await store.close()
  }
  fs.rmSync(dir, { recursive: true, force: true })
  return result
}

function fmt(us) {
  if (us === undefined) return '–'
  return us < 10 ? `${us.toFixed(2)} µs` : us < 10000 ? `${us.toFixed(0)} µs` : `${(us / 1000).toFixed(1)} ms`
}

function main() {
  const rows = []
  for (const shape of Object.keys(SHAPES)) {
    for (const kind of OPTIONS) {
      const r = {}
      for (const impl of ['tad-store', 'conf']) {
        process.stderr.write(`bench: wide ${shape}, ${kind}, ${impl}...\n`)
        const run = spawnSync(process.execPath, [__filename, '--child', impl, shape, kind], { encoding: 'utf8', maxBuffer: 64 << 20 })
        if (run.status !== 0) {
          console.error(run.stderr)
          process.exit(1)
        }
        r[impl] = JSON.parse(run.stdout.trim().split('\n').pop())
      }
      rows.push(r)
    }
  }
  const lines = ['| shape | options | set p50, after open | set p50, after a checkpoint | appendToArray p50 | delete p50 | first set as a checkpoint runs | conf: set p50 | vs conf |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
  for (const { 'tad-store': t, conf: c } of rows) {
    const ratio = c.setOpenUs / Math.max(t.setOpenUs, t.setCheckpointUs)
    lines.push(`| ${t.shape} | ${t.kind} | ${fmt(t.setOpenUs)} | ${fmt(t.setCheckpointUs)} | ${fmt(t.appendUs)} | ${fmt(t.deleteUs)} | ${fmt(t.checkpointFirstUs)} | ${fmt(c.setOpenUs)} | ${ratio.toFixed(0)}× |`)
  }
  console.log(lines.join('\n'))
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5]).then((r) => console.log(JSON.stringify(r)))
} else {
  main()
}
