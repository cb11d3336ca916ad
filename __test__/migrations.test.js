'use strict'
// Migrations: conf's behaviours and bookkeeping, plus all-or-nothing passes and backups.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const Store = require('..')
const { StoreManager } = require('..')
const { tempDir, closeLater, dirContents, codeOf } = require('./helpers')

async function reopen(cwd, options) {
  const store = new Store({ cwd, ...options })
  await store.close()
}

const fileOf = (cwd) => JSON.parse(fs.readFileSync(path.join(cwd, 'config.json'), 'utf8'))
const backupsOf = (cwd) => (fs.existsSync(path.join(cwd, 'backups')) ? fs.readdirSync(path.join(cwd, 'backups')) : [])

test('migrations - a new store records projectVersion and runs nothing', async (t) => {
  const cwd = tempDir(t)
  let ran = false
  await reopen(cwd, { projectVersion: '1.0.0', migrations: { '0.5.0': () => (ran = true) } })
  assert.equal(ran, false)
  assert.equal(fileOf(cwd).__internal__.migrations.version, '1.0.0')
  assert.deepEqual(backupsOf(cwd), [], 'nothing to back up')
})

test('migrations - steps run in version order when the version moves forward, once', async (t) => {
  const cwd = tempDir(t)
  await reopen(cwd, { projectVersion: '1.0.0', migrations: {}, defaults: { theme: 'light' } })
  const ran = []
  const migrations = {
    '2.0.0': (store) => {
      ran.push('2.0.0')
      store.set('theme', store.get('theme') === 'light' ? 'day' : 'night')
    },
    '1.5.0': (store) => {
      ran.push('1.5.0')
      store.set('added', true)
    },
    '3.0.0': () => ran.push('3.0.0'),
  }
  await reopen(cwd, { projectVersion: '2.0.0', migrations })
  assert.deepEqual(ran, ['1.5.0', '2.0.0'])
  assert.equal(fileOf(cwd).theme, 'day')
  assert.equal(fileOf(cwd).__internal__.migrations.version, '2.0.0')
  await reopen(cwd, { projectVersion: '2.0.0', migrations })
  assert.deepEqual(ran, ['1.5.0', '2.0.0'], 'not again')
})

test('migrations - ranges run once when the version enters them', async (t) => {
  const cwd = tempDir(t)
  await reopen(cwd, { projectVersion: '1.0.0', migrations: {} })
  const ran = []
  const migrations = { '>=2.0.0 <3.0.0': () => ran.push('2.x'), '~1.0.0': () => ran.push('1.0.x') }
  await reopen(cwd, { projectVersion: '2.1.0', migrations })
  await reopen(cwd, { projectVersion: '2.2.0', migrations })
  assert.deepEqual(ran, ['2.x'])
})

test('migrations - beforeEachMigration gets conf\'s context', async (t) => {
  const cwd = tempDir(t)
  await reopen(cwd, { projectVersion: '1.0.0', migrations: {} })
  const contexts = []
  await reopen(cwd, {
    projectVersion: '3.0.0',
    migrations: { '2.0.0': () => {}, '3.0.0': () => {} },
    beforeEachMigration: (store, context) => contexts.push(context),
  })
  assert.deepEqual(contexts, [
    { fromVersion: '1.0.0', toVersion: '2.0.0', finalVersion: '3.0.0', versions: ['2.0.0', '3.0.0'] },
    { fromVersion: '2.0.0', toVersion: '3.0.0', finalVersion: '3.0.0', versions: ['2.0.0', '3.0.0'] },
  ])
})

test('migrations - a store migrated by electron-store continues from its bookkeeping', async (t) => {
  const cwd = tempDir(t)
  const { default: Conf } = await import('conf')
  new Conf({ cwd, projectVersion: '1.0.0', migrations: { '1.0.0': (s) => s.set('v1', true) } })
  const ran = []
  await reopen(cwd, { projectVersion: '2.0.0', migrations: { '1.0.0': () => ran.push('1.0.0'), '2.0.0': () => ran.push('2.0.0') } })
  assert.deepEqual(ran, ['2.0.0'])
  // And electron-store reads ours.
  const conf = new Conf({ cwd, projectVersion: '2.0.0', migrations: { '2.0.0': () => assert.fail('ran again') } })
  assert.equal(conf.get('__internal__.migrations.version'), undefined, 'conf hides its bookkeeping')
})

test('migrations - a full backup is written and fsynced before the first step', async (t) => {
  const cwd = tempDir(t)
  await reopen(cwd, { projectVersion: '1.0.0', migrations: {}, defaults: { keep: 'me' } })
  const before = fs.readFileSync(path.join(cwd, 'config.json'), 'utf8')
  let seen
  await reopen(cwd, {
    projectVersion: '2.0.0',
    migrations: { '2.0.0': (store) => (seen = backupsOf(cwd)) },
  })
  assert.equal(seen.length, 1, 'the backup existed when the step ran')
  assert.match(seen[0], /^config-1\.0\.0-to-2\.0\.0-\d{4}-\d\d-\d\dT.*\.json$/)
  const backup = JSON.parse(fs.readFileSync(path.join(cwd, 'backups', seen[0]), 'utf8'))
  assert.deepEqual(backup, JSON.parse(before))
})

test('migrations - a failing step: MIGRATION_FAILED, the file byte-identical, the backup kept', async (t) => {
  const cwd = tempDir(t)
  await reopen(cwd, { projectVersion: '1.0.0', migrations: {}, defaults: { a: 1 } })
  const files = dirContents(cwd)
  const error = codeOf(
    () =>
      new Store({
        cwd,
        projectVersion: '3.0.0',
        migrations: {
          '2.0.0': (store) => store.set('a', 2),
          '3.0.0': () => {
            throw new Error('boom')
          },
        },
      }),
  )
  assert.equal(error.code, 'MIGRATION_FAILED')
  assert.equal(error.version, '3.0.0')
  assert.match(error.message, /3\.0\.0.*boom/s)
  const { backups, ...rest } = dirContents(cwd)
  assert.deepEqual(rest, files, 'config.json byte-identical, no journal')
  assert.equal(backupsOf(cwd).length, 1)
  const store = closeLater(t, new Store({ cwd }))
  assert.equal(store.get('a'), 1, 'memory and disk as they were')
  assert.equal(store.get('__internal__.migrations.version'), '1.0.0')
})

test('migrations - the result is validated; a step that breaks the schema changes nothing', async (t) => {
  const cwd = tempDir(t)
  const schema = { n: { type: 'number' } }
  await reopen(cwd, { projectVersion: '1.0.0', schema, defaults: { n: 1 } })
  const files = dirContents(cwd)
  const error = codeOf(() => new Store({ cwd, schema, projectVersion: '2.0.0', migrations: { '2.0.0': (s) => s.set('n', 'text') } }))
  assert.equal(error.code, 'SCHEMA_VIOLATION')
  const { backups, ...rest } = dirContents(cwd)
  assert.deepEqual(rest, files)
})

test('migrations - steps may pass through invalid states', async (t) => {
  const cwd = tempDir(t)
  const schema = { n: { type: 'number' } }
  await reopen(cwd, { projectVersion: '1.0.0', schema, defaults: { n: 1 } })
  const store = closeLater(
    t,
    new Store({
      cwd,
      schema,
      projectVersion: '2.0.0',
      migrations: {
        '2.0.0': (s) => {
          s.set('n', 'temporarily text')
          s.set('n', 2)
        },
      },
    }),
  )
  assert.equal(store.get('n'), 2)
})

test('migrations - bad options are refused', (t) => {
  const cwd = tempDir(t)
  assert.equal(codeOf(() => new Store({ cwd, migrations: { '1.0.0': () => {} } })).code, 'INVALID_OPTION', 'projectVersion required')
  assert.equal(codeOf(() => new Store({ cwd, projectVersion: '1.0', migrations: {} })).code, 'INVALID_OPTION')
  assert.equal(codeOf(() => new Store({ cwd, projectVersion: '1.0.0', migrations: { '1.0.0': 'x' } })).code, 'INVALID_OPTION')
  assert.equal(codeOf(() => new Store({ cwd, projectVersion: '1.0.0', migrations: [] })).code, 'INVALID_OPTION')
})

test('migrations - a promise from a step needs StoreManager; StoreManager awaits it', async (t) => {
  const cwd = tempDir(t)
  await reopen(cwd, { projectVersion: '1.0.0', migrations: {}, defaults: { n: 1 } })
  const migrations = {
    '2.0.0': async (store) => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      store.set('n', store.get('n') + 1)
    },
  }
  const error = codeOf(() => new Store({ cwd, projectVersion: '2.0.0', migrations }))
  assert.equal(error.code, 'MIGRATION_FAILED')
  assert.match(error.message, /StoreManager/)
  const manager = closeLater(t, new StoreManager({ cwd, projectVersion: '2.0.0', migrations }))
  await manager.initialize()
  assert.equal(manager.get('n'), 2)
})

test('StoreManager.migrateData(from, to) runs the steps between two versions, all or nothing', async (t) => {
  const cwd = tempDir(t)
  const ran = []
  const manager = closeLater(t, new StoreManager({
    cwd,
    projectVersion: '1.0.0',
    defaults: { n: 0 },
    migrations: {
      '1.1.0': async (s) => {
        ran.push('1.1.0')
        s.set('n', 1)
      },
      '1.2.0': (s) => {
        ran.push('1.2.0')
        if (s.get('fail')) throw new Error('no')
        s.set('n', 2)
      },
    },
  }))
  await manager.initialize()
  await manager.set('fail', true)
  const error = await manager.migrateData('1.0.0', '1.2.0').then(() => null, (e) => e)
  assert.equal(error?.code, 'MIGRATION_FAILED')
  assert.equal(manager.get('n'), 0, 'the first step was rolled back too')
  await manager.delete('fail')
  await manager.migrateData('1.0.0', '1.2.0')
  assert.equal(manager.get('n'), 2)
  assert.equal(manager.get('__internal__.migrations.version'), '1.2.0')
  assert.deepEqual(ran, ['1.1.0', '1.2.0', '1.1.0', '1.2.0'])
})

test('migrations - inside Electron, projectVersion defaults to app.getVersion()', async (t) => {
  const cwd = tempDir(t)
  const electron = { app: { getPath: () => cwd, getVersion: () => '4.0.0' } }
  await reopen(cwd, { electron, migrations: {} })
  assert.equal(fileOf(cwd).__internal__.migrations.version, '4.0.0')
})
