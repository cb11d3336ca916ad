// The example renderer: a theme selector and the store's history with rollback, over
// window.storeAPI (exposed by the preload) and useStore. Bundled with React by build.js.
const React = require('react')
const { createRoot } = require('react-dom/client')
const { useStore } = require('tad-store/react')

const h = React.createElement

function ThemePicker() {
  const { value: theme, updateValue, loading, error } = useStore('settings.theme', 'auto')
  React.useEffect(() => {
    document.body.className = theme === 'dark' ? 'dark' : ''
  }, [theme])
  return h(
    'section',
    null,
    h('h2', null, 'Theme'),
    h(
      'select',
      { id: 'theme', value: theme, disabled: loading, onChange: (e) => updateValue(e.target.value) },
      ['light', 'dark', 'auto', 'sepia'].map((t) => h('option', { key: t, value: t }, t)),
    ),
    error && h('p', { id: 'theme-error', className: 'error' }, `${error.code}: ${error.message}`),
  )
}

function History() {
  const [entries, setEntries] = React.useState([])
  const [error, setError] = React.useState()
  const refresh = React.useCallback(() => window.storeAPI.listHistory().then(setEntries, setError), [])
  React.useEffect(() => {
    refresh()
    return window.storeAPI.onDidChange('settings', refresh)
  }, [refresh])
  const rollback = (timestamp) => window.storeAPI.rollbackToTimestamp(timestamp).then(refresh, setError)
  return h(
    'section',
    null,
    h('h2', null, 'History'),
    error && h('p', { className: 'error' }, `${error.code}: ${error.message}`),
    h(
      'ol',
      { id: 'history' },
      entries.map((e) => h('li', { key: e.timestamp }, `${e.timestamp} (${e.kind}, ${e.size} B)`, h('button', { onClick: () => rollback(e.timestamp) }, 'Roll back'))),
    ),
  )
}

createRoot(document.getElementById('root')).render(h('main', null, h('h1', null, 'TAD'), h(ThemePicker), h(History)))
