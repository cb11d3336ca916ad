'use strict'
// Where a store's file lives: electron-store's rules for `cwd`, `name` and
// `fileExtension`, with the default directory from Electron or the OS.
const fs = require('node:fs')
const path = require('node:path')
const { inputError } = require('./errors')

/** Electron's module in the main process, or undefined outside Electron. */
function electronModule(injected) {
  if (injected) return injected
  if (!process.versions.electron) return undefined
  return require('electron')
}

/**
 * The directory a store lives in when no `cwd` is given: Electron's `userData`
 * directory inside Electron, otherwise `<OS config dir>/<projectName>`, or
 * `<projectName>-<projectSuffix>` with conf's `projectSuffix`.
 */
function defaultCwd(/** @type {{ projectName?: string, projectSuffix?: string, electron?: any }} */ { projectName = 'tad-electron', projectSuffix, electron } = {}, native) {
  const app = electronModule(electron)?.app
  if (app && typeof app.getPath === 'function') return app.getPath('userData')
  if (projectSuffix !== undefined && typeof projectSuffix !== 'string') throw inputError('INVALID_OPTION', `The \`projectSuffix\` option must be a string, got ${typeof projectSuffix}`)
  return native.defaultConfigDir(projectSuffix ? `${projectName}-${projectSuffix}` : projectName)
}

function resolveStorePath(options, native) {
  const base = defaultCwd(options, native)
  const cwd = options.cwd ? path.resolve(base, options.cwd) : base
  const ext = typeof options.fileExtension === 'string' ? options.fileExtension.replace(/^\.+/, '') : 'json'
  const name = `${options.name ?? 'config'}${ext ? `.${ext}` : ''}`
  if (name.includes('\0')) throw inputError('INVALID_OPTION', 'The `name` and `fileExtension` options must not hold a NUL byte')
  const resolved = path.resolve(cwd, name)
  const relative = path.relative(cwd, resolved)
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw inputError('INVALID_OPTION', `The \`name\` and \`fileExtension\` options must name a file inside \`cwd\`, got \`${name}\``)
  }
  return resolved
}

/** `configFileMode` as a number: a number, or a string of octal digits. */
function fileMode(mode) {
  if (mode === undefined || mode === null) return undefined
  if (typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 && mode <= 0o7777) return mode
  if (typeof mode === 'string' && /^[0-7]+$/.test(mode) && Number.parseInt(mode, 8) <= 0o7777) return Number.parseInt(mode, 8)
  throw inputError('INVALID_OPTION', `The \`configFileMode\` option must be a mode such as 0o600, got ${String(mode)}`)
}

/**
 * Refuses, with `NOT_A_FILE`, a path that exists but is not a regular file (a
 * directory, FIFO, socket or device), from its metadata alone: reading a FIFO blocks
 * forever and a device may never end. The engine applies the same rule to every file it
 * reads; this is for the files JS reads itself.
 */
function assertRegularFile(file) {
  let stats
  try {
    stats = fs.statSync(file)
  } catch (error) {
    if (error.code === 'ENOENT') return
    throw error
  }
  if (stats.isFile()) return
  const what = stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO' : stats.isSocket() ? 'a socket' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : 'a special file'
  throw Object.assign(new Error(`\`${file}\` cannot be used as a store file: it is ${what}, not a regular file`), { code: 'NOT_A_FILE', kind: 'persistent', file })
}

module.exports = { resolveStorePath, fileMode, electronModule, assertRegularFile }
