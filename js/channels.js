'use strict'
// The IPC channels between the main-process bridge (js/ipc.js) and the preload
// (preload/index.js), defined once. The preload requires this file; the sandboxed
// preload, which cannot require files, gets it inlined by scripts/build-preload.js.

/** The operations a renderer may ask for, each an `ipcMain.handle` channel. */
const OPERATIONS = ['get', 'set', 'delete', 'has', 'subscribe', 'unsubscribe', 'listHistory', 'rollbackToTimestamp']

/** The channel an operation is asked on. */
const channelOf = (op) => `tad-store:${op}`

/** The channel change events are sent on. */
const EVENT_CHANNEL = 'tad-store:changes'

module.exports = { OPERATIONS, channelOf, EVENT_CHANNEL }
