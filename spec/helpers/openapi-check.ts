// Checks an answer from Chronos against GET /openapi.json's document (lib/http/openapi):
// its status must be documented for the route, its content type listed, and a JSON body must
// match the schema. startChronos()'s requests run every answer through it, so the API specs
// validate every response they receive and the document cannot drift from the code.
// Non-JSON answers (SSE, NDJSON, metrics, the dashboard's files) only have their status and
// content type checked. A path no route serves is the router's 404 and must be an Error.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { openapiDocument } from '../../lib/http/openapi/document.js'

const DOC_ID = 'https://chronos.invalid/openapi.json'
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
ajv.addSchema({ ...openapiDocument, $id: DOC_ID })
const compiled = new Map<string, ValidateFunction>()

type Json = Record<string, any>
const doc = openapiDocument as unknown as Json
const templates = Object.keys(doc.paths as Json)
  .map((template) => ({ template, regex: new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$'), isLiteral: !template.includes('{') }))
  .sort((a, b) => Number(b.isLiteral) - Number(a.isLiteral))

export interface CheckedAnswer { status: number, contentType: string | null, json: unknown, text: string }

/** Throws an Error naming what disagrees with the document. */
export function checkAnswer (method: string, url: string, answer: CheckedAnswer): void {
  if (method === 'HEAD' || method === 'OPTIONS') return
  const path = new URL(url).pathname
  const where = `${method} ${path} → ${answer.status}`
  const route = templates.find(({ regex }) => regex.test(path))
  const operation = route === undefined ? undefined : doc.paths[route.template][method.toLowerCase()]
  if (route === undefined || operation === undefined) {
    // The router's own answers: no route (404), a route without this method (405, 501).
    if (![404, 405, 501].includes(answer.status)) throw new Error(`${where}: no such operation in openapi.json`)
    return validate('#/components/schemas/Error', answer.json, where)
  }
  let pointer = `#/paths/${escape(route.template)}/${method.toLowerCase()}/responses/${answer.status}`
  let response = operation.responses[String(answer.status)]
  if (response === undefined) throw new Error(`${where}: status not documented in openapi.json`)
  if (typeof response.$ref === 'string') {
    pointer = response.$ref
    response = resolve(response.$ref)
  }
  if (response.content === undefined) return
  const mediaType = (answer.contentType ?? '').split(';')[0]?.trim() ?? ''
  if (response.content[mediaType] === undefined) {
    throw new Error(`${where}: content type ${JSON.stringify(mediaType)} not documented (${Object.keys(response.content).join(', ')})`)
  }
  if (mediaType === 'application/json') validate(`${pointer}/content/application~1json/schema`, answer.json, where)
}

function validate (pointer: string, body: unknown, where: string): void {
  let check = compiled.get(pointer)
  if (check === undefined) {
    check = ajv.compile({ $ref: DOC_ID + pointer })
    compiled.set(pointer, check)
  }
  if (!check(body)) throw new Error(`${where}: body does not match openapi.json: ${ajv.errorsText(check.errors)}\n${JSON.stringify(body)}`)
}

function escape (segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'))
}

function resolve (ref: string): Json {
  let node: any = doc
  for (const part of ref.replace(/^#\//, '').split('/')) node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  return node
}
