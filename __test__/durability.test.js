'use strict'
// The file on disk: electron-store's format, bad files, a read-only directory, a full
// disk, and SIGKILL at random points.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync, spawn } = require('node:child_process')
const Store = require('..')
const { StoreManager } = require('..')
const { ROOT, tempDir, closeLater, dirContents, runNode, codeOf } = require('./helpers')

const isRoot = process.getuid?.() === 0

test('an electron-store (conf) config.json opens unchanged', async (t) => {
  const cwd = tempDir(t)
  const { default: Conf } = await import('conf')
  const conf = new Conf({ cwd, projectVersion: '1.2.0', migrations: { '1.0.0': () => {} } })
  conf.set('settings.theme', 'dark')
  conf.set('unicode', 'héllo 🦄 \u2028')
  conf.set('list', [1, 2.5, { a: null }, [], {}])
  const bytes = fs.readFileSync(conf.path)

  const store = new Store({ cwd })
  assert.equal(store.get('settings.theme'), 'dark')
  assert.deepEqual({ ...store.store }, { ...conf.store }, 'the same items, without __internal__')
  assert.equal(store.has('__internal__.migrations.version'), true, 'the bookkeeping is kept')
  await store.close()
  assert.deepEqual(fs.readFileSync(conf.path), bytes, 'opening and closing changes nothing')

  // After a write, the file is what electron-store itself would have written.
  const again = new Store({ cwd })
  again.set('settings.theme', 'light')
  await again.close()
  const expected = JSON.parse(bytes.toString('utf8'))
  expected.settings.theme = 'light'
  assert.equal(fs.readFileSync(conf.path, 'utf8'), JSON.stringify(expected, undefined, '\t'))
  assert.equal(new Conf({ cwd, projectVersion: '1.2.0' }).get('settings.theme'), 'light')
})

test('the file is JSON indented with tabs, readable by conf', async (t) => {
  const cwd = tempDir(t)
  const store = new Store({ cwd })
  store.set({ a: 1, nested: { b: [true, 'x'] } })
  await store.close()
  const text = fs.readFileSync(store.path, 'utf8')
  assert.equal(text, JSON.stringify({ a: 1, nested: { b: [true, 'x'] } }, undefined, '\t'))
  const { default: Conf } = await import('conf')
  assert.deepEqual({ ...new Conf({ cwd }).store }, { a: 1, nested: { b: [true, 'x'] } })
})

for (const [name, content] of Object.entries({
  garbage: 'this is not json',
  empty: '',
  truncated: '{\n\t"settings": {\n\t\t"theme": "da',
  'not an object': '[1, 2, 3]',
  'NUL bytes': '\0\0\0\0',
})) {
  test(`a ${name} config.json is refused with CORRUPT_FILE and left as it is`, (t) => {
    const cwd = tempDir(t)
    const file = path.join(cwd, 'config.json')
    fs.writeFileSync(file, content)
    const before = dirContents(cwd)
    const error = codeOf(() => new Store({ cwd }))
    assert.equal(error.code, 'CORRUPT_FILE')
    assert.equal(error.kind, 'critical')
    assert.equal(error.file, file)
    assert.deepEqual(dirContents(cwd), before)
  })

  test(`a ${name} config.json with clearInvalidConfig is moved aside, never deleted`, async (t) => {
    const cwd = tempDir(t)
    const file = path.join(cwd, 'config.json')
    fs.writeFileSync(file, content)
    const store = closeLater(t, new Store({ cwd, clearInvalidConfig: true, defaults: { theme: 'light' } }))
    assert.deepEqual({ ...store.store }, { theme: 'light' })
    const aside = store.openReport.quarantined
    assert.match(path.basename(aside), /^config\.json\.corrupt-\d+/)
    assert.equal(fs.readFileSync(aside, 'utf8'), content)
    await store.flush()
  })
}

test('a read-only directory: opening to write is PERMISSION_DENIED, readOnly reads, the file is unchanged', async (t) => {
  const cwd = tempDir(t)
  const dir = path.join(cwd, 'ro')
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'config.json'), '{\n\t"a": 1\n}')
  // Root ignores permissions, so as root the store runs in a child as `nobody`.
  fs.chmodSync(cwd, 0o755)
  fs.chmodSync(dir, 0o555)
  const code = `
    const Store = require('.')
    try {
      new Store({ cwd: ${JSON.stringify(dir)} })
      console.log(JSON.stringify({ opened: true }))
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, kind: e.kind, file: e.file }))
    }
    const reader = new Store({ cwd: ${JSON.stringify(dir)}, readOnly: true })
    console.log(JSON.stringify({ value: reader.get('a') }))
    try { reader.set('a', 2) } catch (e) { console.log(JSON.stringify({ writeCode: e.code })) }
    reader.close().then(() => console.log(JSON.stringify({ closed: true })))
  `
  const result = await runNode(code, isRoot ? { uid: 65534, gid: 65534 } : {}).finally(() => fs.chmodSync(dir, 0o755))
  assert.equal(result.code, 0, result.stderr)
  const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(lines[0].code, 'PERMISSION_DENIED')
  assert.equal(lines[0].kind, 'persistent')
  assert.ok(lines[0].file.startsWith(dir))
  assert.deepEqual(lines.slice(1), [{ value: 1 }, { writeCode: 'READ_ONLY' }, { closed: true }])
  assert.deepEqual(fs.readdirSync(dir), ['config.json'])
  assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), '{\n\t"a": 1\n}')
})

test('a full disk: DISK_FULL, the old file byte-identical, no temp file, and recovery', { skip: !isRoot && 'mounting a small tmpfs needs root' }, async (t) => {
  const mount = path.join(tempDir(t), 'disk')
  fs.mkdirSync(mount)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount], { stdio: 'pipe' })
  } catch (error) {
    t.skip(`cannot mount a tmpfs here: ${error.stderr || error.message}`)
    return
  }
  try {
    await fillTheDisk(mount)
  } finally {
    execFileSync('umount', ['-l', mount])
  }
})

async function fillTheDisk(mount) {
  const original = '{\n\t"keep": "me"\n}'
  fs.writeFileSync(path.join(mount, 'config.json'), original)
  const store = new Store({ cwd: mount })
  const errors = []
  store.onError((e) => errors.push(e.code))
  store.set('big', 'x'.repeat(200_000))
  const error = await store.flush().then(() => null, (e) => e)
  assert.equal(error?.code, 'DISK_FULL')
  assert.equal(error.kind, 'persistent')
  assert.equal(fs.readFileSync(path.join(mount, 'config.json'), 'utf8'), original)
  assert.deepEqual(fs.readdirSync(mount).filter((n) => n.includes('.tmp-')), [])
  assert.equal(store.get('big').length, 200_000, 'memory keeps serving')
  assert.ok(errors.includes('DISK_FULL'), 'onError heard it')
  // Space comes back: everything is persisted.
  store.delete('big')
  store.set('small', 1)
  await store.flush()
  await store.close()
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(mount, 'config.json'), 'utf8')), { keep: 'me', small: 1 })
}

test('StoreManager: one instance per file; set resolves once durable', async (t) => {
  const cwd = tempDir(t)
  const manager = new StoreManager({ cwd })
  assert.equal(new StoreManager({ cwd }), manager)
  assert.equal(codeOf(() => manager.get('a')).code, 'NOT_INITIALIZED')
  await manager.initialize()
  await manager.initialize()
  const seen = []
  manager.onDidChange('theme', (v, old) => seen.push([v, old]))
  await manager.set('theme', 'dark')
  // Durable: another process reading the files now sees it.
  const result = await runNode(`const S = require('.'); const s = new S({ cwd: ${JSON.stringify(cwd)}, readOnly: true }); console.log(s.get('theme'))`)
  assert.equal(result.stdout.trim(), 'dark', result.stderr)
  assert.equal(manager.get('theme'), 'dark')
  await manager.delete('theme')
  assert.equal(manager.has('theme'), false)
  assert.deepEqual(seen, [['dark', undefined], [undefined, 'dark']])
  await manager.close()
  assert.notEqual(new StoreManager({ cwd }), manager, 'a closed manager is forgotten')
})

test('kill -9 at random points during sets, checkpoints, history writes and rollbacks (200 rounds)', async (t) => {
  const cwd = tempDir(t)
  // Each round: sets (acknowledged by flush), frequent checkpoints with history entries,
  // and rollbacks to the newest recorded state (which keep every acknowledged write, so
  // the check below holds while the rollback machinery runs under the kills).
  const writer = `
    const Store = require('.')
    const store = new Store({ cwd: ${JSON.stringify(cwd)}, checkpointIdleMs: 2, history: { maxEntries: 50 } })
    let n = store.get('last', 0)
    const loop = async () => {
      for (;;) {
        n++
        store.set('k' + n, { n, pad: 'p'.repeat(n % 300) })
        store.set('last', n)
        if (n % 3 === 0) store.store = { ...store.store, replaced: n }
        await store.flush()
        process.stdout.write(n + '\\n')
        if (n % 5 === 0) {
          await store.verifyHistory() // records the current state
          const [newest] = store.listHistory()
          if (newest) await store.rollbackToTimestamp(newest.timestamp)
          await store.flush()
        }
      }
    }
    loop()
  `
  let lastAcked = 0
  for (let round = 0; round < 200; round++) {
    const child = spawn(process.execPath, ['-e', writer], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const started = new Promise((resolve) => child.stdout.once('data', resolve))
    await Promise.race([started, new Promise((resolve) => child.once('exit', resolve))])
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 40))
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    const acked = out.split('\n').filter(Boolean).map(Number)
    assert.ok(acked.length > 0, `round ${round}: the writer acknowledged nothing: ${err}`)
    lastAcked = Math.max(lastAcked, ...acked)

    const store = new Store({ cwd })
    const last = store.get('last')
    assert.ok(last >= lastAcked, `round ${round}: last=${last} but ${lastAcked} was acknowledged`)
    for (let k = 1; k <= lastAcked; k++) {
      assert.equal(store.get(`k${k}`)?.n, k, `round ${round}: acknowledged write k${k} lost`)
    }
    const report = await store.verifyHistory()
    assert.equal(report.ok, true, `round ${round}: history chain broken: ${JSON.stringify(report)}`)
    lastAcked = last
    await store.close()
  }
})

test('one writer at a time: LOCKED with the holder pid; readOnly reads; a killed holder lets go', async (t) => {
  const cwd = tempDir(t)
  const holder = spawn(process.execPath, ['-e', `
    const Store = require('.')
    const store = new Store({ cwd: ${JSON.stringify(cwd)} })
    store.set('who', 'holder')
    store.flush().then(() => console.log('ready'))
    setInterval(() => {}, 1000)
  `], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => holder.kill('SIGKILL'))
  await new Promise((resolve) => holder.stdout.once('data', resolve))
  const error = codeOf(() => new Store({ cwd }))
  assert.equal(error.code, 'LOCKED')
  assert.equal(error.kind, 'transient')
  assert.match(error.message, new RegExp(`pid ${holder.pid}`))
  assert.match(error.message, /readOnly/)
  const reader = new Store({ cwd, readOnly: true })
  assert.equal(reader.get('who'), 'holder')
  assert.equal(codeOf(() => reader.set('who', 'me')).code, 'READ_ONLY')
  await reader.close()
  holder.kill('SIGKILL')
  await new Promise((resolve) => holder.once('exit', resolve))
  const writer = closeLater(t, new Store({ cwd }))
  writer.set('who', 'me')
  assert.equal(writer.get('who'), 'me')
})

test('corrupt inputs on a real disk: a directory, a symlink, mode 0000', async (t) => {
  // A directory where the file should be: a typed error, nothing touched.
  const withDir = tempDir(t)
  fs.mkdirSync(path.join(withDir, 'config.json'))
  const error = codeOf(() => new Store({ cwd: withDir }))
  assert.equal(error.code, 'NOT_A_FILE')
  assert.match(error.message, /a directory, not a regular file/)
  assert.ok(fs.statSync(path.join(withDir, 'config.json')).isDirectory())

  // A symlink is read through; the first write replaces the link with a file of its
  // own (atomically, by rename) and leaves the link's target as it was.
  const withLink = tempDir(t)
  const target = path.join(withLink, 'elsewhere.json')
  fs.writeFileSync(target, '{"a":1}')
  fs.symlinkSync(target, path.join(withLink, 'config.json'))
  const linked = new Store({ cwd: withLink })
  assert.equal(linked.get('a'), 1)
  linked.set('a', 2)
  await linked.close()
  assert.equal(fs.readFileSync(target, 'utf8'), '{"a":1}')
  assert.equal(fs.lstatSync(path.join(withLink, 'config.json')).isSymbolicLink(), false)
  assert.equal(JSON.parse(fs.readFileSync(path.join(withLink, 'config.json'), 'utf8')).a, 2)

  // Mode 0000 (as `nobody` when root, who reads anything): PERMISSION_DENIED, untouched.
  const locked = tempDir(t)
  fs.writeFileSync(path.join(locked, 'config.json'), '{"a":1}')
  fs.chmodSync(path.join(locked, 'config.json'), 0o000)
  fs.chmodSync(locked, 0o777)
  const result = await runNode(
    `const S = require('.'); try { new S({ cwd: ${JSON.stringify(locked)} }) } catch (e) { console.log(e.code) }`,
    isRoot ? { uid: 65534, gid: 65534 } : {},
  ).finally(() => fs.chmodSync(path.join(locked, 'config.json'), 0o600))
  assert.equal(result.stdout.trim(), 'PERMISSION_DENIED', result.stderr)
  assert.equal(fs.readFileSync(path.join(locked, 'config.json'), 'utf8'), '{"a":1}')
})

test('an unreadable file is restored from the newest backup that reads, and said so', async (t) => {
  const cwd = tempDir(t)
  fs.mkdirSync(path.join(cwd, 'backups'))
  fs.writeFileSync(path.join(cwd, 'backups', 'config-1.0.0-to-2.0.0-2026-01-01T00-00-00-000Z.json'), '{"theme":"from backup"}')
  fs.writeFileSync(path.join(cwd, 'config.json'), '{"theme": "da')
  const warned = new Promise((resolve) => process.once('warning', resolve))
  const store = closeLater(t, new Store({ cwd }))
  assert.equal(store.get('theme'), 'from backup')
  assert.equal(store.recovery.from, 'backup')
  assert.match(store.recovery.file, /2026-01-01/)
  assert.equal(fs.readFileSync(store.recovery.quarantined, 'utf8'), '{"theme": "da')
  assert.equal((await warned).code, 'TAD_STORE_RECOVERED')
  assert.equal(closeLater(t, new Store({ cwd: tempDir(t) })).recovery, null)
})

test('a damaged file is restored to the previous snapshot that history kept', async (t) => {
  const cwd = tempDir(t)
  const store = new Store({ cwd, checkpointIdleMs: 5 })
  store.set('v', 1)
  await store.verifyHistory() // a checkpoint: v = 1 is the snapshot
  store.set('v', 2)
  await store.close() // v = 2 is the snapshot; v = 1 is kept as the previous one
  fs.writeFileSync(path.join(cwd, 'config.json'), '{"v": 2, "torn')
  const reopened = closeLater(t, new Store({ cwd }))
  assert.equal(reopened.get('v'), 1)
  assert.equal(reopened.recovery.from, 'history')
})

test('a FIFO, a device or a socket as the store file is NOT_A_FILE at once, never read', async (t) => {
  // Each in a child process with a deadline: reading a FIFO blocks forever, /dev/zero
  // never ends (4 GB in 8 s before this check).
  const cases = []
  const fifoDir = tempDir(t)
  execFileSync('mkfifo', [path.join(fifoDir, 'config.json')])
  cases.push([fifoDir, 'a FIFO'])
  const deviceDir = tempDir(t)
  fs.symlinkSync('/dev/zero', path.join(deviceDir, 'config.json'))
  cases.push([deviceDir, 'a device'])
  const socketDir = tempDir(t)
  const server = require('node:net').createServer()
  await new Promise((resolve) => server.listen(path.join(socketDir, 'config.json'), resolve))
  t.after(() => server.close())
  cases.push([socketDir, 'a socket'])
  const journalDir = tempDir(t)
  execFileSync('mkfifo', [path.join(journalDir, 'config.json.journal')])
  cases.push([journalDir, 'a FIFO'])
  for (const [cwd, what] of cases) {
    for (const options of [{}, { readOnly: true }, { clearInvalidConfig: true }]) {
      const result = await runNode(
        `const S = require('.'); try { new S({ cwd: ${JSON.stringify(cwd)}, ...${JSON.stringify(options)} }); console.log('opened') } catch (e) { console.log(e.code, e.message) }`,
        { timeout: 10_000 },
      )
      if (options.readOnly && cwd === journalDir) continue // a reader does not replay another writer's journal
      assert.match(result.stdout, new RegExp(`^NOT_A_FILE .*${what}, not a regular file`), `${cwd} ${JSON.stringify(options)}: ${result.stdout}${result.stderr}`)
    }
  }
  assert.ok(fs.lstatSync(path.join(fifoDir, 'config.json')).isFIFO(), 'left as it was')
  assert.deepEqual(fs.readdirSync(fifoDir).filter((n) => n.startsWith('config.json.')), ['config.json.lock'], 'nothing moved aside')
})

test('at exit a store writes only what is not durable yet, and never recreates a removed directory', async (t) => {
  // Durable already, then the directory is removed, then exit without close: nothing
  // comes back.
  const gone = tempDir(t)
  const removed = await runNode(`
    const Store = require('.')
    const fs = require('fs')
    const store = new Store({ cwd: ${JSON.stringify(path.join(gone, 'app'))} })
    store.set('a', 1)
    store.flush().then(() => fs.rmSync(${JSON.stringify(path.join(gone, 'app'))}, { recursive: true }))
  `)
  assert.equal(removed.code, 0, removed.stderr)
  assert.deepEqual(fs.readdirSync(gone), [], 'the removed directory stays removed')

  // Not yet durable at exit: the journal takes it; the file itself is not rewritten.
  const cwd = tempDir(t)
  fs.writeFileSync(path.join(cwd, 'config.json'), '{\n\t"kept": true\n}')
  const exited = await runNode(`
    const Store = require('.')
    const store = new Store({ cwd: ${JSON.stringify(cwd)} })
    store.set('late', 'written at exit')
  `)
  assert.equal(exited.code, 0, exited.stderr)
  assert.equal(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8'), '{\n\t"kept": true\n}', 'no snapshot written at exit')
  const reopened = closeLater(t, new Store({ cwd }))
  assert.equal(reopened.get('late'), 'written at exit', 'durable in the journal')
})

test('a store whose directory is removed while open writes nothing and says so: DIRECTORY_REMOVED', async (t) => {
  const parent = tempDir(t)
  const cwd = path.join(parent, 'app')
  const store = new Store({ cwd })
  const errors = []
  store.onError((error) => errors.push(error.code))
  store.set('a', 1)
  await store.flush()
  fs.rmSync(cwd, { recursive: true })
  store.set('b', 2)
  await assert.rejects(store.flush(), (e) => e.code === 'DIRECTORY_REMOVED')
  await assert.rejects(store.close(), (e) => e.code === 'DIRECTORY_REMOVED')
  assert.deepEqual([...new Set(errors)], ['DIRECTORY_REMOVED'])
  assert.equal(fs.existsSync(cwd), false)
})

test('a background failure rejects with a typed Error whose stack names the caller', async (t) => {
  const parent = tempDir(t)
  const cwd = path.join(parent, 'app')
  const store = new Store({ cwd })
  store.onError(() => {})
  store.set('a', 1)
  await store.flush()
  fs.rmSync(cwd, { recursive: true })
  store.set('b', 2)
  const error = await store.flush().then(
    () => assert.fail('flush resolved'),
    (e) => e,
  )
  assert.ok(error instanceof Error)
  assert.equal(error.code, 'DIRECTORY_REMOVED')
  assert.equal(error.kind, 'persistent')
  assert.match(error.stack, /durability\.test\.js/, 'the stack shows where flush() was awaited')
  await store.close().catch(() => {})
})
