'use strict'
// The TAD app's data model: its JSON Schema, its version, the migrations that bring older
// stores up to it, and the Store options that use all three.
//
//   const { storeOptions } = require('tad-store/schemas')
//   const store = new Store(storeOptions())
const schema = require('./tad-app.schema.json')

/** The schema version, which is the `projectVersion` its migrations lead to. */
const version = schema['x-version']

/**
 * Migrations between the schema's versions, keyed as conf keys them.
 *
 * 2.0.0 (from 1.x): `settings.darkMode` becomes `settings.theme`, `settings.fontSize`
 * moves into `settings.editor`, AI request parameters and credentials move into their own
 * objects, and every workspace gets an `id`.
 */
const migrations = {
  '2.0.0': (store) => {
    const settings = store.get('settings', {})
    if ('darkMode' in settings) {
      store.set('settings.theme', settings.darkMode ? 'dark' : 'light')
      store.delete('settings.darkMode')
    }
    if ('fontSize' in settings) {
      store.set('settings.editor.fontSize', settings.fontSize)
      store.delete('settings.fontSize')
    }
    const ai = store.get('ai', {})
    if ('temperature' in ai) {
      store.set('ai.request.temperature', ai.temperature)
      store.delete('ai.temperature')
    }
    if ('apiKey' in ai) {
      store.set('ai.credentials.apiKey', ai.apiKey)
      store.delete('ai.apiKey')
    }
    const workspaces = store.get('workspaces', [])
    store.set(
      'workspaces',
      workspaces.map((workspace, index) => ({ id: workspace.id ?? `ws-${index + 1}`, ...workspace })),
    )
  },
}

/** Store options for the TAD app store: conf's `schema` and `rootSchema`, versioned. */
function storeOptions(extra = {}) {
  const { properties, ...rootSchema } = schema
  return { name: 'config', schema: properties, rootSchema, projectVersion: version, migrations, ...extra }
}

module.exports = { schema, version, migrations, storeOptions }
