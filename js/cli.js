'use strict'
// The `tad-store` command: inspect and repair a store without writing code. Every
// command goes through the same Store the app uses; reads open it read-only (so they
// work while the app holds it), writes take the writer's lock (LOCKED, naming the
// holder's pid, when the app has it).
const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')
const { Store } = require('./store')
const native = require('./native')
const { resolveStorePath, assertRegularFile } = require('./paths')
const { readStatus } = require('./sync')

const USAGE = `usage: tad-store <command> [arguments] (--app <name> | --file <path>) [options]

commands:
  path                      the store file's path
  get <key>                 the value at key
  set <key> <json>          set key to a JSON value
  delete <key>              delete key
  keys [prefix]             the keys below prefix (the top level without one)
  export [file]             the whole store as JSON (to stdout, or to file)
  import <file>             set every top-level key of a JSON file (electron-store's config.json too)
  history                   recorded states: timestamp, kind, size, hash
  rollback <timestamp>      put the store back as it was at timestamp
  diff <timestamp>          which keys differ between now and timestamp
  verify                    check the snapshot, journal, history, backups and schema
  recover                   run the recovery ladder; say what was restored
  stats                     sizes, history, fsync latency, counts
  sync status               sync across devices: this device, the devices seen, pending changes, conflicts

options:
  --app <name>              the store of app <name>, in its default location (Electron's userData)
  --file <path>             the store file at path
  --name <name>             the store's name with --app (default: config)
  --json                    machine-readable output on stdout
  --reveal                  print sensitive values in plaintext (needs their key)
  --key <hex|base64>        the data key of sensitive values (default: the OS keyring)
  --key-file                the store keeps its key in a key file (keyStore: 'file')
  --encryption-key <text>   electron-store's encryptionKey, for a whole-file encrypted store
  --schema <file>           the app's JSON Schema, for verify to check the store against
  --no-color                no colours, even on a terminal
  -h, --help                this help

exit codes: 0 ok, 1 the store refused or failed, 2 bad arguments, 3 locked by another
process, 4 not found (the store, a key or a timestamp), 5 verify found a problem`

/** Exit codes, documented in the usage and the README. */
const EXIT = { OK: 0, FAILED: 1, USAGE: 2, LOCKED: 3, NOT_FOUND: 4, VERIFY_FAILED: 5 }

const ENCRYPTED = '«encrypted»'
const ENVELOPE = /^enc:v1:/

class UsageError extends Error {}
class Exit extends Error {
  constructor(code, message, errorCode) {
    super(message)
    this.exitCode = code
    this.errorCode = errorCode
  }
}

/** `needsStore`: the file must exist (a typo in --app or --file is not a new store). */
const COMMANDS = {
  path: { args: [0, 0], run: cmdPath, needsStore: false },
  get: { args: [1, 1], run: cmdGet },
  set: { args: [2, 2], run: cmdSet },
  delete: { args: [1, 1], run: cmdDelete },
  keys: { args: [0, 1], run: cmdKeys },
  export: { args: [0, 1], run: cmdExport },
  import: { args: [1, 1], run: cmdImport, needsStore: false },
  history: { args: [0, 0], run: cmdHistory },
  rollback: { args: [1, 1], run: cmdRollback },
  diff: { args: [1, 1], run: cmdDiff },
  verify: { args: [0, 0], run: cmdVerify },
  recover: { args: [0, 0], run: cmdRecover },
  stats: { args: [0, 0], run: cmdStats },
  sync: { args: [1, 1], run: cmdSync },
}

function parse(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        app: { type: 'string' },
        file: { type: 'string' },
        name: { type: 'string' },
        json: { type: 'boolean' },
        reveal: { type: 'boolean' },
        key: { type: 'string' },
        'key-file': { type: 'boolean' },
        'encryption-key': { type: 'string' },
        schema: { type: 'string' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    // parseArgs says which option; keep its first sentence.
    throw new UsageError(error.message.split('. ')[0].replace(/\.$/, ''))
  }
  const { values, positionals } = parsed
  if (values.help) return { help: true }
  const [command, ...args] = positionals
  if (!command) throw new UsageError('a command is needed')
  const spec = COMMANDS[command]
  if (!spec) throw new UsageError(`unknown command \`${command}\``)
  const [min, max] = spec.args
  if (args.length < min) throw new UsageError(`\`${command}\` needs ${min === 1 ? 'an argument' : `${min} arguments`}`)
  if (args.length > max) throw new UsageError(`\`${command}\` takes ${max === 0 ? 'no arguments' : `at most ${max}`}`)
  if (values.app && values.file) throw new UsageError('give --app or --file, not both')
  if (!values.app && !values.file) throw new UsageError('which store? give --app <name> or --file <path>')
  return { command, args, options: values }
}

/** The Store options for the chosen store (without opening it). */
function storeOptions(options) {
  const base = {}
  if (options.file) {
    const file = path.resolve(options.file)
    const ext = path.extname(file)
    Object.assign(base, { cwd: path.dirname(file), name: path.basename(file, ext), fileExtension: ext.replace(/^\./, '') })
  } else {
    const dir = native.defaultConfigDir(options.app)
    if (!dir) throw new Exit(EXIT.FAILED, 'this system has no configuration directory for --app')
    Object.assign(base, { cwd: dir, name: options.name ?? 'config' })
  }
  if (options['encryption-key'] !== undefined) base.encryptionKey = options['encryption-key']
  return base
}

/** The `--schema` file as Store options (`schema` and `rootSchema`), or undefined. */
function schemaOptions(options) {
  if (!options.schema) return undefined
  let schema
  assertRegularFile(options.schema)
  try {
    schema = JSON.parse(fs.readFileSync(options.schema, 'utf8'))
  } catch (error) {
    throw new UsageError(`--schema: ${error.code === 'ENOENT' ? 'no such file' : 'not a JSON file'} ${options.schema}`)
  }
  const { properties, ...rootSchema } = schema
  return { schema: properties ?? {}, rootSchema }
}

/** How sensitive values are opened: the key given, a key file, or the OS keyring. */
function keyOptions(options) {
  if (options.key !== undefined) return { secretKey: options.key }
  if (options['key-file']) return { keyStore: 'file' }
  return {}
}

/** Dot paths of every envelope in `value` (where a sensitive value is sealed). */
function envelopePaths(value, at = '') {
  if (typeof value === 'string') return ENVELOPE.test(value) && at ? [at] : []
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([key, child]) => (key.includes('.') || key.includes('*') ? [] : envelopePaths(child, at ? `${at}.${key}` : key)))
}

/** `value` with every envelope shown as «encrypted». */
function masked(value) {
  if (typeof value === 'string') return ENVELOPE.test(value) ? ENCRYPTED : value
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(masked)
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v)]))
}

/**
 * Opens the store read-only: works while the app holds it, never writes. Sensitive values
 * come back as their envelopes, unless `reveal`, where the store is opened again with the
 * envelopes' paths as sensitive keys and the key (keyring, --key, --key-file).
 */
function openForReading(ctx) {
  const store = new Store({ ...ctx.base, readOnly: true })
  if (!ctx.options.reveal) return store
  const sensitiveKeys = envelopePaths(store.store)
  if (sensitiveKeys.length === 0) return store
  let revealing
  try {
    revealing = new Store({ ...ctx.base, ...keyOptions(ctx.options), readOnly: true, sensitiveKeys })
    // Every sealed value must open with this key; otherwise none is shown.
    for (const key of sensitiveKeys) revealing.get(key)
  } catch (error) {
    revealing?.close()
    ctx.warn(`cannot reveal sensitive values (${error.code}: ${error.message})`)
    return store
  }
  store.close()
  ctx.revealed = true
  return revealing
}

/**
 * Opens the store for writing the keys in `touching`; LOCKED when the app (or anyone)
 * holds it. A write at or around a sealed value must seal what it writes: then the store
 * is opened again with those paths as sensitive keys (and their key). Elsewhere no key
 * is needed, and the store is opened once.
 */
async function openForWriting(ctx, touching) {
  const store = new Store(ctx.base)
  const overlaps = (p) => touching.some((k) => p === k || p.startsWith(`${k}.`) || k.startsWith(`${p}.`))
  const sensitiveKeys = touching.length === 0 ? [] : envelopePaths(store.store).filter(overlaps)
  if (sensitiveKeys.length === 0) return store
  await store.close()
  return new Store({ ...ctx.base, sensitiveKeys, ...keyOptions(ctx.options) })
}

/** What a read prints: sealed values as «encrypted», unless they were revealed. */
function show(ctx, value) {
  return ctx.revealed ? value : masked(value)
}

// ----- commands -----------------------------------------------------------------------

async function cmdPath(ctx) {
  const file = resolveStorePath(ctx.base, native)
  ctx.out({ path: file }, file)
}

async function cmdGet(ctx, [key]) {
  const store = openForReading(ctx)
  try {
    if (!store.has(key)) throw new Exit(EXIT.NOT_FOUND, `\`${key}\` is not set`, 'NOT_FOUND')
    const value = show(ctx, store.get(key))
    ctx.out({ key, value }, typeof value === 'string' ? value : JSON.stringify(value, undefined, 2))
  } finally {
    await store.close()
  }
}

async function cmdSet(ctx, [key, json]) {
  let value
  try {
    value = JSON.parse(json)
  } catch {
    throw new UsageError(`the value for \`${key}\` is not JSON (quote strings: '"dark"')`)
  }
  const store = await openForWriting(ctx, [key])
  try {
    store.set(key, value)
  } finally {
    await store.close()
  }
  ctx.out({ ok: true, key }, `set ${key}`)
}

async function cmdDelete(ctx, [key]) {
  const store = await openForWriting(ctx, [key])
  try {
    if (!store.has(key)) throw new Exit(EXIT.NOT_FOUND, `\`${key}\` is not set`, 'NOT_FOUND')
    store.delete(key)
  } finally {
    await store.close()
  }
  ctx.out({ ok: true, key }, `deleted ${key}`)
}

function typeOf(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `array (${value.length})`
  if (typeof value === 'object') return `object (${Object.keys(value).length})`
  if (typeof value === 'string' && ENVELOPE.test(value)) return 'encrypted'
  return typeof value
}

async function cmdKeys(ctx, [prefix]) {
  const store = openForReading(ctx)
  try {
    const at = prefix === undefined ? store.store : store.get(prefix)
    if (prefix !== undefined && !store.has(prefix)) throw new Exit(EXIT.NOT_FOUND, `\`${prefix}\` is not set`, 'NOT_FOUND')
    const entries = at !== null && typeof at === 'object' ? Object.entries(at) : []
    const keys = entries.map(([k, v]) => ({ key: prefix ? `${prefix}.${k}` : k, type: typeOf(v) }))
    ctx.out({ prefix: prefix ?? '', keys }, ctx.table(['KEY', 'TYPE'], keys.map((k) => [k.key, k.type])))
  } finally {
    await store.close()
  }
}

async function cmdExport(ctx, [file]) {
  const store = openForReading(ctx)
  let data
  try {
    data = show(ctx, store.store)
  } finally {
    await store.close()
  }
  const text = `${JSON.stringify(data, undefined, '\t')}\n`
  if (!file) {
    ctx.raw(text)
    return
  }
  // Private, as the store's own files: it may hold envelopes, or with --reveal secrets.
  // Written as the engine writes its own (temp, fsync, rename, directory fsync).
  require('./native').writeFileAtomic(file, Buffer.from(text), 0o600)
  ctx.out({ file: path.resolve(file), keys: Object.keys(data).length }, `exported ${Object.keys(data).length} keys to ${file}`)
}

async function cmdImport(ctx, [file]) {
  if (!fs.existsSync(file)) throw new UsageError(`import: no such file ${file}`)
  ctx.progress.start('import', ['read', 'write', 'flush'])
  // The file is read as a store of its own: electron-store's config.json, whole-file
  // encrypted ones too (--encryption-key), with the same checks as any store.
  const source = path.resolve(file)
  const ext = path.extname(source)
  const reader = new Store({ cwd: path.dirname(source), name: path.basename(source, ext), fileExtension: ext.replace(/^\./, ''), readOnly: true, history: false, encryptionKey: ctx.options['encryption-key'] })
  let data
  try {
    data = reader.store
  } finally {
    await reader.close()
  }
  ctx.progress.step()
  const keys = Object.keys(data)
  // --encryption-key was the imported file's; the store written keeps its own format.
  const store = await openForWriting({ ...ctx, base: { ...ctx.base, encryptionKey: undefined } }, keys)
  try {
    store.set(data)
    ctx.progress.step()
  } finally {
    await store.close()
  }
  ctx.progress.done()
  ctx.out({ file: source, imported: keys }, `imported ${keys.length} keys from ${file}`)
}

async function cmdHistory(ctx) {
  const store = openForReading(ctx)
  try {
    const entries = store.listHistory()
    ctx.out({ entries }, entries.length === 0 ? 'no recorded states' : ctx.table(['TIMESTAMP', 'KIND', 'SIZE', 'HASH'], entries.map((e) => [e.timestamp, e.kind, bytes(e.size), e.hash.slice(0, 16)])))
  } finally {
    await store.close()
  }
}

async function cmdRollback(ctx, [timestamp]) {
  // A rollback restores sealed values as they were recorded: no key is needed.
  const store = await openForWriting(ctx, [])
  ctx.progress.start('rollback', ['rebuild', 'write'])
  try {
    await store.rollbackToTimestamp(timestamp)
    ctx.progress.step()
  } finally {
    await store.close()
  }
  ctx.progress.done()
  ctx.out({ ok: true, timestamp }, `rolled back to ${timestamp}`)
}

/** Leaf paths of `value` with their values, for a diff. */
function leaves(value, at = '', out = new Map()) {
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k, out)
  } else if (at) {
    out.set(at, JSON.stringify(value))
  }
  return out
}

async function cmdDiff(ctx, [timestamp]) {
  const store = openForReading(ctx)
  let then
  let now
  try {
    then = await store.stateAt(timestamp)
    now = store.store
  } finally {
    await store.close()
  }
  const [a, b] = [leaves(then), leaves(now)]
  const changes = []
  for (const [key, value] of b) {
    if (!a.has(key)) changes.push({ key, change: 'added' })
    else if (a.get(key) !== value) changes.push({ key, change: 'changed' })
  }
  for (const key of a.keys()) if (!b.has(key)) changes.push({ key, change: 'removed' })
  changes.sort((x, y) => x.key.localeCompare(y.key))
  ctx.out({ timestamp, changes }, changes.length === 0 ? `no differences since ${timestamp}` : ctx.table(['KEY', 'SINCE ' + timestamp], changes.map((c) => [c.key, c.change])))
}

async function cmdVerify(ctx) {
  const checks = []
  const check = (name, ok, detail) => {
    checks.push({ name, ok, detail })
    ctx.progress.step()
  }
  ctx.progress.start('verify', ['snapshot', 'journal', 'history', 'backups', 'schema'])
  const schema = schemaOptions(ctx.options)
  let store
  try {
    store = new Store({ ...ctx.base, readOnly: true })
    check('snapshot', true, `${bytes(fs.statSync(store.path).size)}, a JSON object`)
  } catch (error) {
    check('snapshot', false, `${error.code}: ${error.message}`)
  }
  if (store) {
    const report = store.openReport
    const files = require('./native').storeFiles(store.path)
    const journal = files.journal
    if (!fs.existsSync(journal)) check('journal', true, 'none (everything is in the snapshot)')
    else if (report.tornBytes > 0) check('journal', true, `${report.replayed} batches to replay; a torn tail of ${report.tornBytes} bytes (a crash mid-write) will be cut`)
    else check('journal', true, `${report.replayed} batches to replay`)
    const history = await store.verifyHistory()
    check('history', history.ok, history.ok ? `${history.verified} of ${history.entries} entries verified` : `broken at ${history.brokenAt}: ${history.reason}`)
    // Migration backups are JSON; `.enc` files are encrypted originals kept by a migration.
    const dir = files.backups
    const backups = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.json')) : []
    const bad = backups.filter((name) => {
      try {
        const parsed = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'))
        return parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)
      } catch {
        return true
      }
    })
    check('backups', bad.length === 0, bad.length === 0 ? `${backups.length} readable` : `unreadable: ${bad.join(', ')}`)
    await store.close()
  } else {
    for (const name of ['journal', 'history', 'backups']) check(name, false, 'not checked: the snapshot does not read')
  }
  if (!schema) {
    check('schema', true, 'skipped (give --schema <file> to check against the app schema)')
  } else if (store) {
    try {
      // Sealed values are checked as envelopes, which needs no key: a throwaway one keeps
      // the keyring out of it (a reader writes nothing, so nothing is sealed with it).
      await new Store({ ...ctx.base, ...schema, secretKey: require('node:crypto').randomBytes(32), readOnly: true }).close()
      check('schema', true, 'the store passes the schema')
    } catch (error) {
      check('schema', false, `${error.code}: ${error.message}`)
    }
  } else {
    check('schema', false, 'not checked: the snapshot does not read')
  }
  ctx.progress.done()
  const ok = checks.every((c) => c.ok)
  ctx.out({ ok, checks }, checks.map((c) => `${c.ok ? ctx.paint('green', '✓ pass') : ctx.paint('red', '✗ fail')}  ${c.name.padEnd(9)} ${ctx.paint('dim', c.detail)}`).join('\n'))
  if (!ok) throw new Exit(EXIT.VERIFY_FAILED, 'verify found a problem', 'VERIFY_FAILED')
}

async function cmdRecover(ctx) {
  const store = new Store({ ...ctx.base, clearInvalidConfig: true })
  const { recovery, openReport } = store
  await store.close()
  const result = {
    recovered: Boolean(recovery),
    from: recovery?.from ?? null,
    file: recovery?.file ?? null,
    quarantined: recovery?.quarantined ?? null,
    reason: recovery?.reason ?? null,
    replayed: openReport.replayed,
    tornBytes: openReport.tornBytes,
  }
  const lines = recovery
    ? [`the store did not read (${recovery.reason})`, `moved aside to ${recovery.quarantined}`, recovery.file ? `restored from ${recovery.from}: ${recovery.file}` : 'started from the defaults (nothing good to restore from)']
    : ['nothing to recover: the store reads']
  if (openReport.replayed > 0) lines.push(`replayed ${openReport.replayed} journal batches${openReport.tornBytes ? `, cut a torn tail of ${openReport.tornBytes} bytes` : ''}`)
  ctx.out(result, lines.join('\n'))
}

async function cmdStats(ctx) {
  const store = openForReading(ctx)
  let stats
  try {
    stats = store.stats()
    // This process wrote nothing: the last checkpoint is when the file was last written.
    if (!stats.lastCheckpoint && fs.existsSync(store.path)) stats.lastCheckpoint = fs.statSync(store.path).mtime.toISOString()
  } finally {
    await store.close()
  }
  const micros = (v) => (v == null ? '–' : v < 1000 ? `${v} µs` : `${(v / 1000).toFixed(1)} ms`)
  const rows = [
    ['snapshot', bytes(stats.snapshotBytes)],
    ['journal', bytes(stats.journalBytes)],
    ['history', `${stats.historyEntries} entries, ${bytes(stats.historyBytes)}`],
    ['last checkpoint', stats.lastCheckpoint ?? '–'],
    ['fsync p50 / p99', `${micros(stats.fsyncP50Micros)} / ${micros(stats.fsyncP99Micros)} (${stats.fsyncCount} fsyncs)`],
    ['operations', Object.entries(stats.operations).filter(([, n]) => n > 0).map(([op, n]) => `${op} ${n}`).join(', ') || '–'],
    ['errors', Object.entries(stats.errors).map(([code, n]) => `${code} ${n}`).join(', ') || 'none'],
    ['renderer subscriptions', String(stats.rendererSubscriptions)],
  ]
  ctx.out(stats, ctx.table(['', ''], rows, { header: false }))
}

/** `sync status`: read from what the engine last wrote beside the store (it may be open in the app). */
async function cmdSync(ctx, [what]) {
  if (what !== 'status') throw new UsageError(`unknown sync command \`${what}\` (try: sync status)`)
  const file = resolveStorePath(ctx.base, native)
  const status = readStatus(native.storeFiles(file).syncDir)
  if (status === null) throw new Exit(EXIT.NOT_FOUND, `the store ${file} has never synced (no \`sync\` option, or never opened with one)`, 'NOT_FOUND')
  const rows = [
    ['this device', `${status.device} (${status.directory})`],
    ['folder', `${status.folder}${status.reachable ? '' : ' (unreachable)'}`],
    ['keys', status.keys.join(', ')],
    ...status.devices.map((d) => [d.thisDevice ? 'device (this)' : 'device', `${d.device}: last change ${d.lastChange ?? '–'}`]),
    ['pending out / in', `${status.pendingOut} / ${status.pendingIn}`],
    ['conflicts', status.conflicts.map((c) => `${c.key} since ${c.since}: ${c.message}`).join('; ') || 'none'],
    ['last look', status.lastScan ?? '–'],
  ]
  if (status.lastError) rows.push(['last error', `${status.lastError[0]}: ${status.lastError[1]}`])
  ctx.out(status, ctx.table(['', ''], rows, { header: false }))
}

function bytes(n) {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`
}

// ----- output ---------------------------------------------------------------------------

function context(options, io) {
  const color = !options['no-color'] && !options.json && (io.stdout.isTTY || Boolean(process.env.FORCE_COLOR)) && !process.env.NO_COLOR
  const codes = { green: 32, red: 31, dim: 2, bold: 1, yellow: 33 }
  const paint = (name, text) => (color ? `\x1b[${codes[name]}m${text}\x1b[0m` : text)
  // On a terminal; TAD_STORE_PROGRESS=1 forces it (tests, logs that want it).
  const progressOn = (io.stderr.isTTY || process.env.TAD_STORE_PROGRESS === '1') && !options.json
  let phases = []
  let done = 0
  let label = ''
  const draw = () => {
    if (!progressOn) return
    const width = 24
    const filled = Math.round((done / Math.max(phases.length, 1)) * width)
    io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${phases[done] ?? 'done'}   `)
  }
  return {
    options,
    paint,
    out(json, human) {
      io.stdout.write(`${options.json ? JSON.stringify(json) : human}\n`)
    },
    raw(text) {
      io.stdout.write(text)
    },
    warn(message) {
      io.stderr.write(`tad-store: ${message}\n`)
    },
    table(headers, rows, { header = true } = {}) {
      const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
      const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()
      return [...(header ? [paint('bold', line(headers))] : []), ...rows.map(line)].join('\n')
    },
    progress: {
      start(name, steps) {
        label = name
        phases = steps
        done = 0
        draw()
      },
      step() {
        done += 1
        draw()
      },
      done() {
        done = phases.length
        draw()
        if (progressOn) io.stderr.write('\n')
      },
    },
  }
}

/** Runs the command line `argv`; resolves with the exit code. Never throws. */
async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  let parsed
  try {
    parsed = parse(argv)
  } catch (error) {
    io.stderr.write(`tad-store: ${error.message}\n${USAGE.split('\n')[0]}\n(tad-store --help for more)\n`)
    return EXIT.USAGE
  }
  if (parsed.help) {
    io.stdout.write(`${USAGE}\n`)
    return EXIT.OK
  }
  const ctx = context(parsed.options, io)
  try {
    ctx.base = storeOptions(parsed.options)
    const command = COMMANDS[parsed.command]
    const file = resolveStorePath(ctx.base, native)
    assertRegularFile(file)
    if (command.needsStore !== false && !fs.existsSync(file)) {
      throw new Exit(EXIT.NOT_FOUND, `there is no store at ${file}`, 'NOT_FOUND')
    }
    await command.run(ctx, parsed.args)
    return EXIT.OK
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`tad-store: ${error.message}\n${USAGE.split('\n')[0]}\n`)
      return EXIT.USAGE
    }
    const exit = error instanceof Exit ? error.exitCode : error.code === 'LOCKED' ? EXIT.LOCKED : error.code === 'HISTORY_NOT_FOUND' ? EXIT.NOT_FOUND : EXIT.FAILED
    const code = error instanceof Exit ? error.errorCode : error.code ?? 'ERROR'
    // A failed verify has already printed its checks, which say what failed.
    if (exit !== EXIT.VERIFY_FAILED) {
      if (parsed.options.json) io.stdout.write(`${JSON.stringify({ error: { code, message: error.message } })}\n`)
      io.stderr.write(`tad-store: ${code}: ${error.message}\n`)
    }
    if (process.env.TAD_STORE_DEBUG) io.stderr.write(`${error.stack}\n`)
    return exit
  }
}

module.exports = { main, EXIT, USAGE }
