'use strict'
// Realistic TAD settings documents of a chosen size: settings, profile, AI config,
// workspaces with recent items, UI state. Deterministic, so runs compare.

function workspace(i) {
  return {
    id: `ws-${i.toString(36).padStart(6, '0')}`,
    name: `Workspace ${i}`,
    path: `/home/user/projects/project-${i}`,
    createdAt: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
    settings: {
      buildSystem: i % 2 ? 'vite' : 'webpack',
      autoSave: i % 3 === 0,
      formatOnSave: true,
      tabSize: 2 + (i % 3),
      excludes: ['node_modules', 'dist', '.git', `tmp-${i}`],
    },
    files: {
      sortBy: ['name', 'modified', 'type'][i % 3],
      showHidden: false,
      pinned: Array.from({ length: 4 }, (_, k) => `src/module-${i}-${k}.ts`),
    },
    recent: Array.from({ length: 12 }, (_, k) => ({
      path: `src/components/Component${i}_${k}.tsx`,
      openedAt: new Date(Date.UTC(2026, 5, 1) + (i * 12 + k) * 60_000).toISOString(),
      cursor: { line: (i * 7 + k) % 400, column: k * 3 },
    })),
  }
}

/** A settings document whose JSON (tab-indented) is about `bytes` long. */
function settingsOfSize(bytes) {
  const doc = {
    settings: {
      theme: 'dark',
      language: 'en',
      locale: 'en-GB',
      editor: { fontFamily: 'JetBrains Mono', fontSize: 14, lineHeight: 1.5, wordWrap: 'on', minimap: true, tabSize: 2 },
      build: { parallel: 4, incremental: true, target: 'es2022' },
      notifications: { enabled: true, sound: false, channels: ['build', 'ai', 'updates'] },
    },
    profile: {
      id: 'user-42',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      preferences: { newsletter: false, telemetry: true },
      usage: { sessions: 1234, lastSeen: '2026-11-01T12:00:00.000Z', minutes: 98765 },
    },
    ai: {
      provider: 'anthropic',
      model: 'claude',
      request: { temperature: 0.2, maxTokens: 4096 },
      credentials: { apiKey: 'enc:v1:placeholder' },
    },
    workspaces: [],
    ui: {
      window: { x: 100, y: 80, width: 1440, height: 900, maximized: false },
      panels: { sidebar: { visible: true, width: 280 }, terminal: { visible: false, height: 240 } },
      canvas: { zoom: 1, grid: true, snap: 8 },
    },
  }
  const one = JSON.stringify(workspace(0), undefined, '\t').length
  const base = JSON.stringify(doc, undefined, '\t').length
  const count = Math.max(0, Math.round((bytes - base) / (one + 3)))
  for (let i = 0; i < count; i++) doc.workspaces.push(workspace(i))
  return doc
}

module.exports = { settingsOfSize }
