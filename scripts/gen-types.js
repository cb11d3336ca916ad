#!/usr/bin/env node
// Generates TypeScript types from a JSON Schema: schemas/tad-app.schema.json ->
// schemas/tad-app.d.ts. `--check` fails when the checked-in file is out of date (CI).
//
// Covers what the TAD schema uses: objects, properties, required, defaults (a property
// with a default is always present, so it is not optional), enums, type lists, arrays,
// local $refs to $defs, additionalProperties, descriptions and x-sensitive.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const source = path.join(root, 'schemas', 'tad-app.schema.json')
const target = path.join(root, 'schemas', 'tad-app.d.ts')

const pascal = (name) => name.replace(/(^|[-_ ])(\w)/g, (_, __, c) => c.toUpperCase())
const key = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name))

function doc(schema, indent) {
  const lines = []
  if (schema.description) lines.push(...schema.description.split('\n'))
  if (schema['x-sensitive']) lines.push('@sensitive Encrypted at rest; never sent to a renderer without a grant.')
  if (schema.default !== undefined && typeof schema.default !== 'object') lines.push(`@default ${JSON.stringify(schema.default)}`)
  if (schema.format) lines.push(`Format: \`${schema.format}\`.`)
  if (lines.length === 0) return ''
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`).join('\n')}\n${indent} */\n`
}

function typeOf(schema, indent) {
  if (schema === true || schema === undefined) return 'unknown'
  if (schema === false) return 'never'
  if (schema.$ref) return pascal(schema.$ref.replace(/^#\/(\$defs|definitions)\//, ''))
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ')
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? (schema.properties ? 'object' : undefined)]
  return types
    .map((type) => {
      switch (type) {
        case 'string':
          return 'string'
        case 'integer':
        case 'number':
          return 'number'
        case 'boolean':
          return 'boolean'
        case 'null':
          return 'null'
        case 'array': {
          const item = typeOf(schema.items, indent)
          return /[ |{]/.test(item) ? `Array<${item}>` : `${item}[]`
        }
        case 'object':
          return objectType(schema, indent)
        default:
          return 'unknown'
      }
    })
    .join(' | ')
}

function objectType(schema, indent) {
  const inner = `${indent}  `
  const required = new Set(schema.required ?? [])
  let out = '{\n'
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const always = required.has(name) || (typeof sub === 'object' && sub.default !== undefined)
    out += doc(sub, inner)
    out += `${inner}${key(name)}${always ? '' : '?'}: ${typeOf(sub, inner)}\n`
  }
  const extra = schema.additionalProperties
  if (extra && typeof extra === 'object') out += `${inner}[key: string]: ${typeOf(extra, inner)}\n`
  return `${out}${indent}}`
}

function generate(schema) {
  let out = `// Generated from tad-app.schema.json (version ${schema['x-version']}) by scripts/gen-types.js.\n// Do not edit: change the schema and run \`npm run gen-types\`.\n\n`
  out += doc(schema, '')
  out += `export interface TadAppStore ${objectType(schema, '')}\n`
  for (const [name, sub] of Object.entries(schema.$defs ?? {})) {
    out += `\n${doc(sub, '')}export interface ${pascal(name)} ${objectType(sub, '')}\n`
  }
  return out
}

const output = generate(JSON.parse(fs.readFileSync(source, 'utf8')))
if (process.argv.includes('--check')) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : ''
  if (current !== output) {
    console.error(`${path.relative(root, target)} is out of date: run \`npm run gen-types\` and commit it.`)
    process.exit(1)
  }
  console.log(`${path.relative(root, target)} is up to date`)
} else {
  fs.writeFileSync(target, output)
  console.log(`wrote ${path.relative(root, target)}`)
}
