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
  assert.equal(policyLib.grantFor(policy, 'https://evil.com@app.example.com/').read[0], '*', 'userinfo does not change the origin')
})

test('sensitive values never leak through redaction, however they are nested', () => {
  const canary = 'sk-CANARY-7f3a'
  const hidden = ['ai.credentials.apiKey', 'profile.auth.token']
  const r = rng(3)
  for (let i = 0; i < 5000; i++) {
    const value = { ai: { credentials: { apiKey: canary, org: 'o' }, model: 'm' }, profile: { auth: { token: canary }, name: 'n' } }
    const key = pick(r, ['ai', 'ai.credentials', 'profile', 'profile.auth', 'ai.model'])
    const sub = key.split('.').reduce((v, k) => v?.[k], value)
    const out = policyLib.redact(key, sub, hidden)
    assert.ok(!JSON.stringify(out ?? null).includes(canary), key)
  }
  assert.equal(policyLib.redact('ai.credentials.apiKey', canary, hidden), undefined)
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
