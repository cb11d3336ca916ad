// What `js/` uses that has no declarations here: Electron is the app's (injected in
// tests, see DESIGN in the README), and the preload's `window.storeAPI`.
declare module 'electron'
interface Window {
  storeAPI?: any
}
