// Include (`/// <reference types="tad-store/preload/window" />`, or in tsconfig `types`)
// to declare an untyped `window.storeAPI`. For a typed one, declare it yourself:
//
//   import type { StoreAPI } from 'tad-store/preload'
//   declare global { interface Window { storeAPI: StoreAPI<MyStore> } }
import type { StoreAPI } from '.'

declare global {
  interface Window {
    storeAPI: StoreAPI
  }
}

export {}
