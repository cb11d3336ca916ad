// Browser entry, bundled by the test: the preload tad-store ships, unchanged
// (preload/sandboxed.js, which exposes window.storeAPI when it runs), with `electron`
// mapped to ./electron.js: IPC over a WebSocket and Electron's copying rules.
require('../../preload/sandboxed.js')
