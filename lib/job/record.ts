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

export function recordFromValue (value: unknown, index: number): JobRecord | RecordReason {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not_an_object'
  const { id, payload } = value as { id?: unknown, payload?: unknown }
  let idText: string
  if (typeof id === 'string') idText = id
  else if (typeof id === 'number' && Number.isSafeInteger(id)) idText = String(id)
  else return 'invalid_id'
  let body: string
  if (typeof payload === 'string') body = payload
  else if (typeof payload === 'object' && payload !== null) body = JSON.stringify(payload)
  else return 'invalid_payload'
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
