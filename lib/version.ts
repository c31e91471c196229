/** Chronos's version, read once from package.json (used in user-agent, /info and logs). */
import { readFileSync } from 'node:fs'

function readVersion (): string {
  // dist/lib/version.js and lib/version.ts sit at different depths below package.json.
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'chronos' && typeof pkg.version === 'string') return pkg.version
    } catch {}
  }
  return '0.0.0'
}

export const VERSION = readVersion()
