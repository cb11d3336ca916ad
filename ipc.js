'use strict'
// require('tad-store/ipc'): the main-process bridge for renderers.
module.exports = require('./js/ipc')
