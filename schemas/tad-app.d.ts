// Generated from tad-app.schema.json (version 2.0.0) by scripts/gen-types.js.
// Do not edit: change the schema and run `npm run gen-types`.

/** Everything the TAD Electron app keeps: settings, profile, AI configuration, workspaces and UI state. */
export interface TadAppStore {
  /** Application settings. */
  settings: {
    /**
     * Colour theme; `auto` follows the OS.
     * @default "auto"
     */
    theme: "light" | "dark" | "auto"
    /**
     * UI language (ISO 639).
     * @default "en"
     */
    language: string
    /**
     * Formatting locale (BCP 47).
     * @default "en-US"
     */
    locale: string
    /** Editor configuration. */
    editor: {
      /** @default "JetBrains Mono" */
      fontFamily: string
      /** @default 14 */
      fontSize: number
      /** @default 1.5 */
      lineHeight: number
      /** @default "off" */
      wordWrap: "off" | "on" | "bounded"
      /** @default true */
      minimap: boolean
      /** @default 2 */
      tabSize: number
    }
    /** Build system settings. */
    build: {
      /** @default 4 */
      parallel: number
      /** @default true */
      incremental: boolean
      /** @default "es2022" */
      target: "es2019" | "es2020" | "es2021" | "es2022" | "esnext"
    }
    /** Notification preferences. */
    notifications: {
      /** @default true */
      enabled: boolean
      /** @default false */
      sound: boolean
      channels: Array<"build" | "ai" | "updates" | "collaboration">
    }
  }
  /** The user's profile. */
  profile: {
    /** Identity: a stable user id. */
    id?: string
    /** Display name. */
    name?: string
    /**
     * Contact e-mail.
     * Format: `email`.
     */
    email?: string
    phone?: string
    preferences: {
      /** @default false */
      newsletter: boolean
      /** @default false */
      telemetry: boolean
    }
    /** Usage statistics. */
    usage: {
      /** @default 0 */
      sessions: number
      /** @default 0 */
      minutes: number
      /** Format: `date-time`. */
      lastSeen?: string
    }
    /** Authentication data. */
    auth?: {
      /**
       * Session token.
       * @sensitive Encrypted at rest; never sent to a renderer without a grant.
       */
      token?: string
      /** @sensitive Encrypted at rest; never sent to a renderer without a grant. */
      refreshToken?: string
      /** Format: `date-time`. */
      expiresAt?: string
    }
  }
  /** AI configuration. */
  ai: {
    /** @default "anthropic" */
    provider: "anthropic" | "openai" | "google" | "azure-openai" | "ollama" | "custom"
    /** @default "claude" */
    model: string
    /**
     * For self-hosted or custom providers.
     * Format: `uri`.
     */
    baseUrl?: string
    /** Request parameters. */
    request: {
      /** @default 0.2 */
      temperature: number
      /** @default 4096 */
      maxTokens: number
      /** @default 1 */
      topP: number
      /** @default 60000 */
      timeoutMs: number
    }
    /** API credentials. */
    credentials: {
      /**
       * The provider's API key; encrypted at rest.
       * @sensitive Encrypted at rest; never sent to a renderer without a grant.
       */
      apiKey?: string
      organization?: string
    }
  }
  /** The user's workspaces. */
  workspaces: Workspace[]
  activeWorkspace: string | null
  /** UI state. */
  ui: {
    /** Window position and size. */
    window: {
      x?: number
      y?: number
      /** @default 1280 */
      width: number
      /** @default 800 */
      height: number
      /** @default false */
      maximized: boolean
    }
    /** Panel layout and visibility. */
    panels: {
      sidebar?: Panel
      terminal?: Panel
      inspector?: Panel
    }
    /** Editor preferences. */
    editor: {
      /** @default true */
      showLineNumbers: boolean
      /** @default true */
      fontLigatures: boolean
      /** @default "line" */
      cursorStyle: "line" | "block" | "underline"
    }
    /** Canvas configuration. */
    canvas: {
      /** @default 1 */
      zoom: number
      /** @default true */
      grid: boolean
      /** @default 8 */
      snap: number
    }
  }
}

export interface Panel {
  /** @default true */
  visible: boolean
  width?: number
  height?: number
}

export interface Workspace {
  id: string
  name: string
  path: string
  /** Format: `date-time`. */
  createdAt?: string
  /** Per-workspace settings. */
  settings: {
    /** @default "vite" */
    buildSystem: "vite" | "webpack" | "esbuild" | "rollup" | "none"
    /** @default false */
    autoSave: boolean
    /** @default true */
    formatOnSave: boolean
    /** @default 2 */
    tabSize: number
    excludes: string[]
  }
  /** File organisation preferences. */
  files: {
    /** @default "name" */
    sortBy: "name" | "modified" | "type"
    /** @default false */
    showHidden: boolean
    pinned: string[]
  }
  /** Recently opened files, newest last. */
  recent: RecentItem[]
}

export interface RecentItem {
  path: string
  /** Format: `date-time`. */
  openedAt?: string
  cursor?: {
    line?: number
    column?: number
  }
}
