'use strict'
// Migrations, as conf runs them: steps keyed by a version or a range, run in version order
// from the version the store records (`__internal__.migrations.version`) up to
// `projectVersion`, each after `beforeEachMigration`. Unlike conf, a pass is all or
// nothing: it runs in one engine transaction, so a step that throws leaves memory and disk
// exactly as they were. A full backup is written before the first step runs.
// semver is loaded on first use: most opens run no migration, and it is the largest part
// of what `require('tad-store')` would otherwise load.
let semverModule
const semver = /** @type {any} */ (
  new Proxy(
    {},
    {
      get(_, name) {
        semverModule ??= require('semver')
        return semverModule[name]
      },
    },
  )
)
const { inputError } = require('./errors')
const { decodeRead } = require('./encode')
const { run } = require('./native')

const MIGRATION_KEY = '__internal__.migrations.version'
const COMPLETED_RANGES_KEY = '__internal__.migrations.completedRanges'

const isRange = (version) => semver.valid(version) === null
/** The recorded version only ever moves forward. */
const movesForward = (version, recorded) => recorded === undefined || isRange(recorded) || semver.gt(version, recorded)

/** The branch of a `||` range the version is in. */
function rangeBranchFor(range, version) {
  const branches = new semver.Range(range).set.map((comparators) => comparators.map(String).join(' '))
  if (branches.length < 2) return range
  return branches.find((branch) => semver.satisfies(version, branch)) ?? range
}

function completedRangeFor(range, version) {
  const branch = rangeBranchFor(range, version)
  return branch === range ? range : JSON.stringify([range, branch])
}

/** The version a step runs at: itself, or the lowest version of the range's branch. */
function versionToCompare(version, target) {
  if (!isRange(version)) return version
  return semver.minVersion(rangeBranchFor(version, target))?.version ?? target
}

function shouldPerform(candidate, previous, target) {
  if (isRange(candidate)) {
    if (!semver.satisfies(target, candidate)) return false
    if (previous === undefined) return true
    return semver.gt(target, previous) && !semver.satisfies(previous, candidate)
  }
  if (previous !== undefined && semver.lte(candidate, previous)) return false
  return !semver.gt(candidate, target)
}

/** Checks the migration options as conf does, before anything is opened. */
function checkMigrationOptions({ migrations, projectVersion }) {
  if (migrations === undefined || migrations === null) return false
  if (typeof migrations !== 'object' || Array.isArray(migrations)) {
    throw inputError('INVALID_OPTION', 'The `migrations` option must be an object whose keys are the versions to migrate and whose values are the steps to run.')
  }
  for (const [version, step] of Object.entries(migrations)) {
    if (typeof step !== 'function') throw inputError('INVALID_OPTION', `The \`migrations\` option must be an object of steps, got ${step === null ? 'null' : typeof step} for the version \`${version}\`.`)
    if (isRange(version) && semver.validRange(version) === null) throw inputError('INVALID_OPTION', `The \`migrations\` key \`${version}\` is neither a version nor a range.`)
  }
  if (!projectVersion) throw inputError('INVALID_OPTION', 'Please specify the `projectVersion` option.')
  if (semver.valid(projectVersion) === null) throw inputError('INVALID_OPTION', `The \`projectVersion\` option must be a valid semantic version, got \`${projectVersion}\``)
  return true
}

const readJson = (native, key) => decodeRead(native.get(key))

/** The steps of the pass from what the store records to `target`, in version order. */
function planPass(native, migrations, target) {
  const stored = readJson(native, MIGRATION_KEY)
  const previous = typeof stored === 'string' && !isRange(stored) ? stored : undefined
  const storedRanges = readJson(native, COMPLETED_RANGES_KEY)
  const completed = new Set(Array.isArray(storedRanges) ? storedRanges.filter((r) => typeof r === 'string') : [])
  const steps = Object.keys(migrations)
    .filter((v) => shouldPerform(v, previous, target) && !(isRange(v) && completed.has(completedRangeFor(v, target))))
    .map((version) => ({ version, toVersion: versionToCompare(version, target) }))
    .sort((a, b) => semver.compare(a.toVersion, b.toVersion))
  return { steps, from: previous ?? '0.0.0', completed }
}

/** The steps for versions after `from` up to and including `to` (StoreManager.migrateData). */
function planBetween(migrations, from, to) {
  for (const [name, v] of [['from', from], ['to', to]]) {
    if (semver.valid(v) === null) throw inputError('INVALID_ARGUMENT', `\`${name}\` must be a valid semantic version, got \`${v}\``)
  }
  const steps = Object.keys(migrations)
    .filter((v) => (isRange(v) ? semver.satisfies(to, v) && !semver.satisfies(from, v) : semver.gt(v, from) && semver.lte(v, to)))
    .map((version) => ({ version, toVersion: versionToCompare(version, to) }))
    .sort((a, b) => semver.compare(a.toVersion, b.toVersion))
  return { steps, from, completed: new Set() }
}

/**
 * The pass, as a generator yielding what each hook and step returns, so one body serves
 * the synchronous constructor and the asynchronous `StoreManager`.
 */
function* pass({ store, native, migrations, beforeEachMigration, target, plan, name }) {
  const { steps, completed } = plan
  let fromVersion = plan.from
  let backup
  if (steps.length > 0) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    backup = run(native, { op: 'writeBackup', fileName: `${name}-${fromVersion}-to-${target}-${stamp}.json` })
  }
  const versions = steps.map((s) => s.toVersion)
  for (const { version, toVersion } of steps) {
    try {
      if (beforeEachMigration) {
        yield beforeEachMigration(store, { fromVersion, toVersion, finalVersion: target, versions: [...versions] })
      }
      yield migrations[version](store)
    } catch (error) {
      const failure = new Error(`The migration to ${version} failed, so none was applied: the store is as it was before the migrations${backup ? ` (a backup is at ${backup})` : ''}. ${error?.message ?? error}`)
      throw Object.assign(failure, { code: 'MIGRATION_FAILED', kind: 'persistent', version, backup, cause: error })
    }
    fromVersion = toVersion
    if (isRange(version)) {
      completed.add(completedRangeFor(version, target))
      run(native, { op: 'setInternal', key: COMPLETED_RANGES_KEY }, JSON.stringify([...completed]))
    } else if (movesForward(version, readJson(native, MIGRATION_KEY))) {
      run(native, { op: 'setInternal', key: MIGRATION_KEY }, JSON.stringify(version))
    }
  }
  if (movesForward(target, readJson(native, MIGRATION_KEY))) run(native, { op: 'setInternal', key: MIGRATION_KEY }, JSON.stringify(target))
  return backup
}

const isThenable = (value) => value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function'

/** Runs a pass to the end, synchronously. A step returning a promise is refused. */
function runSync(generator) {
  let step = generator.next()
  while (!step.done) {
    if (isThenable(step.value)) {
      generator.throw(inputError('INVALID_OPTION', 'A migration returned a promise. Run asynchronous migrations with `await new StoreManager(options).initialize()`.'))
    }
    step = generator.next()
  }
  return step.value
}

/** Runs a pass to the end, awaiting each hook and step. */
async function runAsync(generator) {
  let step = generator.next()
  while (!step.done) {
    let result
    try {
      result = await step.value
    } catch (error) {
      step = generator.throw(error)
      continue
    }
    step = generator.next(result)
  }
  return step.value
}

module.exports = { checkMigrationOptions, planPass, planBetween, pass, runSync, runAsync, MIGRATION_KEY }
