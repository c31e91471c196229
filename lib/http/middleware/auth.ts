/**
 * Bearer-key auth when CHRONOS_API_KEYS is set: every route but /healthz, /readyz,
 * /metrics and the dashboard's own files under /ui (the page asks for a key and sends it
 * with each API call; its files hold no data). Runs before any byte of an upload is read. Keys are compared in constant time
 * (as SHA-256 digests, so lengths leak nothing) and never logged; the caller is identified
 * downstream only by a fingerprint of its key, which owns the jobs it creates.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Middleware } from 'koa'
import { UnauthorizedError } from '../../errors.js'
import type { AppState } from '../app-state.js'

const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics'])
/** RFC 9110 §11.6.1: a 401 says which scheme would work (issue 18 item 12). */
const CHALLENGE = 'Bearer realm="chronos"'

function isDashboardFile (path: string): boolean {
  return path === '/ui' || path.startsWith('/ui/')
}

export function keyFingerprint (key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16)
}

export function auth (apiKeys: readonly string[]): Middleware<AppState> {
  const digests = apiKeys.map((key) => createHash('sha256').update(key).digest())
  return async function authMiddleware (ctx, next) {
    ctx.state.owner = ''
    if (digests.length === 0 || OPEN_PATHS.has(ctx.path) || isDashboardFile(ctx.path)) return await next()
    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))
    if (match === null) {
      ctx.set('www-authenticate', CHALLENGE)
      throw new UnauthorizedError('missing API key: send Authorization: Bearer <key>')
    }
    const key = match[1] as string
    const digest = createHash('sha256').update(key).digest()
    let isKnown = false
    for (const known of digests) isKnown = timingSafeEqual(known, digest) || isKnown
    if (!isKnown) {
      ctx.set('www-authenticate', CHALLENGE)
      throw new UnauthorizedError('unknown API key')
    }
    ctx.state.owner = keyFingerprint(key)
    await next()
  }
}
