'use strict'
// conf's `schema` (the properties of the store) and `rootSchema` (the rest of the root)
// combined into the one JSON Schema the engine compiles.
const { inputError } = require('./errors')

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The root schema for `options`, or undefined when there is none. */
function rootSchemaOf({ schema, rootSchema }) {
  for (const [name, value] of [['schema', schema], ['rootSchema', rootSchema]]) {
    if (value !== undefined && !isObject(value)) throw inputError('INVALID_OPTION', `The \`${name}\` option must be an object.`)
  }
  if (schema === undefined && rootSchema === undefined) return undefined
  if (rootSchema && 'properties' in rootSchema) {
    throw inputError('INVALID_OPTION', 'The `rootSchema` option must not contain a `properties` key. Use the `schema` option for properties.')
  }
  const type = rootSchema?.type
  if (type !== undefined && !(Array.isArray(type) ? type : [type]).includes('object')) {
    throw inputError('INVALID_OPTION', `The \`rootSchema\` option must not name a \`type\` other than \`object\`, got \`${JSON.stringify(type)}\`.`)
  }
  if (schema && '__internal__' in schema) {
    throw inputError('INVALID_OPTION', 'The `schema` option must not contain the key `__internal__`, which holds migration bookkeeping.')
  }
  return { ...rootSchema, type: 'object', properties: schema ?? {} }
}

module.exports = { rootSchemaOf }
