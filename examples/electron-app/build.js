// Bundles renderer/app.js with React into renderer/bundle.js (a sandboxed renderer has
// no `require`). `npm run build` here, or `node examples/electron-app/build.js`.
const path = require('node:path')
require('esbuild').buildSync({
  entryPoints: [path.join(__dirname, 'renderer', 'app.js')],
  outfile: path.join(__dirname, 'renderer', 'bundle.js'),
  bundle: true,
  platform: 'browser',
  define: { 'process.env.NODE_ENV': '"production"' },
  alias: { 'tad-store/react': path.join(__dirname, '..', '..', 'react.js') },
  logLevel: 'warning',
})
