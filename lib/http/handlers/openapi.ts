/** GET /openapi.json: the OpenAPI 3.1 document (openapi/document.ts), serialised once. */
import type { Middleware } from 'koa'
import type { AppState } from '../app-state.js'
import { openapiDocument } from '../openapi/document.js'

export function openapiHandler (): Middleware<AppState> {
  const text = JSON.stringify(openapiDocument)
  return async function openapi (ctx) {
    ctx.type = 'application/json'
    ctx.body = text
  }
}
