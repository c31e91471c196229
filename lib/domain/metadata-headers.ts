/**
 * The config line's `metadata`: `{key, value}` entries sent as request headers. Keys are
 * RFC 9110 tokens, values free of CR, LF, NUL and other controls; framing, hop-by-hop and
 * Chronos's own headers are refused, and so are names repeated case-insensitively (the
 * contract, §1).
 */
export interface MetadataHeader {
  readonly key: string
  readonly value: string
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Header values Chronos can send (RFC 9110 field-content, as undici checks it). */

const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

const MAX_METADATA_ENTRIES = 64

const MAX_METADATA_BYTES = 16 * 1024

/** Headers a user may not set: framing, hop-by-hop, and the ones Chronos sets itself (§2). */
const REFUSED_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade',
  'expect', 'te', 'trailer',
  'content-type', 'user-agent', 'idempotency-key', 'x-chronos-job-id', 'x-chronos-record-id'
])

export function parseMetadata (value: unknown, problems: string[]): MetadataHeader[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) {
    problems.push('"metadata" must be an array of {"key", "value"} strings')
    return []
  }
  if (value.length > MAX_METADATA_ENTRIES) problems.push(`"metadata" may hold at most ${MAX_METADATA_ENTRIES} entries`)
  const seen = new Set<string>()
  const headers: MetadataHeader[] = []
  let bytes = 0
  value.forEach((entry: unknown, i) => {
    const { key, value } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>
    if (typeof key !== 'string' || typeof value !== 'string') {
      problems.push(`metadata[${i}] must be {"key": string, "value": string}`)
      return
    }
    const name = key.toLowerCase()
    if (!HEADER_NAME.test(key)) problems.push(`metadata[${i}].key is not a valid HTTP header name`)
    else if (REFUSED_HEADERS.has(name) || name.startsWith('proxy-')) problems.push(`metadata[${i}].key "${key}" is a header Chronos does not let you set`)
    else if (seen.has(name)) problems.push(`metadata[${i}].key "${key}" is repeated`)
    if (!HEADER_VALUE.test(value)) problems.push(`metadata[${i}].value may hold only visible characters, space and tab (no CR, LF, NUL or other controls)`)
    seen.add(name)
    bytes += key.length + value.length
    headers.push({ key, value })
  })
  if (bytes > MAX_METADATA_BYTES) problems.push(`"metadata" may hold at most ${MAX_METADATA_BYTES} bytes of names and values`)
  return headers
}
