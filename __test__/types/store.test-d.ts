// Type tests, checked by `tsc --noEmit -p __test__/types` in `npm test`.
// A line marked @ts-expect-error must fail to compile, or tsc reports it.
import Store = require('../..')
import { StoreManager, safeStorageKeyProvider } from '../..'

interface Schema {
  settings: { theme: 'light' | 'dark'; editor: { fontSize: number } }
  recent: string[]
  count?: number
}

const store = new Store<Schema>({ defaults: { recent: [] } })
const theme: 'light' | 'dark' | undefined = store.get('settings.theme')
const size: number = store.get('settings.editor.fontSize', 14)
store.set('settings.theme', 'dark')
store.set({ count: 1 })
store.appendToArray('recent', 'a.txt')
store.onDidChange('settings.editor', (n, o) => n?.fontSize === o?.fontSize)
store.onError((e) => e.code === 'DISK_FULL' && e.kind === 'persistent')
for (const [key] of store) key.toUpperCase()

// @ts-expect-error: not a key of the schema
store.get('settings.colour')
// @ts-expect-error: wrong value type
store.set('settings.theme', 'blue')
// @ts-expect-error: wrong value type deeper down
store.set('settings.editor.fontSize', '14')
// @ts-expect-error: appending to a non-array
store.appendToArray('settings.theme', 'x')

// Untyped stores take any key.
const loose = new Store()
loose.set('anything.at.all', 1)
const v: unknown = loose.get('whatever')

async function manager() {
  const m = await new StoreManager<Schema>({ name: 'x' }).initialize()
  await m.set('settings.editor.fontSize', 12)
  // @ts-expect-error: wrong value type
  await m.set('settings.editor.fontSize', 'big')
}

void theme, size, v, manager

// The TAD schema's generated types.
import { storeOptions, type TadAppStore } from '../../schemas'
const tad = new Store<TadAppStore>(storeOptions())
const provider: 'anthropic' | 'openai' | 'google' | 'azure-openai' | 'ollama' | 'custom' = tad.get('ai.provider', 'anthropic')
tad.set('settings.theme', 'dark')
// @ts-expect-error: not a theme
tad.set('settings.theme', 'sepia')
// @ts-expect-error: workspaces need an id, a name and a path
tad.appendToArray('workspaces', { name: 'x' })
void provider

// History.
async function history() {
  const entries: Store.HistoryEntry[] = store.listHistory()
  await store.rollbackToTimestamp(entries[0].timestamp)
  await store.rollbackToTimestamp(new Date())
  const report: Store.HistoryReport = await store.verifyHistory()
  // @ts-expect-error: a timestamp, not a number
  await store.rollbackToTimestamp(5)
  new Store({ history: false })
  new Store({ history: { maxEntries: 10 } })
  return report.ok
}
void history

// Renderer entry points.
import { registerStoreIpc } from '../../ipc'
import { useStore } from '../../react'
import type { StoreAPI } from '../../preload'
const dispose: () => Promise<void> = registerStoreIpc(store, { policy: { origins: { 'app://tad': { read: ['*'], write: ['settings'] } } } })
declare const api: StoreAPI<Schema>
function Theme() {
  const { value, updateValue } = useStore('settings.theme', 'light', api)
  // @ts-expect-error: not a theme
  void updateValue('sepia')
  return value
}
void dispose, Theme

// Statistics and past states.
const stats: Store.StoreStats = store.stats()
const p99: number | null = stats.fsyncP99Micros
void store.stateAt(new Date()).then((then) => then.settings?.theme)
// @ts-expect-error: not an operation that is counted
void stats.operations.frobnicate
void p99

// Secrets: the options, rotation, migration and the safeStorage key provider.
const sealed = new Store<Schema>({ sensitiveKeys: ['settings.theme'], secretKey: new Uint8Array(32), keyStore: 'file' })
const provided = new Store<Schema>({ keyProvider: ({ path }) => path.padEnd(64, '0').slice(0, 64) })
void sealed.rotateKey(new Uint8Array(32)).then(() => sealed.sensitiveKeys.join())
void Store.migrateToFieldEncryption<Schema>({ encryptionKey: 'old', encryptionAlgorithm: 'aes-256-gcm' }).then((r) => r.sealed.length + Number(r.decrypted))
const keyFromSafeStorage: () => Uint8Array = Store.safeStorageKeyProvider({
  safeStorage: { isEncryptionAvailable: () => true, encryptString: (t) => new TextEncoder().encode(t), decryptString: (b) => new TextDecoder().decode(b) },
  file: '/tmp/key',
})
void provided
void keyFromSafeStorage
sealed.onError((e) => e.code === 'SECRET_TAMPERED' || e.code === 'KEYRING_UNAVAILABLE')
// @ts-expect-error: not a key store tad-store has
new Store<Schema>({ keyStore: 'cloud' })
// @ts-expect-error: electron-store has no such algorithm
new Store<Schema>({ encryptionKey: 'k', encryptionAlgorithm: 'aes-128-ecb' })
// @ts-expect-error: a key is bytes or text, not a number
new Store<Schema>({ secretKey: 42 })

// The named export is the same function as the static.
const namedProvider: typeof Store.safeStorageKeyProvider = safeStorageKeyProvider
void namedProvider

// electron-store's surface: initRenderer, openInEditor, events.
Store.initRenderer()
const opened: Promise<void> = new Store().openInEditor()
const events: EventTarget = new Store().events
void opened
void events
