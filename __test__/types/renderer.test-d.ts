// Type tests for the renderer side: window.storeAPI (the TAD app's global declaration)
// and useStore. A line marked @ts-expect-error must fail to compile.
/// <reference path="../../schemas/window.d.ts" />
import { useStore } from '../../react'
import type { StoreAPI, StoreAPIError } from '../../preload'
import { path as preloadPath } from '../../preload'

async function renderer() {
  const theme: 'light' | 'dark' | 'auto' | undefined = await window.storeAPI.get('settings.theme')
  await window.storeAPI.set('settings.theme', 'dark')
  await window.storeAPI.set('settings.editor.fontSize', 16)
  window.storeAPI.onDidChange('settings.theme', (now, before) => now === before)
  // @ts-expect-error: not a key of the TAD store
  await window.storeAPI.get('settings.colour')
  // @ts-expect-error: not one of the themes
  await window.storeAPI.set('settings.theme', 'sepia')
  // @ts-expect-error: a font size is a number
  await window.storeAPI.set('settings.editor.fontSize', '16')
  return theme
}

function Component() {
  const { value, updateValue } = useStore('settings.theme', 'auto')
  const themed: 'light' | 'dark' | 'auto' = value
  void updateValue('light')
  void updateValue((current) => (current === 'dark' ? 'light' : 'dark'))
  // @ts-expect-error: not one of the themes
  void updateValue('sepia')
  // @ts-expect-error: not a key of the TAD store
  useStore('settings.colour', 'x')
  // @ts-expect-error: the default must have the key's type
  useStore('settings.editor.fontSize', 'big')
  return themed
}

// Over another API: typed by that store.
declare const other: StoreAPI<{ count: number }>
const counted: number = useStore('count', 0, other).value
// @ts-expect-error: not a key of that store
useStore('settings.theme', 'auto', other)

// What a refusal carries in the page, and the shipped preload's path for the main process.
function refused(error: StoreAPIError) {
  const code: string = error.code
  const first: string | undefined = error.errors?.[0]?.keyword
  // @ts-expect-error: a plain object, not an Error: there is no stack
  void error.stack
  return [code, first]
}
const webPreferences: { preload: string; sandbox: boolean } = { preload: preloadPath, sandbox: true }
const { error } = useStore('settings.theme', 'auto')
const refusedCode: string | undefined = error?.code

void renderer
void Component
void counted
void refused
void webPreferences
void refusedCode
