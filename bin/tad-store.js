#!/usr/bin/env node
'use strict'
// `tad-store`: inspect and repair a store from the command line (see `tad-store --help`).
require('../js/cli')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code
  })
