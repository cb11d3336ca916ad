'use strict'
// Who may do what from a renderer: origins, key patterns per operation, sensitive keys,
// payload bounds. Pure functions, so the checks are easy to test and to fuzz.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

const DEFAULT_LIMITS = { maxPayloadBytes: 1 << 20, maxDepth: 32, maxKeyLength: 1024 }

/**
 * The origin of a URL, compared exactly: `https://app.example.com`, `app://tad` for a
 * custom scheme (whose WHATWG origin is opaque), `file://` for any file. Undefined when
 * the URL does not parse.
 */
function originOf(url) {
  let parsed
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.protocol === 'file:') return 'file://'
  if (parsed.origin !== 'null') return parsed.origin
  return parsed.host ? `${parsed.protocol}//${parsed.host}` : undefined
}

/** Dot-path segments of a renderer's key, or undefined when it is not a plain key. */
function segmentsOf(key) {
  if (typeof key !== 'string' || key.length === 0 || key.length > DEFAULT_LIMITS.maxKeyLength) return undefined
  // Renderers use plain dot paths; escapes and brackets are main-process features.
  if (/[\\[\]]/.test(key)) return undefined
  const segments = key.split('.')
  if (segments.some((s) => s === '' || FORBIDDEN.has(s))) return undefined
  return segments
}

/**
 * Whether `pattern` (`*`, `a.b`, `a.b.*`, `a.*.c`) covers `key` and everything below it.
 * A `*` inside a pattern stands for any one segment.
 */
function covers(pattern, key) {
  if (pattern === '*') return true
  const base = pattern.endsWith('.*') ? pattern.slice(0, -2) : pattern
  if (!base.includes('*')) return key === base || key.startsWith(`${base}.`)
  const want = base.split('.')
  const have = key.split('.')
  return have.length >= want.length && want.every((s, i) => s === '*' || s === have[i])
}

/** Whether `pattern` names something at or below `key` (the reverse of `covers`). */
function reaches(key, pattern) {
  const want = pattern.split('.')
  const have = key.split('.')
  return have.length <= want.length && have.every((s, i) => want[i] === '*' || want[i] === s)
}

/** Deletes, in place, what the pattern segments `parts` name below `node`. */
function removeMatching(node, parts) {
  if (node === null || typeof node !== 'object') return
  const [head, ...rest] = parts
  for (const name of head === '*' ? Object.keys(node) : [head]) {
    if (rest.length === 0) delete node[name]
    else removeMatching(node[name], rest)
  }
}

/** Whether `key` lies below (or is) a sensitive key, or holds one below it. */
function touchesSensitive(key, sensitive) {
  return sensitive.some((s) => covers(s, key) || reaches(key, s))
}

/**
 * A compiled policy:
 * `{ origins: { [origin]: { read, write, readOnly, sensitive, history } }, sensitiveKeys,
 *    maxPayloadBytes, maxDepth }`.
 */
function compilePolicy(policy = {}) {
  const origins = new Map()
  for (const [origin, grant] of Object.entries(policy.origins ?? {})) {
    const normalized = origin === 'file://' ? 'file://' : originOf(origin)
    if (!normalized) throw Object.assign(new TypeError(`The policy origin \`${origin}\` is not a URL origin`), { code: 'INVALID_OPTION', kind: 'persistent' })
    origins.set(normalized, {
      read: [...(grant.read ?? [])],
      write: [...(grant.write ?? [])],
      readOnly: [...(grant.readOnly ?? [])],
      sensitive: [...(grant.sensitive ?? [])],
      history: grant.history === true,
    })
  }
  return {
    origins,
    sensitiveKeys: [...(policy.sensitiveKeys ?? [])],
    maxPayloadBytes: policy.maxPayloadBytes ?? DEFAULT_LIMITS.maxPayloadBytes,
    maxDepth: policy.maxDepth ?? DEFAULT_LIMITS.maxDepth,
  }
}

/** The grant for a frame URL, or undefined. */
function grantFor(policy, url) {
  const origin = originOf(url)
  return origin === undefined ? undefined : policy.origins.get(origin)
}

function canRead(grant, key) {
  return grant.read.some((p) => covers(p, key))
}

function canWrite(grant, key) {
  return grant.write.some((p) => covers(p, key)) && !grant.readOnly.some((p) => covers(p, key) || covers(key, p))
}

/** Sensitive keys this grant may not see. */
function hiddenFor(policy, grant) {
  return policy.sensitiveKeys.filter((s) => !grant.sensitive.some((p) => covers(p, s)))
}

/**
 * `value` (at `key`) with every hidden sensitive key below it removed, or undefined when
 * `key` itself is hidden. Returns the same object when nothing is hidden below it.
 */
function redact(key, value, hidden) {
  if (hidden.some((s) => covers(s, key))) return undefined
  const below = hidden.filter((s) => reaches(key, s) && s.split('.').length > key.split('.').length)
  if (below.length === 0 || value === null || typeof value !== 'object') return value
  const copy = structuredClone(value)
  const depth = key.split('.').length
  for (const s of below) removeMatching(copy, s.split('.').slice(depth))
  return copy
}

/** Refuses values too large or too deep before anything converts them. */
function checkPayload(policy, value) {
  let depth = 0
  let bytes = 0
  const stack = [[value, 1]]
  while (stack.length > 0) {
    const [node, level] = stack.pop()
    depth = Math.max(depth, level)
    if (depth > policy.maxDepth) return `it is nested deeper than ${policy.maxDepth} levels`
    if (typeof node === 'string') bytes += node.length * 2
    else bytes += 8
    if (bytes > policy.maxPayloadBytes) return `it is larger than ${policy.maxPayloadBytes} bytes`
    if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        bytes += k.length * 2
        if (FORBIDDEN.has(k)) return `it holds the key \`${k}\``
        stack.push([v, level + 1])
      }
    }
  }
  return undefined
}

module.exports = { originOf, segmentsOf, covers, reaches, touchesSensitive, compilePolicy, grantFor, canRead, canWrite, hiddenFor, redact, checkPayload }
