'use strict'
// require('tad-store/react'): the useStore hook.
module.exports = require('./js/react')
