'use strict'
// Three device processes, each with its own store directory and its own replica of the
// sync folder, joined by a simulated sync service that copies files between replicas
// late, out of order, twice, partially, under "conflicted copy" names, and not at all
// while a replica is offline. After quiescence every device must hold the same synced
// subtrees, its own unsynced keys and secret as written, and no file of any replica may
// hold a sensitive value. TAD_SYNC_STEPS (default 1000 edits per device) makes a longer
// run: `TAD_SYNC_STEPS=20000 node --test __test__/sync-devices.test.js`.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { tempDir } = require('./helpers')

const DEVICES = ['alpha', 'beta', 'gamma']
const STEPS = Number(process.env.TAD_SYNC_STEPS ?? 1000)

function rng(seed) {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
}

/** A file's bytes, or null: a device may compact its files away at any moment. */
function readOrNull(file) {
  try {
    return fs.readFileSync(file)
  } catch {
    return null
  }
}

/** Every change file in a replica, by path relative to it. */
function changeFiles(replica) {
  if (!fs.existsSync(replica)) return []
  return fs
    .readdirSync(replica, { recursive: true })
    .map(String)
    .filter((p) => p.endsWith('.tadsync') && !path.basename(p).startsWith('.'))
}

/** One move of the service: a file of one replica reaches another, maybe badly. Counts
 * what it did in `moves`, so a run that never did the hostile things fails. */
function copyOne(root, random, online, moves) {
  const from = DEVICES[random(3)]
  const to = DEVICES[random(3)]
  if (from === to || !online[from] || !online[to]) return
  const files = changeFiles(path.join(root, `replica-${from}`))
  if (files.length === 0) return
  const rel = files[random(files.length)]
  const source = path.join(root, `replica-${from}`, rel)
  const bytes = readOrNull(source)
  if (bytes === null) return
  const target = path.join(root, `replica-${to}`, rel)
  fs.mkdirSync(path.dirname(target), { recursive: true })
  const kind = random(6)
  if (kind === 1) {
    // A "conflicted copy" beside it, as services make when two replicas wrote one name.
    fs.writeFileSync(target.replace(/\.tadsync$/, ` (${to}'s conflicted copy).tadsync`), bytes)
    moves.conflicted++
    return
  }
  const existing = readOrNull(target)
  if (existing && existing.equals(bytes)) return
  switch (kind) {
    case 0: // a partial copy, finished by a later move
      fs.writeFileSync(target, bytes.subarray(0, random(bytes.length)))
      moves.partial++
      break
    default:
      fs.writeFileSync(target, bytes)
      moves.whole++
  }
}

/** Makes every replica hold every device's current files, whole. */
function catchUp(root) {
  for (const from of DEVICES) {
    for (const rel of changeFiles(path.join(root, `replica-${from}`))) {
      const bytes = readOrNull(path.join(root, `replica-${from}`, rel))
      if (bytes === null) continue
      if (!bytes.subarray(0, 8).equals(Buffer.from('TADSYNC1')) || bytes.length < 48 || Number(bytes.readBigUInt64LE(40)) !== bytes.length - 48) continue
      for (const to of DEVICES) {
        if (to === from) continue
        const target = path.join(root, `replica-${to}`, rel)
        fs.mkdirSync(path.dirname(target), { recursive: true })
        if (!readOrNull(target)?.equals(bytes)) fs.writeFileSync(target, bytes)
      }
    }
  }
}

function startDevice(root, name, seed) {
  const child = spawn(process.execPath, [path.join(__dirname, 'sync-device.js'), root, name, String(seed), String(STEPS)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const messages = []
  let buffer = ''
  child.stdout.on('data', (d) => {
    buffer += d
    let at
    while ((at = buffer.indexOf('\n')) >= 0) {
      messages.push(JSON.parse(buffer.slice(0, at)))
      buffer = buffer.slice(at + 1)
    }
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  return { name, child, messages, exited }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** JSON with object members sorted: the mirror keeps no member order (a device that took
 * an object from another holds its members sorted). */
const canonical = (value) =>
  JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v))

for (const seed of [11, 4242]) {
  test(`three device processes converge through a hostile sync service (seed ${seed}, ${STEPS} edits each)`, { timeout: 600_000 }, async (t) => {
    const root = tempDir(t)
    for (const name of DEVICES) fs.mkdirSync(path.join(root, `replica-${name}`))
    const random = rng(seed)
    const devices = DEVICES.map((name, i) => startDevice(root, name, seed * 10 + i))
    t.after(() => devices.forEach((d) => d.child.kill('SIGKILL')))
    assert.ok(STEPS > 0)
    const online = Object.fromEntries(DEVICES.map((n) => [n, true]))
    // The service runs while the devices edit. Once, gamma is killed (SIGKILL, wherever it
    // is: mid-commit, mid-write of a change file) and started again.
    const moves = { whole: 0, partial: 0, conflicted: 0, offline: 0 }
    const killAt = Date.now() + 100 + random(400)
    let killed = false
    while (!devices.every((d) => d.messages.some((m) => m.done))) {
      if (!killed && Date.now() >= killAt) {
        killed = true
        const gamma = devices[2]
        gamma.child.kill('SIGKILL')
        await gamma.exited
        devices[2] = startDevice(root, 'gamma', seed * 10 + 9)
      }
      for (let i = 0; i < 20; i++) copyOne(root, random, online, moves)
      if (random(50) === 0) {
        const name = DEVICES[random(3)]
        online[name] = !online[name]
        moves.offline++
      }
      if (devices.some((d) => d.child.exitCode !== null)) assert.fail('a device process died')
      await sleep(2)
    }
    assert.ok(killed, 'gamma was killed while it edited')
    for (const [what, n] of Object.entries(moves)) assert.ok(n > 0, `the service made no ${what} move`)
    // Quiescence: everyone online, the service catches up, until every device agrees.
    let reports = []
    const deadline = Date.now() + 60_000
    for (;;) {
      catchUp(root)
      await sleep(150)
      for (const d of devices) d.child.stdin.write('report\n')
      const before = devices.map((d) => d.messages.length)
      const asked = Date.now()
      while (devices.some((d, i) => d.messages.length === before[i])) {
        if (Date.now() - asked > 30_000) assert.fail(`a device stopped answering: ${devices.filter((d, i) => d.messages.length === before[i]).map((d) => d.name)}`)
        await sleep(5)
      }
      reports = devices.map((d) => d.messages.at(-1))
      const same = (key) => reports.every((r) => canonical(r[key]) === canonical(reports[0][key]))
      if (same('settings') && same('list') && reports.every((r) => r.pendingIn === 0)) break
      if (Date.now() > deadline) assert.fail(`no convergence: ${JSON.stringify(reports)}`)
    }
    for (const d of devices) d.child.stdin.end('exit\n')
    await Promise.all(devices.map((d) => d.exited))
    for (const r of reports) {
      assert.deepEqual(r.local ?? {}, Object.fromEntries(Object.entries(r.unsynced).map(([k, v]) => [k.split('.').at(-1), v])), `${r.name}: unsynced keys as written`)
      assert.equal(r.request?.apiKey, r.secret ?? undefined, `${r.name}: its own secret, not another's`)
      // Every merge applied passed the schema (a refused one would be a SYNC_CONFLICT).
      assert.deepEqual(r.errors, [], `${r.name}: no background failure, no conflict`)
    }
    // No replica file holds a secret or an unsynced value, raw (the payloads are
    // Automerge's compressed columns: the values are stored as UTF-8 in them).
    for (const name of DEVICES) {
      for (const rel of changeFiles(path.join(root, `replica-${name}`))) {
        const bytes = readOrNull(path.join(root, `replica-${name}`, rel)) ?? Buffer.alloc(0)
        assert.ok(!bytes.includes('CANARY'), `${rel} holds a secret`)
        assert.ok(!bytes.includes('local'), `${rel} holds an unsynced key`)
      }
    }
  })
}
