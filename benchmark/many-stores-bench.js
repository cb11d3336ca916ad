'use strict'
// Many stores in one process: what each costs (threads, descriptors, memory, CPU while
// idle), opening and closing 1,000, and one store's flush() while 100 others write.
// Each configuration runs in a fresh process; conf beside tad-store where it applies.
// Counts come from /proc/self (Linux). Prints a markdown table.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const now = () => Number(process.hrtime.bigint()) / 1e6

function counts() {
  return {
    threads: fs.readdirSync('/proc/self/task').length,
    fds: fs.readdirSync('/proc/self/fd').length,
    rss: process.memoryUsage().rss,
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function open(impl, cwd, watch) {
  if (impl === 'tad-store') {
    const Store = require(ROOT)
    return new Store({ cwd, watch })
  }
  const Conf = require('conf').default
  return new Conf({ cwd, watch, projectName: 'bench' })
}

/** One configuration: `n` small stores of `impl`, watched or not. */
async function child(impl, n, watch, idleSeconds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-many-'))
  const bare = counts()
  // Load the package and start what it starts once (tad-store's pool), then compare with
  // that: the once-per-process cost is reported apart.
  const warm = open(impl, path.join(dir, 'warm'), watch)
  warm.set('warm', true)
  if (warm.close) await warm.close()
  await sleep(200)
  global.gc()
  const base = counts()
  const stores = []
  const opened = now()
  for (let i = 0; i < n; i++) {
    const store = open(impl, path.join(dir, `s${i}`), watch)
    store.set('theme', 'dark')
    store.set('n', i)
    stores.push(store)
  }
  const openMs = now() - opened
  if (impl === 'tad-store') await Promise.all(stores.map((s) => s.flush()))
  // Let the idle checkpoints run (1,000 of them take a few seconds), then measure a
  // quiet process: settled once half a second passes with under 2% CPU.
  await sleep(1000) // past the 500 ms after the last change that starts a checkpoint
  const settleEnd = now() + 30000
  for (;;) {
    const before = process.cpuUsage()
    await sleep(500)
    const used = process.cpuUsage(before)
    if ((used.user + used.system) / 1000 < 10 || now() > settleEnd) break
  }
  global.gc()
  const open_ = counts()
  const cpu0 = process.cpuUsage()
  await sleep(idleSeconds * 1000)
  const cpu = process.cpuUsage(cpu0)
  const result = {
    impl,
    n,
    watch,
    perProcessThreads: base.threads - bare.threads,
    threads: open_.threads - base.threads,
    fds: open_.fds - base.fds,
    rssPerStoreKiB: n ? (open_.rss - base.rss) / n / 1024 : 0,
    idleCpuMsPerS: (cpu.user + cpu.system) / 1000 / idleSeconds,
    openMs,
  }
  if (impl === 'tad-store') {
    const closing = now()
    await Promise.all(stores.map((s) => s.close()))
    result.closeMs = now() - closing
    await sleep(300)
    global.gc()
    const after = counts()
    result.threadsAfterClose = after.threads - base.threads
    result.fdsAfterClose = after.fds - base.fds
  }
  fs.rmSync(dir, { recursive: true, force: true })
  return result
}

/** flush() of one store, alone and while 100 others write. */
async function flushUnderLoad() {
  const Store = require(ROOT)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-many-'))
  const one = new Store({ cwd: path.join(dir, 'one') })
  const others = Array.from({ length: 100 }, (_, i) => new Store({ cwd: path.join(dir, `o${i}`) }))
  const measure = async (load) => {
    const latencies = []
    let i = 0
    const end = now() + 2000
    while (now() < end) {
      if (load) for (const other of others) other.set('k', i)
      const t0 = now()
      one.set('k', i++)
      await one.flush()
      latencies.push(now() - t0)
    }
    latencies.sort((a, b) => a - b)
    return { p50: latencies[Math.floor(latencies.length / 2)], p99: latencies[Math.floor(latencies.length * 0.99)] }
  }
  const alone = await measure(false)
  const loaded = await measure(true)
  await Promise.all([one, ...others].map((s) => s.close()))
  fs.rmSync(dir, { recursive: true, force: true })
  return { alone, loaded }
}

function run(args) {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', ...args], { encoding: 'utf8', maxBuffer: 16 << 20 })
  if (r.status !== 0) {
    console.error(r.stderr)
    process.exit(1)
  }
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

function main() {
  if (process.platform !== 'linux') {
    console.log('(many stores: counted from /proc/self, Linux only)')
    return
  }
  const rows = []
  for (const watch of [false, true]) {
    for (const n of [0, 1, 10, 100, 1000]) {
      if (n === 0 && watch) continue
      // The headline comparison (none vs 100) over 10 idle seconds; the rest over 3.
      const idle = n === 0 || n === 100 ? 10 : 3
      process.stderr.write(`bench: ${n} stores${watch ? ', watched' : ''}...\n`)
      rows.push({ tad: run(['tad-store', n, watch, idle]), conf: run(['conf', n, watch, idle]) })
    }
  }
  const f1 = (v) => v.toFixed(1)
  const pool = rows[0].tad.perProcessThreads
  const lines = [
    `Once per process, with the first store: tad-store's pool, +${pool} threads (conf: +${rows[0].conf.perProcessThreads}). Then, per configuration, what the stores add:`,
    '',
    '| stores | threads | descriptors | RSS per store | idle CPU | open all | close all | conf: threads | conf: descriptors | conf: RSS per store | conf: idle CPU | conf: open all |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const { tad, conf } of rows) {
    lines.push(
      `| ${tad.n}${tad.watch ? ' watched' : ''} | +${tad.threads} | +${tad.fds} | ${tad.n ? `${f1(tad.rssPerStoreKiB)} KiB` : '–'} | ${tad.idleCpuMsPerS.toFixed(2)} ms/s | ${f1(tad.openMs)} ms | ${f1(tad.closeMs)} ms (then +${tad.threadsAfterClose} threads, +${tad.fdsAfterClose} fds) | +${conf.threads} | +${conf.fds} | ${conf.n ? `${f1(conf.rssPerStoreKiB)} KiB` : '–'} | ${conf.idleCpuMsPerS.toFixed(2)} ms/s | ${f1(conf.openMs)} ms |`,
    )
  }
  process.stderr.write('bench: flush() of one store while 100 others write...\n')
  const flush = run(['flush'])
  lines.push('')
  lines.push(`flush() of one store, p50 / p99: alone ${flush.alone.p50.toFixed(2)} / ${flush.alone.p99.toFixed(2)} ms; while 100 other stores write ${flush.loaded.p50.toFixed(2)} / ${flush.loaded.p99.toFixed(2)} ms.`)
  console.log(lines.join('\n'))
}

if (process.argv[2] === '--child') {
  const [impl, n, watch, idle] = process.argv.slice(3)
  const job = impl === 'flush' ? flushUnderLoad() : child(impl, Number(n), watch === 'true', Number(idle))
  job.then(
    (r) => {
      console.log(JSON.stringify(r))
      // conf's watchers keep the process alive.
      process.exit(0)
    },
    (e) => {
      console.error(e)
      process.exit(1)
    },
  )
} else {
  main()
}
