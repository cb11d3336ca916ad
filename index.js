'use strict'
// tad-store: a drop-in for electron-store backed by a durable native engine.
const { Store } = require('./js/store')
const { StoreManager } = require('./js/manager')
const { safeStorageKeyProvider } = require('./js/keys')

module.exports = Store
module.exports.default = Store
module.exports.Store = Store
module.exports.StoreManager = StoreManager
module.exports.safeStorageKeyProvider = safeStorageKeyProvider
