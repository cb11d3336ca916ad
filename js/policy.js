'use strict'
// Who may do what from a renderer: origins, key patterns per operation, sensitive keys,
// payload bounds, limits. Pure functions over compiled patterns (arrays of segments,
// `null` for `*`), so the checks are easy to test and to fuzz. Patterns are parsed by
// the engine only: the policy's through `compileKeyPattern`, the store's own sensitive
// patterns arriving as data.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

const DEFAULT_LIMITS = { maxPayloadBytes: 1 << 20, maxDepth: 32, maxKeyLength: 1024, maxSubscriptions: 256 }

/** What a renderer-facing message or audit line quotes of untrusted text, at most. */
const QUOTE_LENGTH = 120

/**
 * `text` cut to `max` characters, saying how much was left out. Anything that is not a
 * string is named by its type, never converted (its `toString` is the sender's).
 */
function quote(text, max = QUOTE_LENGTH) {
  if (typeof text !== 'string') return `<${text === null ? 'null' : Array.isArray(text) ? 'array' : typeof text}>`
  return text.length <= max ? text : `${text.slice(0, max)}…(+${text.length - max} chars)`
}

/**
 * The origin of a URL, compared exactly: `https://app.example.com`, `app://tad` for a
 * custom scheme (whose WHATWG origin is opaque), `file://` for any file. Undefined when
 * the URL does not parse.
 */
function originOf(url) {
  if (typeof url !== 'string') return undefined
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

function invalidOption(message) {
  return Object.assign(new TypeError(message), { code: 'INVALID_OPTION', kind: 'persistent' })
}

/**
 * Compiles a pattern (`*`, `a.b`, `a.b.*`, `a.*.c`) into segments, `null` for `*`. A
 * trailing `*` is dropped: `a.*` covers what `a` covers. The engine parses it
 * (`compileKeyPattern`, the grammar of `sensitiveKeys`), so the bridge and the engine
 * never disagree on what a pattern is; one no key could match (brackets, escapes, empty
 * or forbidden segments) is refused, naming it.
 */
function compilePattern(text, option) {
  if (typeof text !== 'string' || text === '') throw invalidOption(`\`${option}\` holds ${quote(text)}, which is not a key pattern`)
  try {
    return require('./native').compileKeyPattern(text, option)
  } catch (error) {
    throw invalidOption(error.message)
  }
}

/** Whether `pattern` covers the key `segments` and everything below it. */
function covers(pattern, segments) {
  return pattern.length <= segments.length && pattern.every((p, i) => p === null || p === segments[i])
}

/** Whether `pattern` names something at or below `segments` (the reverse of `covers`). */
function reaches(segments, pattern) {
  return segments.length <= pattern.length && segments.every((s, i) => pattern[i] === null || pattern[i] === s)
}

/**
 * A compiled policy: `{ origins: Map<origin, grant>, sensitive, maxPayloadBytes,
 * maxDepth, maxSubscriptions }`, where a grant is `{ origin, read, write, readOnly,
 * sensitive, history, anyChange, readsAll, hidden }` with compiled patterns, and
 * `hidden` the sensitive keys that grant may not see. `storeSensitive`: the store's own
 * sensitive patterns as data (segments, `null` for `*`), hidden whatever the policy says.
 */
function compilePolicy(/** @type {any} */ policy = {}, storeSensitive = []) {
  if (policy === null || typeof policy !== 'object') throw invalidOption('The `policy` option must be an object')
  const list = (value, option) => {
    if (value === undefined) return []
    if (!Array.isArray(value)) throw invalidOption(`\`${option}\` must be an array of key patterns`)
    return value.map((p) => compilePattern(p, option))
  }
  const sensitive = [...list(policy.sensitiveKeys, 'sensitiveKeys'), ...storeSensitive.map((segments) => [...segments])]
  const origins = new Map()
  for (const [origin, grant] of Object.entries(policy.origins ?? {})) {
    const normalized = origin === 'file://' ? 'file://' : originOf(origin)
    if (!normalized) throw invalidOption(`The policy origin \`${quote(origin)}\` is not a URL origin`)
    const read = list(grant.read, `origins['${origin}'].read`)
    const visible = list(grant.sensitive, `origins['${origin}'].sensitive`)
    origins.set(normalized, {
      origin: normalized,
      read,
      write: list(grant.write, `origins['${origin}'].write`),
      readOnly: list(grant.readOnly, `origins['${origin}'].readOnly`),
      sensitive: visible,
      history: grant.history === true,
      anyChange: grant.anyChange === true,
      readsAll: read.some((p) => p.length === 0),
      hidden: sensitive.filter((s) => !visible.some((p) => covers(p, s))),
    })
  }
  const limit = (name) => {
    const value = policy[name] ?? DEFAULT_LIMITS[name]
    if (!Number.isInteger(value) || value < 1) throw invalidOption(`\`${name}\` must be a positive integer`)
    return value
  }
  return {
    origins,
    sensitive,
    maxPayloadBytes: limit('maxPayloadBytes'),
    maxDepth: limit('maxDepth'),
    maxSubscriptions: limit('maxSubscriptions'),
  }
}

/** The grant for a frame URL, or undefined. */
function grantFor(policy, url) {
  const origin = originOf(url)
  return origin === undefined ? undefined : policy.origins.get(origin)
}

/**
 * Whether the grant may read the key `segments` (and so everything below it). Hidden
 * sensitive keys inside it still read as absent (see `project`).
 */
function canRead(grant, segments) {
  return grant.read.some((p) => covers(p, segments))
}

/** Whether the key lies at or below a sensitive key the grant may not see. */
function isHidden(grant, segments) {
  return grant.hidden.some((s) => covers(s, segments))
}

/** Whether the grant may follow every change (`onDidAnyChange`). */
function canFollowAll(grant) {
  return grant.readsAll || grant.anyChange
}

/**
 * Why the grant may not write the key `segments`, or undefined when it may. One rule for
 * every write form (`set` of the key or of any ancestor, `delete` of either): the key
 * must be writable, and no read-only or hidden sensitive key may lie at, above or below
 * it, wildcard levels included.
 */
function writeRefusal(grant, segments) {
  if (!grant.write.some((p) => covers(p, segments))) return 'may not write'
  if (grant.readOnly.some((p) => covers(p, segments) || reaches(segments, p))) return 'read-only'
  if (grant.hidden.some((s) => covers(s, segments) || reaches(segments, s))) return 'sensitive'
  return undefined
}

/** What `project` returns where the grant may see nothing, whatever the value. */
const NOTHING = Symbol('nothing visible')

/**
 * `value` (the value at the key `at`, `undefined` when absent) as `grant` may see it:
 * hidden sensitive keys removed, and where `at` is not readable itself, only the parts
 * below it that are. NOTHING when the grant sees nothing at or below `at`, whatever the
 * value; `undefined` when it could, but this value has nothing it may see (to a window
 * that saw something there, a deletion). `policyPath(at)` gives the segments the policy
 * checks for an address (they differ only for stores without dot notation). Copies only
 * what it must: a value with nothing to remove is returned as is.
 */
function project(grant, at, value, policyPath = (segments) => segments) {
  const checked = policyPath(at)
  if (isHidden(grant, checked)) return NOTHING
  const readable = grant.read.some((p) => covers(p, checked))
  const hiddenBelow = grant.hidden.some((s) => s.length > checked.length && reaches(checked, s))
  if (readable && !hiddenBelow) return value
  if (!readable && !grant.read.some((p) => p.length > checked.length && reaches(checked, p))) return NOTHING
  if (value === null || typeof value !== 'object') return readable ? value : undefined
  const out = Array.isArray(value) ? [] : {}
  let any = false
  for (const [name, child] of Object.entries(value)) {
    const seen = project(grant, [...at, name], child, policyPath)
    if (seen === NOTHING || seen === undefined) continue
    out[name] = seen
    any = true
  }
  // An array whose items are not all visible is not shown (indexes would shift).
  if (Array.isArray(value)) return readable && out.length === value.length ? out : undefined
  return any || readable ? out : undefined
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

module.exports = {
  NOTHING,
  quote,
  originOf,
  segmentsOf,
  covers,
  reaches,
  compilePolicy,
  grantFor,
  canRead,
  isHidden,
  canFollowAll,
  writeRefusal,
  project,
  checkPayload,
}
