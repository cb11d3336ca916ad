'use strict'
// Where a store's file lives: electron-store's rules for `cwd`, `name` and
// `fileExtension`, with the default directory from Electron or the OS.
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
 * directory inside Electron, otherwise `<OS config dir>/<projectName>`.
 */
function defaultCwd({ projectName = 'tad-electron', electron } = {}, native) {
  const app = electronModule(electron)?.app
  if (app && typeof app.getPath === 'function') return app.getPath('userData')
  return native.defaultConfigDir(projectName)
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

module.exports = { resolveStorePath, fileMode, electronModule }
