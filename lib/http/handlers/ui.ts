/**
 * GET /ui/ and its assets: the dashboard (DESIGN §9), plain ES modules and CSS from
 * lib/http/ui (copied beside the compiled code by `npm run build`). The few small files are
 * read once at start; only those names are served, so no path from a URL reaches the disk.
 * A strict Content-Security-Policy allows nothing but this origin: no inline script or
 * style, no CDN, no framing. The pages are open (auth.ts): they ask for the API key and
 * send it on every API call.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Middleware, ParameterizedContext } from 'koa'
import type { AppState } from '../app-state.js'
import { NotFoundError } from '../../errors.js'

const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url))
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"
].join('; ')

interface Asset { readonly type: string, readonly body: Buffer }

function loadAssets (dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    return assets // a build without the dashboard: every asset is 404
  }
  for (const name of names) {
    const type = TYPES[extname(name)]
    if (type !== undefined) assets.set(name, { type, body: readFileSync(join(dir, name)) })
  }
  return assets
}

export function uiHandlers (dir = UI_DIR): { index: Middleware<AppState>, asset: Middleware<AppState> } {
  const assets = loadAssets(dir)
  const send = (ctx: ParameterizedContext<AppState>, name: string): void => {
    const asset = assets.get(name)
    if (asset === undefined) throw new NotFoundError(`no dashboard file ${JSON.stringify(name)}`)
    ctx.set({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache'
    })
    ctx.type = asset.type
    ctx.body = asset.body
  }
  return {
    index: async function uiIndex (ctx) {
      // The page's relative asset URLs need the slash.
      if (ctx.path === '/ui') {
        ctx.status = 301
        ctx.redirect('/ui/')
      } else {
        send(ctx, 'index.html')
      }
    },
    asset: async function uiAsset (ctx: ParameterizedContext<AppState> & { params?: Record<string, string> }) {
      send(ctx, ctx.params?.file ?? '')
    }
  }
}
