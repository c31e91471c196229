/**
 * One record line: `{"id": string | integer, "payload": string | object | array}`.
 * A string payload is sent verbatim; an object or array as its compact JSON text.
 * Returns a reason string instead of throwing, so one bad line never kills a stream.
 */
export interface JobRecord {
  /** 0-based position among the upload's records. */
  readonly index: number
  /** The id as JSON text: `12` or `"abc"`. */
  readonly idJson: string
  /** The id as sent in headers: as it is when header-safe, else percent-encoded. */
  readonly id: string
  readonly payload: string
}

export type RecordReason = 'not_json' | 'not_an_object' | 'invalid_id' | 'invalid_payload'

export const RECORD_REASON_TEXT: Readonly<Record<RecordReason, string>> = {
  not_json: 'not valid JSON',
  not_an_object: 'not a JSON object',
  invalid_id: '"id" must be a string or an integer',
  invalid_payload: '"payload" must be a string, an object or an array'
}

export function parseRecord (line: string, index: number): JobRecord | RecordReason {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return 'not_json'
  }
  return recordFromValue(value, index)
}

/** Why a parsed line is no valid record, or null: the upload check, which builds nothing. */
export function recordProblem (value: unknown): RecordReason | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not_an_object'
  const { id, payload } = value as { id?: unknown, payload?: unknown }
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) return 'invalid_id'
  if (typeof payload !== 'string' && (typeof payload !== 'object' || payload === null)) return 'invalid_payload'
  return null
}

export function recordFromValue (value: unknown, index: number): JobRecord | RecordReason {
  const problem = recordProblem(value)
  if (problem !== null) return problem
  const { id, payload } = value as { id: string | number, payload: string | object }
  const idText = typeof id === 'string' ? id : String(id)
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  return { index, id: headerSafeId(idText), idJson: typeof id === 'string' ? JSON.stringify(id) : idText, payload: body }
}

const HEADER_SAFE = /^[\x21-\x7e]*$/

/**
 * Ids travel in x-chronos-record-id and idempotency-key headers, which carry only visible
 * ASCII reliably; any other id is percent-encoded (encodeURIComponent) so it still arrives.
 */
export function headerSafeId (id: string): string {
  return HEADER_SAFE.test(id) ? id : encodeURIComponent(id)
}
