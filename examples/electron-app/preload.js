'use strict'
// Runs with contextIsolation and sandbox on: exposes window.storeAPI, nothing else.
require('tad-store/preload').exposeStoreAPI()
