/**
 * Layers point down (docs/architecture.md): a module imports only from its own folder, the
 * folders below it, and the foundation. Checked in `make test` (npm run layers); madge still
 * checks file cycles.
 *
 *   app (main, service, deps) → http → upload → runner → pipeline → delivery → spool → store → domain → foundation
 *
 * cli/ talks to Chronos over HTTP only: it may import the foundation and domain types, nothing
 * that runs the service.
 */
const LAYERS = ['domain', 'store', 'spool', 'delivery', 'pipeline', 'runner', 'upload', 'http']
const FOUNDATION = '^lib/(config|errors|logger|version|allowed-targets|tls-config)\\.ts$'

function above (index) {
  return LAYERS.slice(index + 1).map((layer) => `^lib/${layer}/`).concat(['^lib/(main|service|deps)\\.ts$', '^lib/cli/'])
}

module.exports = {
  forbidden: [
    ...LAYERS.map((layer, index) => ({
      name: `${layer}-points-down`,
      comment: `lib/${layer}/ imports only from ${LAYERS.slice(0, index).join(', ') || 'nothing but'} the foundation`,
      severity: 'error',
      from: { path: `^lib/${layer}/` },
      to: { path: above(index) }
    })),
    {
      name: 'foundation-imports-no-feature',
      comment: 'config (with allowed-targets and tls-config), errors, logger and version import nothing from the feature folders',
      severity: 'error',
      from: { path: FOUNDATION },
      to: { path: '^lib/(?!(config|errors|logger|version|allowed-targets|tls-config)\\.ts$)' }
    },
    {
      name: 'cli-over-http-only',
      comment: 'the CLI talks to Chronos over HTTP: no service code',
      severity: 'error',
      from: { path: '^lib/cli/' },
      to: { path: '^lib/(store|spool|delivery|pipeline|runner|upload|http)/|^lib/(main|service|deps)\\.ts$' }
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^lib/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] }
  }
}
