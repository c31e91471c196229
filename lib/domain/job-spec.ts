/**
 * Line 1 of an upload: the JobSpec. parseJobSpec() checks every field of DESIGN §1 and
 * reports every problem at once, so a user fixes the line in one go.
 */
import { isIP } from 'node:net'
import { parseMetadata, type MetadataHeader } from './metadata-headers.js'

export type HttpMethod = 'POST' | 'PUT' | 'PATCH'

export type { MetadataHeader }

export interface JobSpec {
  readonly primaryKey: string
  readonly protocol: 'http' | 'https'
  /** Normalised: lowercase name, or a canonical IP literal without brackets. */
  readonly host: string
  readonly port: number
  readonly path: string
  readonly metadata: readonly MetadataHeader[]
  readonly method: HttpMethod
  /** The job's in-flight cap; with adaptiveConcurrency, the ceiling of its live limit. */
  readonly concurrency: number
  /** The live limit starts low, grows while the target answers well, falls on overload (DESIGN §8). */
  readonly adaptiveConcurrency: boolean
  /** Starts per second, spaced evenly (GCRA), or null for no limit. */
  readonly rateLimit: number | null
  /** Starts that may go at once after an idle spell: 1..rateLimit (default 1); null without a rate limit. */
  readonly rateBurst: number | null
  readonly timeoutMs: number
  readonly maxAttempts: number
  readonly callbackUrl: string | null
}

export interface JobSpecLimits {
  readonly defaultConcurrency: number
  readonly maxConcurrency: number
  readonly defaultTimeoutMs: number
  readonly defaultMaxAttempts: number
}

export type JobSpecResult = { ok: true, spec: JobSpec } | { ok: false, problems: string[] }

const KNOWN_FIELDS = new Set([
  'primarykey', 'protocol', 'host', 'port', 'path', 'metadata', 'method',
  'concurrency', 'adaptive_concurrency', 'rate_limit', 'rate_burst', 'timeout_ms', 'max_attempts', 'callback_url'
])
const PRIMARY_KEY = /^[A-Za-z0-9._:-]{1,200}$/
const DNS_LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/
/**
 * DESIGN §1: printable ASCII without space, no fragment. undici would send other characters
 * as raw bytes and a fragment in the request line (issue 18 item 11); anything else must
 * come percent-encoded.
 */
const PATH = /^\/[\x21\x22\x24-\x7e]*$/
const MAX_PATH_LENGTH = 8192
const MAX_TIMEOUT_MS = 600_000
const MAX_RATE_LIMIT = 100_000

export function parseJobSpec (value: unknown, limits: JobSpecLimits): JobSpecResult {
  const problems: string[] = []
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: ['line 1 must be a JSON object naming the target'] }
  }
  const raw = value as Record<string, unknown>
  for (const field of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(field)) problems.push(`unknown field "${field}"`)
  }

  const primaryKey = raw.primarykey
  if (typeof primaryKey !== 'string' || !PRIMARY_KEY.test(primaryKey)) {
    problems.push('"primarykey" is required: 1-200 characters of A-Z a-z 0-9 . _ : -')
  }
  const protocol = raw.protocol
  if (protocol !== 'http' && protocol !== 'https') problems.push('"protocol" must be "http" or "https"')
  const host = normaliseHost(raw.host)
  if (host === null) problems.push('"host" must be a DNS name or an IP literal, without scheme, port, path or user-info')
  const port = parseInteger(raw.port, 1, 65535, true)
  if (port === null) problems.push('"port" must be an integer from 1 to 65535')
  const path = raw.path
  if (typeof path !== 'string' || !PATH.test(path) || path.length > MAX_PATH_LENGTH) {
    problems.push(`"path" must start with "/" and hold at most ${MAX_PATH_LENGTH} printable ASCII characters, without spaces or a "#" fragment (percent-encode anything else)`)
  }
  const metadata = parseMetadata(raw.metadata, problems)
  const method = raw.method ?? 'POST'
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') problems.push('"method" must be POST, PUT or PATCH')
  const concurrency = optionalInteger(raw, 'concurrency', 1, limits.maxConcurrency, limits.defaultConcurrency, problems)
  const adaptiveConcurrency = raw.adaptive_concurrency ?? false
  if (typeof adaptiveConcurrency !== 'boolean') problems.push('"adaptive_concurrency" must be true or false')
  const rateLimit = raw.rate_limit === undefined || raw.rate_limit === null
    ? null
    : optionalInteger(raw, 'rate_limit', 1, MAX_RATE_LIMIT, 0, problems)
  const rateBurst = parseRateBurst(raw, rateLimit, problems)
  const timeoutMs = optionalInteger(raw, 'timeout_ms', 1, MAX_TIMEOUT_MS, limits.defaultTimeoutMs, problems)
  const maxAttempts = optionalInteger(raw, 'max_attempts', 1, 10, limits.defaultMaxAttempts, problems)
  const callbackUrl = parseCallbackUrl(raw.callback_url, problems)

  if (problems.length > 0) return { ok: false, problems }
  return {
    ok: true,
    spec: {
      primaryKey: primaryKey as string,
      protocol: protocol as 'http' | 'https',
      host: host as string,
      port: port as number,
      path: path as string,
      metadata,
      method: method as HttpMethod,
      concurrency,
      adaptiveConcurrency: adaptiveConcurrency === true,
      rateLimit,
      rateBurst,
      timeoutMs,
      maxAttempts,
      callbackUrl
    }
  }
}

/** The spec as line 1 of a spool file and as stored in Redis: the wire names, resolved. */
export function specToWire (spec: JobSpec): Record<string, unknown> {
  // rate_burst and adaptive_concurrency only when set: spool line 1 stays as it was for jobs without them.
  const burst = spec.rateBurst === null ? {} : { rate_burst: spec.rateBurst }
  const adaptive = spec.adaptiveConcurrency ? { adaptive_concurrency: true } : {}
  return {
    primarykey: spec.primaryKey,
    protocol: spec.protocol,
    host: spec.host,
    port: spec.port,
    path: spec.path,
    metadata: spec.metadata,
    method: spec.method,
    concurrency: spec.concurrency,
    ...adaptive,
    rate_limit: spec.rateLimit,
    ...burst,
    timeout_ms: spec.timeoutMs,
    max_attempts: spec.maxAttempts,
    callback_url: spec.callbackUrl
  }
}

/** The target's origin for an undici Pool, with IPv6 literals bracketed. */
export function targetOrigin (spec: JobSpec): string {
  const host = isIP(spec.host) === 6 ? `[${spec.host}]` : spec.host
  return `${spec.protocol}://${host}:${spec.port}`
}

/** The port a URL connects to, its scheme's default when none is written. */
export function urlPort (url: URL): number {
  if (url.port !== '') return Number(url.port)
  return url.protocol === 'https:' ? 443 : 80
}

/** The callback URL's host and port, in the form the target policy checks. */
export function callbackTarget (callbackUrl: string): { host: string, port: number } {
  const url = new URL(callbackUrl)
  return { host: normaliseHost(url.hostname) ?? url.hostname, port: urlPort(url) }
}

/**
 * A DNS name or an IP literal, normalised through the WHATWG URL parser so that forms like
 * `2130706433` or `0x7f.1` become the dotted address a connection would really reach.
 */
export function normaliseHost (value: unknown): string | null {
  if (typeof value !== 'string' || value === '' || value.length > 253) return null
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value
  // Zone ids (fe80::1%eth0) name a local interface: never a valid remote target.
  if (bare.includes('%')) return null
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1)
  if (/[^A-Za-z0-9._-]/.test(value)) return null
  let hostname: string
  try {
    hostname = new URL(`http://${value}/`).hostname
  } catch {
    return null
  }
  if (isIP(hostname) === 4) return hostname
  const labels = hostname.replace(/\.$/, '').split('.')
  return labels.every((label) => DNS_LABEL.test(label)) ? hostname : null
}

function parseInteger (value: unknown, min: number, max: number, allowString: boolean): number | null {
  const number = typeof value === 'number'
    ? value
    : allowString && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN
  return Number.isSafeInteger(number) && number >= min && number <= max ? number : null
}

/** rate_burst: 1..rate_limit, default 1, only beside a rate_limit (null counts as absent). */
function parseRateBurst (raw: Record<string, unknown>, rateLimit: number | null, problems: string[]): number | null {
  const isGiven = raw.rate_burst !== undefined && raw.rate_burst !== null
  if (rateLimit === null) {
    if (isGiven) problems.push('"rate_burst" needs a "rate_limit"')
    return null
  }
  if (!isGiven) return 1
  return optionalInteger(raw, 'rate_burst', 1, Math.max(1, rateLimit), 1, problems)
}

function optionalInteger (
  raw: Record<string, unknown>, field: string, min: number, max: number, fallback: number, problems: string[]
): number {
  const value = raw[field]
  if (value === undefined) return fallback
  const parsed = parseInteger(value, min, max, false)
  if (parsed === null) {
    problems.push(`"${field}" must be an integer from ${min} to ${max}`)
    return fallback
  }
  return parsed
}

function parseCallbackUrl (value: unknown, problems: string[]): string | null {
  if (value === undefined || value === null) return null
  if (typeof value === 'string') {
    try {
      const url = new URL(value)
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '') return url.href
    } catch {}
  }
  problems.push('"callback_url" must be an http(s) URL')
  return null
}
