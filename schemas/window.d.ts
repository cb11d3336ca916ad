// The TAD app's `window.storeAPI`, typed by its schema. Include it in the renderer's
// build: `/// <reference types="tad-store/schemas/window" />`.
import type { StoreAPI } from '../preload'
import type { TadAppStore } from './tad-app'

declare global {
  interface Window {
    storeAPI: StoreAPI<TadAppStore>
  }
}

export {}
