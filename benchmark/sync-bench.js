'use strict'
// Sync across devices: what it costs, side by side with the same store unsynced. Two
// devices in one process (two stores, each its own directory) share a folder on the
// local disk. For the 10 KiB and 1 MiB settings stores of the main bench:
// - `set` of a synced key (p50, p99; and 1,000 sets then `flush`), synced and unsynced;
// - the folder bytes one one-value change adds (median over 50 changes);
// - a change inside the `workspaces` array (the bulk of the 1 MiB store), set + flush;
// - 1,000 changes made on one device (each committed on its own), merged and applied
//   on the other as it opens: to the change event of the last;
// - the folder after 10,000 one-value changes (each committed on its own), compacting;
// - from a write on one device to its change event on the other: from `set`, and from
//   the moment its file is in the folder (median of 30).
// Each size runs in its own process. Prints a markdown table.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { settingsOfSize } = require('./settings')

const ROOT = path.join(__dirname, '..')
const SIZES = { '10 KiB': 10 << 10, '1 MiB': 1 << 20 }
const KEYS = ['settings', 'profile', 'ai.request', 'workspaces']
const now = () => Number(process.hrtime.bigint()) / 1e3
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]

function folderBytes(dir) {
  let bytes = 0
  let files = 0
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      bytes += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size
      files++
    }
  }
  return { bytes, files }
}

async function child(sizeName) {
  const Store = require(ROOT)
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tad-sync-bench-'))
  const folder = path.join(root, 'cloud')
  fs.mkdirSync(folder)
  const doc = settingsOfSize(SIZES[sizeName])
  const open = (name, sync = true) => {
    const cwd = path.join(root, name)
    fs.mkdirSync(cwd, { recursive: true })
    fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify(doc))
    return new Store({ cwd, sensitiveKeys: ['ai.request.apiKey'], secretKey: Buffer.alloc(32, 1), sync: sync ? { folder, keys: KEYS, device: name } : undefined })
  }
  const until = async (done, stores) => {
    const deadline = Date.now() + 600_000
    while (!done()) {
      if (Date.now() > deadline) throw new Error('sync-bench: timed out')
      for (const s of stores) s.syncNow()
      await sleep(1)
    }
  }
  const result = { size: sizeName }

  // set: synced and unsynced, the same store.
  const plain = open('plain', false)
  const a = open('a')
  const b = open('b')
  await until(() => a.syncStatus() && b.syncStatus(), [a, b])
  for (const [name, store] of [
    ['unsynced', plain],
    ['synced', a],
  ]) {
    const times = []
    for (let i = 0; i < 20_000; i++) {
      const t = now()
      store.set('settings.editor.fontSize', i % 40)
      times.push(now() - t)
      if (i % 500 === 499) await sleep(1) // let commits run, as an app's idle moments do
    }
    const t = now()
    for (let i = 0; i < 1000; i++) store.set('settings.editor.tabSize', i % 8)
    await store.flush()
    result[`${name}SetP50`] = median(times)
    result[`${name}SetP99`] = p99(times)
    result[`${name}ThousandMs`] = (now() - t) / 1000
  }
  await plain.close()
  await until(() => a.syncStatus()?.pendingOut === 0 && b.get('settings.editor.tabSize') === a.get('settings.editor.tabSize'), [a, b])

  // Bytes one one-value change adds to the folder.
  const ownDir = () => path.join(folder, 'config', a.syncStatus().directory)
  const sizes = []
  for (let i = 0; i < 50; i++) {
    const before = new Set(fs.readdirSync(ownDir()))
    a.set('settings.theme', `theme-${i}`)
    await a.flush()
    await until(() => fs.readdirSync(ownDir()).some((f) => !before.has(f) && !f.startsWith('.')), [])
    const added = fs.readdirSync(ownDir()).filter((f) => !before.has(f) && !f.startsWith('.'))
    if (added.length === 1 && fs.readdirSync(ownDir()).length > before.size) sizes.push(fs.statSync(path.join(ownDir(), added[0])).size)
  }
  result.changeFileBytes = median(sizes)

  // From a write on b to its event on a: from set(), and from its file's arrival.
  const fromSet = []
  const fromFile = []
  const bDir = () => path.join(folder, 'config', b.syncStatus().directory)
  for (let i = 0; i < 30; i++) {
    await until(() => a.get('profile.displayName') === b.get('profile.displayName'), [a, b])
    await sleep(50)
    let fileAt = 0
    let eventAt = 0
    const off = a.onDidChange('profile.displayName', () => (eventAt = now()))
    const before = new Set(fs.readdirSync(bDir()))
    const t = now()
    b.set('profile.displayName', `name-${i}`)
    while (!eventAt) {
      if (!fileAt && fs.readdirSync(bDir()).some((f) => !before.has(f) && !f.startsWith('.'))) fileAt = now()
      await sleep(0)
    }
    off()
    fromSet.push((eventAt - t) / 1000)
    if (fileAt) fromFile.push((eventAt - fileAt) / 1000)
  }
  result.latencyFromSetMs = median(fromSet)
  result.latencyFromFileMs = median(fromFile)

  // A change inside the workspaces array (the bulk of the 1 MiB store): the mirror keeps
  // an array as one entry, so recording it compares the whole list. set + flush, synced
  // (b) and unsynced (the same store reopened without sync), median of 5.
  const inArray = async (store) => {
    const times = []
    for (let i = 0; i < 5; i++) {
      const t = now()
      store.set('workspaces.0.name', `w-${i}-${Math.random()}`)
      await store.flush()
      times.push((now() - t) / 1000)
    }
    return median(times)
  }
  result.arraySyncedMs = await inArray(b)
  const plainAgain = new Store({ cwd: path.join(root, 'plain'), sensitiveKeys: ['ai.request.apiKey'], secretKey: Buffer.alloc(32, 1) })
  result.arrayUnsyncedMs = await inArray(plainAgain)
  await plainAgain.close()

  // 1,000 changes on b, each its own commit, merged and applied on a at once. a's folder
  // look is held off (it reads b's files only when asked) by closing it meanwhile.
  const aPath = a.path
  await a.close()
  for (let i = 0; i < 1000; i++) {
    b.set('profile.displayName', `ws-${i}`)
    await b.flush()
  }
  await until(() => b.syncStatus().pendingOut === 0, [b])
  const a2 = new Store({ cwd: path.dirname(aPath), sensitiveKeys: ['ai.request.apiKey'], secretKey: Buffer.alloc(32, 1), sync: { folder, keys: KEYS, device: 'a' } })
  let merged = 0
  a2.onDidChange('profile.displayName', (v) => v === 'ws-999' && (merged = now()))
  const t = now()
  await until(() => merged, [a2])
  result.mergeThousandMs = (merged - t) / 1000
  await a2.close()

  // The folder after 10,000 one-value changes, each its own commit.
  result.changes = 10_000
  for (let i = 0; i < result.changes; i++) {
    b.set('settings.language', `l${i}`)
    await b.flush()
  }
  await until(() => b.syncStatus().pendingOut === 0, [b])
  b.syncNow() // a look compacts
  await sleep(200)
  Object.assign(result, Object.fromEntries(Object.entries(folderBytes(path.join(folder, 'config'))).map(([k, v]) => [`folder10k${k[0].toUpperCase()}${k.slice(1)}`, v])))
  await b.close()
  fs.rmSync(root, { recursive: true, force: true })
  return result
}

function fmtUs(us) {
  return us < 1000 ? `${us.toFixed(2)} µs` : `${(us / 1000).toFixed(2)} ms`
}

function main() {
  const results = []
  for (const size of Object.keys(SIZES)) {
    process.stderr.write(`sync-bench: ${size}...\n`)
    const run = spawnSync(process.execPath, [__filename, '--child', size], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    if (run.status !== 0) process.exit(1)
    results.push(JSON.parse(run.stdout))
  }
  const rows = [
    ['`set` of a synced key, p50: unsynced / synced (ratio; target ≤ 2×)', (r) => `${fmtUs(r.unsyncedSetP50)} / ${fmtUs(r.syncedSetP50)} (${(r.syncedSetP50 / r.unsyncedSetP50).toFixed(2)}×)`],
    ['`set`, p99: unsynced / synced', (r) => `${fmtUs(r.unsyncedSetP99)} / ${fmtUs(r.syncedSetP99)}`],
    ['1,000 sets then `flush`: unsynced / synced', (r) => `${r.unsyncedThousandMs.toFixed(1)} ms / ${r.syncedThousandMs.toFixed(1)} ms`],
    ['folder bytes of one one-value change', (r) => `${r.changeFileBytes} B`],
    ['a change inside the `workspaces` array, `set` then `flush`: unsynced / synced', (r) => `${r.arrayUnsyncedMs.toFixed(1)} ms / ${r.arraySyncedMs.toFixed(1)} ms`],
    ['1,000 remote changes merged and applied, by a device opening (to the last event)', (r) => `${r.mergeThousandMs.toFixed(0)} ms`],
    ['both devices\' folder after N one-value changes, each committed alone (compacting at 64 files)', (r) => `N = ${r.changes.toLocaleString('en')}: ${(r.folder10kBytes / 1024).toFixed(1)} KiB in ${r.folder10kFiles} files`],
    ['a write on one device to its event on the other: from `set` / from its file in the folder', (r) => `${r.latencyFromSetMs.toFixed(1)} ms / ${r.latencyFromFileMs.toFixed(1)} ms`],
  ]
  const out = [`| | ${results.map((r) => r.size).join(' | ')} |`, `|${' --- |'.repeat(results.length + 1)}`]
  for (const [label, cell] of rows) out.push(`| ${label} | ${results.map(cell).join(' | ')} |`)
  console.log(out.join('\n'))
}

if (process.argv[2] === '--child') {
  child(process.argv[3]).then(
    (r) => console.log(JSON.stringify(r)),
    (e) => {
      console.error(e)
      process.exit(1)
    },
  )
} else {
  main()
}
