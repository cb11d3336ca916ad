'use strict'
// A hostile-renderer property test of the renderer bridge: seeded random sequences of
// navigations (with and without events), crashes, subscribes, unsubscribes, reads,
// writes, malformed requests and main-process changes, across windows whose origins have
// different grants. After every step:
//
// - no window ever received (in a reply, or in an event as it left the main process) a
//   value, or a change for a key, that the origin it showed at that moment may not read,
//   judged by an oracle written apart from js/policy.js;
// - read-only and sensitive keys changed only when the main process changed them;
// - the bridge's state stays within its limits (subscriptions per window, audit queue,
//   nothing pending after a turn), and no refusal is INTERNAL;
// - every page callback that fired last reported what the store holds now, as the page
//   may see it.
//
// TAD_BRIDGE_FUZZ_STEPS (default 3000) and TAD_BRIDGE_FUZZ_SEED (default: three fixed
// seeds) make longer runs: `TAD_BRIDGE_FUZZ_STEPS=100000 node --test __test__/bridge-fuzz.test.js`.
const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const Store = require('..')
const { registerStoreIpc } = require('../ipc')
const policyLib = require('../js/policy')
const { createElectron } = require('../examples/electron-standin/main')
const { openInProcessWindow } = require('./hostile-window')
const { tempDir, closeLater } = require('./helpers')

const STEPS = Number(process.env.TAD_BRIDGE_FUZZ_STEPS ?? 3000)
const SEEDS = process.env.TAD_BRIDGE_FUZZ_SEED ? [Number(process.env.TAD_BRIDGE_FUZZ_SEED)] : [1, 2, 3]

const APP = 'https://app.example.com'
const DOCS = 'https://docs.example.com'
const ADMIN = 'app://admin'
const FEED = 'https://feed.example.com'
const EVIL = 'https://evil.example.net'
const ORIGINS = [APP, DOCS, ADMIN, FEED, EVIL]

const API_KEY = 'sk-CANARY-'
const PHONE = 'PHONE-CANARY-'

const GRANTS = {
  [APP]: { read: ['*'], write: ['settings', 'ui', 'workspaces'], readOnly: ['settings.locked', 'workspaces.*.locked'], history: true },
  [DOCS]: { read: ['settings.theme', 'ui'], write: ['ui.zoom'] },
  [ADMIN]: { read: ['*'], write: ['*'], sensitive: ['profile.phone'] },
  [FEED]: { read: ['settings', 'workspaces.*.name'], anyChange: true },
}
const POLICY = { origins: GRANTS, sensitiveKeys: ['profile.phone'], maxSubscriptions: 12 }
const STORE_SENSITIVE = ['ai.credentials.apiKey']

// ----- the oracle: what an origin may see, from the grants above, written apart -----

/** Whether the pattern text covers the path (an array of segments) and below. */
function oracleCovers(pattern, path) {
  if (pattern === '*') return true
  const parts = pattern.split('.')
  while (parts.at(-1) === '*') parts.pop()
  if (parts.length > path.length) return false
  for (let i = 0; i < parts.length; i++) if (parts[i] !== '*' && parts[i] !== path[i]) return false
  return true
}

function oracleHidden(origin, path) {
  const visible = GRANTS[origin]?.sensitive ?? []
  return [...POLICY.sensitiveKeys, ...STORE_SENSITIVE].some((s) => oracleCovers(s, path) && !visible.some((v) => oracleCovers(v, s.split('.'))))
}

/** May `origin` see the value at `path`? */
function oracleMayRead(origin, path) {
  const grant = GRANTS[origin]
  return Boolean(grant) && grant.read.some((p) => oracleCovers(p, path)) && !oracleHidden(origin, path)
}

/** May `origin` learn that `path` was deleted? (It can read there, or below.) */
function oracleMaySeeDeletion(origin, path) {
  const grant = GRANTS[origin]
  if (!grant || oracleHidden(origin, path)) return false
  return grant.read.some((p) => {
    if (oracleCovers(p, path)) return true
    const parts = p.split('.')
    return parts.length > path.length && path.every((s, i) => parts[i] === '*' || parts[i] === s)
  })
}

/** Every primitive and every empty container in `value`, with its full path. */
function* leaves(value, at) {
  if (value === null || typeof value !== 'object') return yield at
  const entries = Object.entries(value)
  if (entries.length === 0) return yield at
  for (const [name, child] of entries) yield* leaves(child, [...at, name])
}

function assertMayRead(origin, at, value, what) {
  for (const leaf of leaves(value, at)) {
    assert.ok(oracleMayRead(origin, leaf), `${what}: ${origin ?? 'no origin'} received ${leaf.join('.')}`)
  }
  const text = JSON.stringify(value ?? null)
  assert.ok(!text.includes(API_KEY), `${what}: the API key reached ${origin}`)
  if (origin !== ADMIN) assert.ok(!text.includes(PHONE), `${what}: the phone reached ${origin}`)
}

// ----- random inputs -----

function rng(seed) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 32
  }
}

const KEYS = [
  'settings', 'settings.theme', 'settings.locked', 'settings.font', 'ui', 'ui.zoom', 'ui.panel', 'profile', 'profile.email',
  'profile.phone', 'ai', 'ai.credentials', 'ai.credentials.apiKey', 'ai.model', 'workspaces', 'workspaces.w1',
  'workspaces.w1.name', 'workspaces.w1.locked', 'workspaces.w2', 'workspaces.w2.name', 'workspaces.w2.locked', 'workspaces.w3.name',
]
const HOSTILE_KEYS = ['__proto__', 'a.__proto__.b', 'settings[0]', 'x\u2028y', '', 'settings..theme', 'constructor', 'a\\.b', 'k'.repeat(2000)]
const HOSTILE_ARGS = [{ toString: 1 }, 42, null, undefined, [1, 2], new Map([[1, 2]]), 10n, new Date(0), { __proto__: { polluted: true } }, 'x'.repeat(3000)]

function driver(seed) {
  const r = rng(seed)
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const chance = (p) => r() < p
  let n = 0
  const value = (depth = 0) => {
    const roll = r()
    if (roll < 0.25) return `v${n++}`
    if (roll < 0.4) return Math.floor(r() * 1000)
    if (roll < 0.5) return chance(0.5)
    if (roll < 0.55) return null
    if (roll < 0.6 && depth < 3) return [value(depth + 1), value(depth + 1)]
    if (roll < 0.95 && depth < 3) return { name: `n${n++}`, locked: chance(0.5), [`k${Math.floor(r() * 4)}`]: value(depth + 1) }
    return 'x'.repeat(chance(0.5) ? 10 : 5000)
  }
  /** What the main process writes: anything, secrets included. */
  const mainValue = (key) => (key === 'ai.credentials.apiKey' ? `${API_KEY}${n++}` : key === 'profile.phone' ? `${PHONE}${n++}` : value())
  return { r, pick, chance, value, mainValue }
}

/** Values at every location a pattern names, as JSON: what must not change. */
function protectedView(store, patterns) {
  const out = {}
  const walk = (node, parts, at) => {
    if (parts.length === 0) return void (out[at.join('.')] = JSON.stringify(node))
    if (node === null || typeof node !== 'object') return
    const [head, ...rest] = parts
    for (const name of head === '*' ? Object.keys(node) : [head]) if (Object.hasOwn(node, name)) walk(node[name], rest, [...at, name])
  }
  const whole = store.store
  for (const pattern of patterns) walk(whole, pattern.split('.'), [])
  return JSON.stringify(out)
}

async function run(t, seed) {
  const { r, pick, chance, value, mainValue } = driver(seed)
  const store = closeLater(t, new Store({
    cwd: tempDir(t),
    history: false,
    sensitiveKeys: STORE_SENSITIVE,
    secretKey: crypto.randomBytes(32),
    defaults: {
      settings: { theme: 'light', locked: 1, font: 14 },
      ui: { zoom: 1 },
      profile: { email: 'ada@example.com', phone: `${PHONE}0` },
      ai: { credentials: { apiKey: `${API_KEY}0` }, model: 'm' },
      workspaces: { w1: { name: 'one', locked: true }, w2: { name: 'two', locked: false } },
    },
  }))
  const electron = createElectron()
  const dispose = registerStoreIpc(store, { policy: POLICY, ipcMain: electron.ipcMain })
  closeLater(t, { close: dispose })
  const compiled = policyLib.compilePolicy(POLICY, [STORE_SENSITIVE[0].split('.')])

  /** Per window: the harness window, how far its received events were checked, its page's subscriptions. */
  const windows = Array.from({ length: 4 }, () => ({ win: openInProcessWindow(electron.ipcMain, `${pick(ORIGINS)}/`), checked: 0, subs: [] }))
  for (const w of windows) closeLater(t, w.win)
  const pendingCommits = []
  const replies = []
  const originOf = (url) => policyLib.originOf(url)

  /** A main-process write; one the store refuses (a name through an array) is fine. */
  function mainProcess(write) {
    try {
      write()
    } catch (error) {
      if (error.code !== 'TYPE_CONFLICT') throw error
    }
  }

  async function request(w, op, ...args) {
    const origin = originOf(w.win.url)
    const reply = await w.win.raw(op, ...args)
    replies.push({ origin, op, args, reply })
    return reply
  }

  function subscribe(w, key) {
    const record = { key, origin: originOf(w.win.url), doc: w.win.api, calls: 0, last: undefined, stale: false }
    const callback = (v) => {
      record.calls += 1
      record.last = v
    }
    record.off = key === '' ? w.win.api.onDidAnyChange(callback) : w.win.api.onDidChange(key, callback)
    w.subs.push(record)
  }

  const steps = [
    [14, async () => {
      const key = pick(KEYS)
      mainProcess(() => store.set(key, mainValue(key)))
    }],
    [4, async () => {
      const key = pick(KEYS)
      if (key !== 'ai.credentials.apiKey') mainProcess(() => store.delete(key))
    }],
    [1, async () => {
      const whole = store.store
      whole.workspaces = { w1: { name: `n${Math.floor(r() * 9)}`, locked: chance(0.5) }, w3: value() }
      whole.settings = { ...whole.settings, theme: value() }
      store.store = whole
    }],
    [14, async (w) => {
      const key = chance(0.12) ? '' : pick(KEYS)
      subscribe(w, key)
      await w.win.api.has('settings').catch(() => {}) // lets the subscribe land
    }],
    [7, async (w) => {
      const record = w.subs.splice(Math.floor(r() * w.subs.length), 1)[0]
      record?.off()
    }],
    [10, async (w) => {
      const key = pick(KEYS)
      const reply = await request(w, 'get', key)
      if (reply.ok && reply.value !== undefined) assertMayRead(replies.at(-1).origin, key.split('.'), reply.value, `get ${key}`)
    }],
    [3, async (w) => request(w, 'has', pick(KEYS))],
    [10, async (w) => {
      const origin = originOf(w.win.url)
      const guarded = [...(GRANTS[origin]?.readOnly ?? []), ...STORE_SENSITIVE, ...(origin === ADMIN ? [] : POLICY.sensitiveKeys)]
      const before = protectedView(store, guarded)
      if (chance(0.7)) await request(w, 'set', pick(KEYS), value())
      else await request(w, 'delete', pick(KEYS))
      assert.equal(protectedView(store, guarded), before, `a write from ${origin} changed a read-only or sensitive key`)
    }],
    [6, async (w) => {
      const op = pick(['get', 'has', 'set', 'delete', 'subscribe', 'unsubscribe', 'listHistory', 'rollbackToTimestamp'])
      const args = [chance(0.5) ? pick(HOSTILE_KEYS) : pick(HOSTILE_ARGS), pick(HOSTILE_ARGS), pick(HOSTILE_ARGS)]
      const origin = originOf(w.win.url)
      const guarded = [...STORE_SENSITIVE, ...(origin === ADMIN ? [] : POLICY.sensitiveKeys), ...(GRANTS[origin]?.readOnly ?? [])]
      const before = protectedView(store, guarded)
      await request(w, op, ...args)
      assert.equal(protectedView(store, guarded), before)
    }],
    [4, async (w) => {
      for (const record of w.subs) record.stale = true
      w.subs = []
      const commit = w.win.navigate(`${pick(ORIGINS)}/page`, { lateNavigateEvent: chance(0.3) })
      if (commit) pendingCommits.push(commit)
    }],
    [2, async (w) => {
      // No Electron does this (a new origin is a new document), so this document's
      // page state is not checked again; what reaches it still is.
      for (const record of w.subs) record.stale = true
      w.tainted = w.win.api
      w.win.navigateSilently(`${pick(ORIGINS)}/elsewhere`)
    }],
    [1, async (w) => {
      for (const record of w.subs) record.stale = true
      w.subs = []
      w.win.crash()
    }],
    [8, async () => {
      while (pendingCommits.length > 0) pendingCommits.shift()()
      await new Promise((resolve) => setTimeout(resolve, 2))
      await new Promise((resolve) => setImmediate(resolve))
      checkMirrors()
    }],
    [3, async (w) => {
      // A burst: requests and changes interleaved without waiting.
      const work = []
      for (let i = 0; i < 6; i++) {
        const key = pick(KEYS)
        if (chance(0.5)) mainProcess(() => store.set(key, mainValue(key)))
        else work.push(request(w, pick(['get', 'set', 'subscribe', 'unsubscribe']), key, value(), 'burst-doc'))
      }
      await Promise.all(work)
    }],
  ]
  const total = steps.reduce((sum, [weight]) => sum + weight, 0)

  /** Page callbacks that fired last saw what the store holds now (as the page may). */
  function checkMirrors() {
    for (const w of windows) {
      for (const record of w.subs) {
        if (record.stale || record.calls === 0 || record.doc !== w.win.api || record.doc === w.tainted) continue
        const grant = compiled.origins.get(record.origin)
        if (!grant || originOf(w.win.url) !== record.origin) continue
        const at = record.key === '' ? [] : record.key.split('.')
        const now = policyLib.project(grant, at, record.key === '' ? store.store : store.get(record.key))
        assert.deepEqual(record.last, now === policyLib.NOTHING ? undefined : now, `seed ${seed}: the page's view of '${record.key}' (${record.origin}) drifted`)
      }
    }
  }

  for (let step = 0; step < STEPS; step++) {
    let roll = r() * total
    const [, action] = steps.find(([weight]) => (roll -= weight) < 0) ?? steps[0]
    const w = pick(windows)
    await action(w)
    // Everything that left the main process since the last step, judged by the origin
    // the window showed when it left.
    for (const each of windows) {
      for (; each.checked < each.win.received.length; each.checked++) {
        const { url, message } = each.win.received[each.checked]
        const origin = originOf(url)
        for (const change of message.changes) {
          if (change.deleted) assert.ok(oracleMaySeeDeletion(origin, change.path), `seed ${seed} step ${step}: ${origin} learned ${change.path.join('.')} was deleted`)
          else assertMayRead(origin, change.path, change.value, `seed ${seed} step ${step}: event`)
        }
      }
    }
    for (const { origin, op, reply } of replies.splice(0)) {
      if (!reply.ok) assert.notEqual(reply.error.code, 'INTERNAL', `${op}: ${reply.error.message}`)
      else if (op === 'subscribe' && reply.value?.value !== undefined) assertMayRead(origin, reply.value.path, reply.value.value, 'subscribe')
    }
    const stats = dispose.stats()
    for (const n of stats.subscriptions) assert.ok(n <= POLICY.maxSubscriptions, `a window holds ${n} subscriptions`)
    assert.ok(stats.windows <= windows.length)
    assert.ok(stats.auditQueued <= 4096)
  }
  await new Promise((resolve) => setTimeout(resolve, 5))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(dispose.stats().pending, 0)
  return windows.reduce((sum, w) => sum + w.win.received.length, 0)
}

for (const seed of SEEDS) {
  test(`a hostile renderer never sees, changes or costs more than its current origin's grant (seed ${seed}, ${STEPS} steps)`, async (t) => {
    // Refused subscriptions are logged by the preload; thousands of them are noise here.
    const error = console.error
    console.error = () => {}
    try {
      const events = await run(t, seed)
      assert.ok(events > 0, 'events were delivered at all')
    } finally {
      console.error = error
    }
  })
}
