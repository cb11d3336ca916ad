import type Store = require('.')

/**
 * What one origin may do. Key patterns: `'*'`, `'settings'` (the key and everything
 * below), `'settings.*'`, `'workspaces.*.name'` (`*` is any one segment). A pattern no
 * key can match (brackets, escapes, empty segments) is refused with `INVALID_OPTION`.
 */
export interface OriginGrant {
  read?: string[]
  write?: string[]
  /** Keys no renderer of this origin may write, even inside a writable pattern. */
  readOnly?: string[]
  /** Sensitive keys this origin may see. */
  sensitive?: string[]
  /** May list history and roll back (whole-store operations). */
  history?: boolean
  /**
   * May follow every change (`onDidAnyChange`), seeing only what `read` allows. Without
   * it, only an origin that reads everything (`read: ['*']`) may.
   */
  anyChange?: boolean
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
  /** Subscriptions one window may hold (`LIMIT_EXCEEDED` beyond). @default 256 */
  maxSubscriptions?: number
}

export interface RegisterOptions {
  policy: StorePolicy
  /** Injected Electron modules. @default require('electron') */
  ipcMain?: unknown
  webContents?: unknown
  /** `false` turns the audit log off. @default { maxBytes: 1 MiB, keep: 3, maxQueued: 4096 } */
  audit?: false | { maxBytes?: number; keep?: number; maxQueued?: number }
  /** Also told of audit log failures and drops, which reach the store's `onError` in any case. */
  onAuditError?: (error: Error) => void
}

/** The bridge's own state, each part bounded by a limit. */
export interface BridgeStats {
  /** Windows with at least one subscription. */
  windows: number
  /** Subscriptions of each of those windows (each at most `maxSubscriptions`). */
  subscriptions: number[]
  /** Changes waiting for this turn's delivery. */
  pending: number
  /** Audit lines waiting to be written (at most `audit.maxQueued`), and dropped so far. */
  auditQueued: number
  auditDropped: number
}

/** Removes the handlers and every subscription; settles once the audit log is written. */
export interface DisposeBridge {
  (): Promise<void>
  stats(): BridgeStats
}

/** Handles the `tad-store:*` channels for `store`. Returns a disposer (its promise settles once the audit log is written). */
export function registerStoreIpc<T extends Record<string, any>>(store: Store<T>, options: RegisterOptions): DisposeBridge
export const EVENT_CHANNEL: 'tad-store:changes'
