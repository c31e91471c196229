/**
 * Which uploads we read at all: NDJSON media types (DESIGN §1) or application/json
 * (DESIGN §10), charset utf-8 if any, gzip or identity.
 */
import { UnsupportedMediaTypeError } from '../errors.js'

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'])
const JSON_TYPE = 'application/json'

export interface UploadFraming {
  /** 'ndjson': line 1 config, a record a line; 'json': one {config, records} document. */
  readonly format: 'ndjson' | 'json'
  readonly isGzip: boolean
}

export function checkMediaType (contentType: string | undefined, contentEncoding: string | undefined): UploadFraming {
  const [rawEssence = '', ...parameters] = (contentType ?? '').split(';')
  const essence = rawEssence.trim().toLowerCase()
  const format = essence === JSON_TYPE ? 'json' : NDJSON_TYPES.has(essence) ? 'ndjson' : null
  if (format === null) {
    throw new UnsupportedMediaTypeError(
      'Content-Type must be application/x-ndjson, application/jsonl, application/x-jsonlines or application/json, ' +
      `got ${JSON.stringify(contentType ?? '')}`)
  }
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=').map((part) => part.trim().toLowerCase())
    if (name === 'charset' && value.replace(/"/g, '') !== 'utf-8') {
      throw new UnsupportedMediaTypeError(`only charset=utf-8 is accepted, got ${JSON.stringify(value)}`)
    }
  }
  const encoding = (contentEncoding ?? '').trim().toLowerCase()
  if (encoding === '' || encoding === 'identity') return { format, isGzip: false }
  if (encoding === 'gzip' || encoding === 'x-gzip') return { format, isGzip: true }
  throw new UnsupportedMediaTypeError(`Content-Encoding must be gzip or none, got ${JSON.stringify(contentEncoding)}`)
}
