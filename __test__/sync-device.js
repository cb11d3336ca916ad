'use strict'
// One device of sync-devices.test.js, in its own process: its own store directory, its
// own replica of the sync folder. Makes seeded random edits, then, told so on stdin,
// keeps looking at the folder and reports its store whenever asked.
const path = require('node:path')
const readline = require('node:readline')
const Store = require('..')

const [root, name, seedText, stepsText] = process.argv.slice(2)
let seed = Number(seedText)
const random = (n) => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
}

const store = new Store({
  cwd: path.join(root, name),
  sensitiveKeys: ['ai.request.apiKey'],
  secretKey: Buffer.alloc(32, 3),
  schema: {
    settings: { type: 'object', additionalProperties: { type: ['number', 'string', 'object'] } },
    list: { type: 'array', items: { type: 'number' } },
  },
  sync: { folder: path.join(root, `replica-${name}`), keys: ['settings', 'ai.request', 'list'], device: name, scanIntervalMs: 20 },
})
const errors = []
store.onError((e) => errors.push(`${e.code}: ${e.message}`))
// A device restarted after it was killed starts from what its store kept.
const unsynced = Object.fromEntries(Object.entries(store.get(`local.${name}`) ?? {}).map(([k, v]) => [`local.${name}.${k}`, v]))
let secret = store.get('ai.request.apiKey') ?? null

async function edit() {
  const r = random(1_000_000)
  switch (random(7)) {
    case 0:
    case 1:
      return store.set(`settings.k${r % 6}`, r)
    case 2:
      return store.delete(`settings.k${r % 6}`)
    case 3:
      return store.set(`settings.group${r % 3}.v`, `v${r}`)
    case 4:
      secret = `CANARY-${name}-${r}`
      return store.set('ai.request.apiKey', secret)
    case 5:
      unsynced[`local.${name}.k${r % 3}`] = r
      return store.set(`local.${name}.k${r % 3}`, r)
    default: {
      const list = store.get('list')
      if (!Array.isArray(list) || list.length >= 5) return store.set('list', [r])
      return store.set('list', [...list, r])
    }
  }
}

async function main() {
  for (let step = 0; step < Number(stepsText); step++) {
    await edit()
    // Paced, so the service copies files while the devices edit.
    if (random(4) === 0) await new Promise((resolve) => setTimeout(resolve, random(3)))
  }
  await store.flush()
  process.stdout.write(`${JSON.stringify({ done: name })}\n`)
  const lines = readline.createInterface({ input: process.stdin })
  const timer = setInterval(() => store.syncNow(), 20)
  for await (const line of lines) {
    if (line === 'report') {
      await store.flush()
      const status = store.syncStatus()
      process.stdout.write(`${JSON.stringify({ name, settings: store.get('settings'), list: store.get('list'), request: store.get('ai.request'), local: store.get(`local.${name}`), unsynced, secret, pendingIn: status?.pendingIn, errors })}\n`)
    }
    if (line === 'exit') break
  }
  clearInterval(timer)
  lines.close()
  process.stdin.destroy()
  await store.close()
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`)
  process.exit(1)
})
