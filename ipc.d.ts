import type Store = require('.')

/** What one origin may do. Key patterns: `'*'`, `'settings'` (the key and everything below), `'settings.*'`. */
export interface OriginGrant {
  read?: string[]
  write?: string[]
  /** Keys no renderer of this origin may write, even inside a writable pattern. */
  readOnly?: string[]
  /** Sensitive keys this origin may see. */
  sensitive?: string[]
  /** May list history and roll back (whole-store operations). */
  history?: boolean
}

export interface StorePolicy {
  /** Allowed origins (`https://app.example.com`, `app://tad`, `file://`), compared after parsing with `URL`. */
  origins: Record<string, OriginGrant>
  /** Keys whose values never reach a renderer unless its origin's grant names them. */
  sensitiveKeys?: string[]
  /** @default 1 MiB */
  maxPayloadBytes?: number
  /** @default 32 */
  maxDepth?: number
}

export interface RegisterOptions {
  policy: StorePolicy
  /** Injected Electron modules. @default require('electron') */
  ipcMain?: unknown
  webContents?: unknown
  /** `false` turns the audit log off. @default { maxBytes: 1 MiB, keep: 3 } */
  audit?: false | { maxBytes?: number; keep?: number }
  onAuditError?: (error: Error) => void
}

/** Handles the `tad-store:*` channels for `store`. Returns a disposer (its promise settles once the audit log is written). */
export function registerStoreIpc<T extends Record<string, any>>(store: Store<T>, options: RegisterOptions): () => Promise<void>
export const EVENT_CHANNEL: 'tad-store:changes'
