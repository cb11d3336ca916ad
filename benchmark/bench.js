'use strict'
// npm run bench: tad-store against conf@16 (electron-store's engine), default and
// `cache: true`, in the same run, at 10 KiB, 1 MiB and 10 MiB of realistic settings.
// Every (store, size) pair runs in its own child process, so peak RSS is its own.
//
//   node benchmark/bench.js [--sizes 10k,1m,10m] [--json out.json]
//   node benchmark/bench.js --sizes 10m --impls tad-store+schema   (raw figures, one store)
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { settingsOfSize } = require('./settings')

const SIZES = { '10k': 10 << 10, '1m': 1 << 20, '10m': 10 << 20 }
const IMPLS = ['tad-store', 'conf', 'conf-cache']
// With the TAD app schema: every write validated (conf validates the whole store with ajv).
const SCHEMA_IMPLS = ['tad-store+schema', 'conf+schema']

function arg(name, fallback) {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : process.argv[i + 1]
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]
}
// performance.now(): an empty interval reads ~40 ns here, where hrtime.bigint() read
// ~90 ns (a BigInt made and converted per reading), which inflated every figure below
// a microsecond, ours and conf's alike.
const { performance } = require('node:perf_hooks')
const now = () => performance.now() // ms

/**
 * Per-call latency samples (ms) of `fn`, at most `count` calls or `budgetMs`. With
 * `batch` > 1 each sample is the mean of that many consecutive calls, so the clock's
 * own cost is spread over them: for p50 rows of sub-microsecond calls (no p99 is read
 * from those).
 */
function sample(fn, count, budgetMs, batch = 1) {
  const out = []
  const deadline = now() + budgetMs
  for (let i = 0; i < count && (i < 3 * batch || now() < deadline); i += batch) {
    const t = now()
    for (let k = i; k < i + batch; k++) fn(k)
    out.push((now() - t) / batch)
  }
  return out
}

/** Runs inside the child: measures one implementation at one size. */
async function child(impl, sizeName, fixture) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tad-bench-${impl}-`))
  fs.copyFileSync(fixture, path.join(dir, 'config.json'))
  const big = SIZES[sizeName] >= 10 << 20
  let open, close, flush
  const withSchema = impl.endsWith('+schema')
  const { schema: tad } = require('../schemas')
  const { properties, ...rootSchema } = tad
  const schemaOptions = withSchema ? { schema: properties, rootSchema } : {}
  // The schema's credentials are sealed with this key (conf ignores the option).
  const keyOption = withSchema ? { secretKey: Buffer.alloc(32, 7) } : {}
  if (impl.startsWith('tad-store')) {
    const Store = require('..')
    open = () => new Store({ cwd: dir, ...schemaOptions, ...keyOption })
    close = (s) => s.close()
    flush = (s) => s.flush()
  } else {
    const { default: Conf } = await import('conf')
    // ajv's strict mode refuses the schema's `x-` annotations.
    const ajvOptions = withSchema ? { strict: false } : undefined
    open = () => new Conf({ cwd: dir, cache: impl === 'conf-cache', ...schemaOptions, ajvOptions })
    close = () => {}
    flush = () => {} // conf's set is synchronous and durable when it returns
  }

  const result = { impl, size: sizeName, bytes: fs.statSync(path.join(dir, 'config.json')).size }
  // Open an existing store: median of a few fresh opens.
  const opens = []
  for (let i = 0; i < (big ? 3 : 7); i++) {
    const t = now()
    const s = open()
    opens.push(now() - t)
    await close(s)
  }
  result.openMs = median(opens)

  const store = open()
  const ours = impl.startsWith('tad-store')
  const slow = !ours && impl !== 'conf-cache'
  // Reads in batches of 10 (see `sample`); conf's uncached get reads the file each time.
  const reads = slow ? 1 : 10
  // The same loop around an empty function: how fast this process runs. This machine
  // runs some processes ~1.6× slower than others throughout (the empty call included),
  // so compare a sub-microsecond row with this one of its own process.
  result.emptyCallNs = median(sample(() => 0, 20000, 500, 10)) * 1e6
  result.getPrimitiveUs = median(sample(() => store.get('settings.theme'), slow ? 50 : 20000, big ? 2000 : 1000, reads)) * 1000
  result.getObjectUs = median(sample(() => store.get('settings.editor'), slow ? 50 : 20000, big ? 2000 : 1000, reads)) * 1000
  const sets = sample((i) => store.set('settings.editor.fontSize', 10 + (i % 10)), ours ? 20000 : 200, big ? 3000 : 1500)
  result.setUs = median(sets) * 1000
  result.setP99Us = pct(sets, 0.99) * 1000
  if (withSchema) {
    // The schema marks the API key `x-sensitive`: tad-store seals each value
    // (XChaCha20-Poly1305) and opens it on every get; conf stores it in plaintext.
    const secretSets = sample((i) => store.set('ai.credentials.apiKey', `sk-bench-${i}`), ours ? 20000 : 200, big ? 3000 : 1500)
    result.setSecretUs = median(secretSets) * 1000
    result.getSecretUs = median(sample(() => store.get('ai.credentials.apiKey'), slow ? 50 : 20000, big ? 2000 : 1000, reads)) * 1000
  }
  await flush(store)

  // 1000 sets, then until durable. conf pays a full rewrite + fsync per set: where that
  // would take minutes, time a slice and scale it (marked as extrapolated).
  const n = ours ? 1000 : Math.max(5, Math.min(1000, Math.floor(4000 / Math.max(result.setUs / 1000, 0.01))))
  const t = now()
  for (let i = 0; i < n; i++) store.set(`profile.usage.sessions`, i)
  await flush(store)
  result.thousandSetsDurableMs = ((now() - t) * 1000) / n
  result.thousandSetsExtrapolated = n < 1000
  await close(store)
  result.peakRssMb = process.resourceUsage().maxRSS / 1024
  if (ours) {
    // After the peak RSS above (a history diff of a large store needs memory of its own).
    // The worst set while the committer checkpoints on its thread (serialises the
    // document, diffs it for the history, fsyncs): the JS thread must not wait for it.
    // The store goes quiet past the idle checkpoint (500 ms), then writes through it.
    const writing = open()
    const during = []
    for (let round = 0; round < (big ? 5 : 10); round++) {
      writing.set('profile.usage.sessions', round)
      await flush(writing)
      await new Promise((resolve) => setTimeout(resolve, 510))
      const end = now() + (big ? 300 : 50)
      for (let i = 0; now() < end; i++) {
        const t = now()
        writing.set('settings.editor.fontSize', 10 + (i % 10))
        during.push(now() - t)
      }
    }
    result.setCheckpointP99Us = pct(during, 0.99) * 1000
    result.setCheckpointMaxUs = during.reduce((a, b) => Math.max(a, b), 0) * 1000
    await close(writing)
  }
  if (!withSchema) {
    // electron-store calls change listeners inside set(): what a listener costs a set,
    // on another key (must not copy the store), on the key set, and on the whole store.
    // After the peak RSS above, which the copies a whole-store listener makes would
    // otherwise dominate (for conf as much as for tad-store).
    const listening = open()
    const listened = (subscribe) => {
      const off = subscribe()
      const times = sample((i) => listening.set('settings.editor.fontSize', 10 + (i % 10)), ours ? 5000 : 100, big ? 3000 : 1500)
      off()
      return median(times) * 1000
    }
    result.setOtherListenerUs = listened(() => listening.onDidChange('settings.theme', () => {}))
    result.setSameListenerUs = listened(() => listening.onDidChange('settings.editor.fontSize', () => {}))
    result.setAnyListenerUs = listened(() => listening.onDidAnyChange(() => {}))
    await close(listening)
  }
  if (impl === 'tad-store') Object.assign(result, historyCost(fixture))
  fs.rmSync(dir, { recursive: true, force: true })
  return result
}

/**
 * One history entry for a one-value change: the diff the committer makes after a `set`
 * (background CPU), applying it (a rollback step), and its size on disk. Measured by the
 * core crate's `history_cost` example (Rust, no Node-API: bench-only code stays out of
 * the addon).
 */
function historyCost(fixture) {
  const run = spawnSync('cargo', ['run', '--quiet', '--release', '-p', 'tad-store-core', '--example', 'history_cost', '--', fixture], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
  })
  if (run.status !== 0) throw new Error(`history_cost failed: ${run.error?.message ?? run.stderr}`)
  return JSON.parse(run.stdout)
}

function fmt(v, unit) {
  if (v === undefined) return '–'
  if (unit === 'us') return v < 10 ? `${v.toFixed(2)} µs` : v < 10000 ? `${v.toFixed(0)} µs` : `${(v / 1000).toFixed(1)} ms`
  if (unit === 'ms') return v < 10 ? `${v.toFixed(2)} ms` : v < 10000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(1)} s`
  if (unit === 'ns') return `${v.toFixed(1)} ns`
  return `${v.toFixed(0)} MB`
}

function main() {
  const sizes = arg('--sizes', '10k,1m,10m').split(',')
  const results = []
  const fixtures = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-bench-fixtures-'))
  for (const size of sizes) {
    // The document is made here, so no child's peak RSS includes making it.
    const fixture = path.join(fixtures, `${size}.json`)
    fs.writeFileSync(fixture, JSON.stringify(settingsOfSize(SIZES[size]), undefined, '\t'))
    const only = arg('--impls')?.split(',')
    for (const impl of [...IMPLS, ...SCHEMA_IMPLS].filter((i) => !only || only.includes(i))) {
      process.stderr.write(`bench: ${impl} at ${size}...\n`)
      const run = spawnSync(process.execPath, [__filename, '--child', impl, size, fixture], { encoding: 'utf8', maxBuffer: 64 << 20 })
      if (run.status !== 0) {
        console.error(run.stderr)
        process.exit(1)
      }
      results.push(JSON.parse(run.stdout.trim().split('\n').pop()))
    }
  }
  const rows = [
    ['open existing store', 'openMs', 'ms'],
    ['empty call in the same loop (this process\'s speed), p50', 'emptyCallNs', 'ns'],
    ['get (primitive), p50', 'getPrimitiveUs', 'us'],
    ['get (small object), p50', 'getObjectUs', 'us'],
    ['set (sync return), p50', 'setUs', 'us'],
    ['set, p99', 'setP99Us', 'us'],
    ['set, with `onDidChange` on another key, p50', 'setOtherListenerUs', 'us'],
    ['set, with `onDidChange` on the key, p50', 'setSameListenerUs', 'us'],
    ['set, with `onDidAnyChange`, p50', 'setAnyListenerUs', 'us'],
    ['set while a checkpoint runs (serialise, history diff, fsync), p99', 'setCheckpointP99Us', 'us'],
    ['set while a checkpoint runs, max', 'setCheckpointMaxUs', 'us'],
    ['1000 sets until durable', 'thousandSetsDurableMs', 'ms'],
    ['peak RSS', 'peakRssMb', 'mb'],
  ]
  const schemaRows = [
    ...rows.filter(([, key]) => !key.startsWith('get') && !key.endsWith('ListenerUs')),
    ['set of a sealed secret, p50', 'setSecretUs', 'us'],
    ['get of a sealed secret, p50', 'getSecretUs', 'us'],
  ]
  const lines = []
  if (arg('--impls')) {
    console.log(JSON.stringify(results, undefined, 1))
    return
  }
  for (const size of sizes) {
    const by = Object.fromEntries(results.filter((r) => r.size === size).map((r) => [r.impl, r]))
    const label = size === '10k' ? '10 KiB' : size === '1m' ? '1 MiB' : '10 MiB'
    lines.push(`\n### ${label} store (${by['tad-store'].bytes} bytes)\n`)
    lines.push(...table(rows, by['tad-store'], [['conf', by.conf], ['conf `cache: true`', by['conf-cache']]]))
    lines.push(`\n#### ${label}, validated against the TAD app schema\n`)
    lines.push(...table(schemaRows, by['tad-store+schema'], [['conf', by['conf+schema']]]))
  }
  lines.push('\n### History: one entry for a one-value change (`storeHistory/*.diff`)\n')
  lines.push('| store | diff (background) | apply (rollback step) | entry size |')
  lines.push('| --- | --- | --- | --- |')
  for (const r of results.filter((x) => x.impl === 'tad-store')) {
    lines.push(`| ${r.size} | ${fmt(r.historyDiffMs, 'ms')} | ${fmt(r.historyApplyMs, 'ms')} | ${r.historyEntryBytes} B |`)
  }
  /** A bench of its own, run in a child process: its markdown goes under `title`. */
  const section = (title, script, flags = []) => {
    process.stderr.write(`bench: ${script}...\n`)
    // Its progress and errors go straight to this process's stderr.
    const run = spawnSync(process.execPath, [...flags, path.join(__dirname, script)], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] })
    if (run.status !== 0) process.exit(1)
    lines.push(`\n### ${title}\n`)
    lines.push(run.stdout.trim())
  }
  if (!process.argv.includes('--no-ipc')) {
    section('Renderer bridge (Electron stand-in: renderer processes, V8-serialised IPC)', 'ipc-bench.js')
    section('Renderer bridge: what one window can cost the main process', 'bridge-abuse-bench.js', ['--expose-gc'])
  }
  if (!process.argv.includes('--no-many')) section('Many stores in one process', 'many-stores-bench.js')
  // What loading the package costs a process, in a fresh one each time (median of 7):
  // tad-store loads the addon and the Store; the CLI, IPC, React and schema modules
  // only when asked for.
  const loadMs = (flags, code) => {
    const times = []
    for (let i = 0; i < 7; i++) {
      const r = spawnSync(process.execPath, [...flags, '-e', `const t = performance.now(); ${code}; console.log(performance.now() - t)`], { cwd: path.join(__dirname, '..'), encoding: 'utf8' })
      if (r.status !== 0) throw new Error(r.stderr)
      times.push(Number(r.stdout.trim()))
    }
    return median(times)
  }
  // tad-store is CommonJS, as Electron's main process requires it; conf is ESM only.
  const oursLoad = loadMs([], "require('./index.js')")
  const confLoad = loadMs(['--input-type=module'], "await import('conf')")
  lines.push('\n### Loading the package\n')
  lines.push('| | tad-store | conf | vs conf |', '| --- | --- | --- | --- |')
  lines.push(`| \`require('tad-store')\` (\`import('conf')\`) in a fresh process | ${fmt(oursLoad, 'ms')} | ${fmt(confLoad, 'ms')} | ${(confLoad / oursLoad).toFixed(1)}× |`)
  if (!process.argv.includes('--no-wide')) section('Wide objects and arrays: a set below them, with each option', 'wide-bench.js')
  if (!process.argv.includes('--no-sync')) section('Sync across devices: a synced store beside the same store unsynced', 'sync-bench.js')
  lines.push('\nRatios are conf ÷ tad-store: how many times faster (or smaller) tad-store is.')
  fs.rmSync(fixtures, { recursive: true, force: true })
  console.log(lines.join('\n'))
  const out = arg('--json')
  if (out) fs.writeFileSync(out, JSON.stringify(results, undefined, 2))
}

/** A markdown table: tad-store's column, each peer's, then a ratio per peer. */
function table(rows, ours, peers) {
  const head = ['operation', 'tad-store', ...peers.map(([name]) => name), ...peers.map(([name]) => `vs ${name}`)]
  const out = [`| ${head.join(' | ')} |`, `|${' --- |'.repeat(head.length)}`]
  for (const [label, key, unit] of rows) {
    const cell = (r) => fmt(r[key], unit) + (key === 'thousandSetsDurableMs' && r.thousandSetsExtrapolated ? ' (extrapolated)' : '')
    const ratio = (r) => (unit !== 'ns' && ours[key] > 0 && r[key] !== undefined ? `${(r[key] / ours[key]).toFixed(r[key] / ours[key] >= 10 ? 0 : 1)}×` : '–')
    out.push(`| ${[label, cell(ours), ...peers.map(([, r]) => cell(r)), ...peers.map(([, r]) => ratio(r))].join(' | ')} |`)
  }
  return out
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5]).then(
    (r) => console.log(JSON.stringify(r)),
    (e) => {
      console.error(e)
      process.exit(1)
    },
  )
} else {
  main()
}
