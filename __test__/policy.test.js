'use strict'
// The renderer access checks, fuzzed: thousands of generated keys, URLs and values
// (seeded, so a failure reproduces), each checked against what must always hold.
const test = require('node:test')
const assert = require('node:assert/strict')
const policyLib = require('../js/policy')

function rng(seed) {
  let s = seed >>> 0
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 32
  }
}
const pick = (r, xs) => xs[Math.floor(r() * xs.length)]

test('keys: nothing that reaches a prototype, escapes or brackets ever passes', () => {
  const r = rng(1)
  const parts = ['a', 'settings', '__proto__', 'constructor', 'prototype', '', 'x.y', '[0]', '\\', 'ü', '0', ' ', 'proto', '__proto', 'toString']
  for (let i = 0; i < 20000; i++) {
    const key = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(r, parts)).join(pick(r, ['.', '.', '', '[', '\\.']))
    const segments = policyLib.segmentsOf(key)
    if (segments === undefined) continue
    for (const s of segments) {
      assert.notEqual(s, '', key)
      assert.ok(!['__proto__', 'constructor', 'prototype'].includes(s), key)
      assert.ok(!/[\\[\]]/.test(s), key)
    }
  }
})

test('origins: a URL gets a grant only when its parsed origin is exactly the allowed one', () => {
  const policy = policyLib.compilePolicy({ origins: { 'https://app.example.com': { read: ['*'] }, 'app://tad': { read: ['*'] } } })
  const r = rng(2)
  const bases = ['https://app.example.com', 'app://tad', 'http://app.example.com', 'file:///app.example.com']
  const mutations = ['', '.evil.com', ':443', ':8443', '@evil.com', '/path?q=1', '#frag', '%2e', '\\.evil', '..', ' ', '\t', 'x', '/../', '\u0000']
  for (let i = 0; i < 20000; i++) {
    let url = pick(r, bases)
    for (let m = Math.floor(r() * 3); m > 0; m--) {
      const at = Math.floor(r() * (url.length + 1))
      url = url.slice(0, at) + pick(r, mutations) + url.slice(at)
    }
    const grant = policyLib.grantFor(policy, url)
    if (grant) assert.ok(['https://app.example.com', 'app://tad'].includes(policyLib.originOf(url)), url)
  }
  assert.equal(policyLib.grantFor(policy, 'https://app.example.com.evil.com/'), undefined)
  assert.equal(policyLib.grantFor(policy, 'https://evil.com@app.example.com/').origin, 'https://app.example.com', 'userinfo does not change the origin')
})

test('sensitive values never leak through projection, however they are nested', () => {
  const canary = 'sk-CANARY-7f3a'
  const policy = policyLib.compilePolicy(
    { origins: { 'https://app.example.com': { read: ['*'] }, 'https://some.example.com': { read: ['ai.model', 'profile'], anyChange: true } }, sensitiveKeys: ['profile.auth.token'] },
    [['ai', 'credentials', 'apiKey'], ['workspaces', null, 'token']],
  )
  const r = rng(3)
  const keys = ['', 'ai', 'ai.credentials', 'profile', 'profile.auth', 'ai.model', 'workspaces', 'workspaces.w1', 'workspaces.w1.token']
  for (let i = 0; i < 5000; i++) {
    const value = { ai: { credentials: { apiKey: canary, org: 'o' }, model: 'm' }, profile: { auth: { token: canary }, name: 'n' }, workspaces: { w1: { token: canary, name: 'x' } } }
    const key = pick(r, keys)
    const at = key === '' ? [] : key.split('.')
    const sub = at.reduce((v, k) => v?.[k], value)
    for (const grant of policy.origins.values()) {
      const out = policyLib.project(grant, at, sub)
      assert.ok(!JSON.stringify(out === policyLib.NOTHING ? null : out ?? null).includes(canary), `${grant.origin} ${key}`)
    }
  }
  const some = policy.origins.get('https://some.example.com')
  const whole = { ai: { credentials: { apiKey: canary }, model: 'm' }, profile: { name: 'n' }, settings: { theme: 't' } }
  assert.deepEqual(policyLib.project(some, [], whole), { ai: { model: 'm' }, profile: { name: 'n' } }, 'only what the grant reads')
  assert.equal(policyLib.project(some, ['settings'], { theme: 't' }), policyLib.NOTHING)
  assert.equal(policyLib.project(policy.origins.get('https://app.example.com'), ['ai', 'credentials', 'apiKey'], canary), policyLib.NOTHING)
})

test('patterns: one write rule for every form, wildcard levels included; patterns no key can match are refused', () => {
  const policy = policyLib.compilePolicy({
    origins: { 'https://app.example.com': { read: ['*'], write: ['workspaces', 'ai'], readOnly: ['workspaces.*.locked'] } },
    sensitiveKeys: ['ai.credentials.apiKey'],
  })
  const grant = policy.origins.get('https://app.example.com')
  const refusal = (key) => policyLib.writeRefusal(grant, key.split('.'))
  for (const key of ['workspaces', 'workspaces.w1', 'workspaces.w1.locked', 'workspaces.w1.locked.x']) assert.equal(refusal(key), 'read-only', key)
  for (const key of ['ai', 'ai.credentials', 'ai.credentials.apiKey']) assert.equal(refusal(key), 'sensitive', key)
  assert.equal(refusal('workspaces.w1.name'), undefined)
  assert.equal(refusal('ai.model'), undefined)
  assert.equal(refusal('settings'), 'may not write')
  for (const bad of ['accounts[0].token', 'a\\.b', 'a..b', 'a.__proto__', '', 5]) {
    assert.throws(() => policyLib.compilePolicy({ origins: { 'https://a.example': { read: [bad] } } }), (e) => e.code === 'INVALID_OPTION', String(bad))
    assert.throws(() => policyLib.compilePolicy({ origins: {}, sensitiveKeys: [bad] }), (e) => e.code === 'INVALID_OPTION', String(bad))
  }
  assert.throws(() => policyLib.compilePolicy({ origins: {}, maxSubscriptions: 0 }), (e) => e.code === 'INVALID_OPTION')
})

test('payloads: too deep, too big or holding a prototype key are refused', () => {
  const policy = policyLib.compilePolicy({ origins: {}, maxDepth: 8, maxPayloadBytes: 1000 })
  const r = rng(4)
  for (let i = 0; i < 2000; i++) {
    const depth = Math.floor(r() * 16)
    let v = pick(r, [1, 'x', null, true])
    for (let d = 0; d < depth; d++) v = r() < 0.5 ? [v] : { k: v }
    const problem = policyLib.checkPayload(policy, v)
    assert.equal(problem !== undefined, depth + 1 > 8, `depth ${depth}`)
  }
  assert.match(policyLib.checkPayload(policy, 'x'.repeat(600)), /larger/)
  assert.match(policyLib.checkPayload(policy, JSON.parse('{"a":{"__proto__":{"p":1}}}')), /__proto__/)
})
