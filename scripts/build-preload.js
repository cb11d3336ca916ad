#!/usr/bin/env node
// Makes preload/sandboxed.js from preload/index.js: the same code in one self-contained
// file that a sandboxed renderer can load as its preload (no `require` but `electron`,
// no `__dirname`), and that exposes `window.storeAPI` when it runs. `--check` fails when
// the checked-in file is out of date (npm test).
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const dir = path.resolve(__dirname, '..', 'preload')
// The one file the preload requires besides \`electron\`, inlined where it is required.
const CHANNELS_REQUIRE = "require('../js/channels')"
const channels = fs.readFileSync(path.join(dir, '..', 'js', 'channels.js'), 'utf8')
const preload = fs.readFileSync(path.join(dir, 'index.js'), 'utf8')
if (!preload.includes(CHANNELS_REQUIRE)) throw new Error(`preload/index.js no longer has ${CHANNELS_REQUIRE}`)
const inlined = `(function () {\n  const module = { exports: {} }\n${channels
  .replace("'use strict'\n", '')
  .trimEnd()
  .split('\n')
  .map((line) => (line ? `  ${line}` : line))
  .join('\n')}\n  return module.exports\n})()`
const source = preload.replace(CHANNELS_REQUIRE, inlined)
const target = path.join(dir, 'sandboxed.js')

// Electron runs a sandboxed preload as the body of a function whose parameters are its
// polyfills (`require`, `process`, `exports`, `module`, …; lib/sandboxed_renderer in
// Electron's source): older versions pass no `module`, so the file brings its own.
const text = `// tad-store's preload for a sandboxed renderer: name this file as the window's preload,
//   webPreferences: { preload: require('tad-store/preload').path, sandbox: true, contextIsolation: true }
// It requires nothing but \`electron\` and exposes \`window.storeAPI\` when it runs.
// Generated from preload/index.js by scripts/build-preload.js: edit that file, not this one.
;(function () {
  const module = { exports: {} }
  ;(function (module, exports) {
${source.trimEnd().split('\n').map((line) => (line ? `    ${line}` : line)).join('\n')}
  })(module, module.exports)
  module.exports.exposeStoreAPI()
})()
`

if (process.argv.includes('--check')) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : ''
  if (current !== text) {
    console.error('preload/sandboxed.js is out of date: run `npm run build-preload`')
    process.exit(1)
  }
} else {
  fs.writeFileSync(target, text)
  console.log(`wrote ${path.relative(process.cwd(), target)}`)
}
