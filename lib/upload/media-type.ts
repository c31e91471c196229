/** Which uploads we read at all (DESIGN §1 framing): NDJSON media types, gzip or identity. */
import { UnsupportedMediaTypeError } from '../errors.js'

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'])

export interface UploadFraming {
  readonly isGzip: boolean
}

export function checkMediaType (contentType: string | undefined, contentEncoding: string | undefined): UploadFraming {
  const [essence = '', ...parameters] = (contentType ?? '').split(';')
  if (!NDJSON_TYPES.has(essence.trim().toLowerCase())) {
    throw new UnsupportedMediaTypeError(
      `Content-Type must be application/x-ndjson, application/jsonl or application/x-jsonlines, got ${JSON.stringify(contentType ?? '')}`)
  }
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=').map((part) => part.trim().toLowerCase())
    if (name === 'charset' && value.replace(/"/g, '') !== 'utf-8') {
      throw new UnsupportedMediaTypeError(`only charset=utf-8 is accepted, got ${JSON.stringify(value)}`)
    }
  }
  const encoding = (contentEncoding ?? '').trim().toLowerCase()
  if (encoding === '' || encoding === 'identity') return { isGzip: false }
  if (encoding === 'gzip' || encoding === 'x-gzip') return { isGzip: true }
  throw new UnsupportedMediaTypeError(`Content-Encoding must be gzip or none, got ${JSON.stringify(contentEncoding)}`)
}
