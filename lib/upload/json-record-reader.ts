/**
 * Reads one element of a JSON upload's `records` from its tokens: builds only `id` and
 * `payload` (other members are skipped unbuilt, as the sender ignores them; the last of
 * a repeated member wins, as with JSON.parse), checks it with recordProblem() like an NDJSON
 * line, and gives its spool line, compact `{"id":…,"payload":…}`. It counts the element
 * as it streams (decoded characters, every token at least 1, skipped members included)
 * and stops at maxLineBytes, so no record is held whole past the limit.
 */
import { MAX_PAYLOAD_DEPTH, recordProblem, type RecordReason } from '../domain/record.js'
import { ValueBuilder, type JsonToken } from './json-value-builder.js'

/** A complete element: its spool line (no newline), or why it is no record. */
export type ElementResult = { readonly line: string } | { readonly problem: RecordReason }

/** The element is over the per-record limit. */
export const TOO_LARGE = 'too_large'

type Place = 'members' | 'member-value' | 'not-an-object'

export class RecordReader {
  readonly #maxBytes: number
  #place: Place = 'members'
  #builder: ValueBuilder | null = null
  #member = ''
  #id: unknown = undefined
  #payload: unknown = undefined
  #isPayloadTooDeep = false
  #chars = 0

  constructor (maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** The first token of an element; a result when the element is already complete (a scalar). */
  start (token: JsonToken): ElementResult | typeof TOO_LARGE | null {
    this.#chars = 0
    this.#id = undefined
    this.#payload = undefined
    this.#isPayloadTooDeep = false
    if (token.name === 'startObject') {
      this.#place = 'members'
      return this.#count(token) ? TOO_LARGE : null
    }
    this.#place = 'not-an-object'
    this.#builder = new ValueBuilder({ maxDepth: 0, skip: true })
    return this.feed(token)
  }

  /** The element's next token; a result once the element is complete. */
  feed (token: JsonToken): ElementResult | typeof TOO_LARGE | null {
    if (this.#count(token)) return TOO_LARGE
    switch (this.#place) {
      case 'not-an-object':
        return (this.#builder as ValueBuilder).feed(token) ? { problem: 'not_an_object' } : null
      case 'member-value':
        this.#takeMemberValue(token)
        return null
      case 'members':
        if (token.name === 'endObject') return this.#result()
        if (token.name === 'startKey') this.#member = ''
        else if (token.name === 'stringChunk') this.#member += token.value as string
        else if (token.name === 'endKey') {
          const isKept = this.#member === 'id' || this.#member === 'payload'
          // An id is a string or an integer: an object or array there is refused unbuilt.
          this.#builder = new ValueBuilder({ maxDepth: this.#member === 'id' ? 0 : MAX_PAYLOAD_DEPTH, skip: !isKept })
          this.#place = 'member-value'
        }
        return null
    }
  }

  #takeMemberValue (token: JsonToken): void {
    const builder = this.#builder as ValueBuilder
    if (!builder.feed(token)) return
    if (this.#member === 'id') {
      this.#id = builder.value
    } else if (this.#member === 'payload') {
      this.#payload = builder.value
      this.#isPayloadTooDeep = builder.isTooDeep
    }
    this.#builder = null
    this.#place = 'members'
  }

  #result (): ElementResult | typeof TOO_LARGE {
    const record = { id: this.#id, payload: this.#payload }
    this.#id = undefined
    this.#payload = undefined
    const problem = this.#isPayloadTooDeep
      ? recordProblem({ id: record.id, payload: '' }) ?? 'payload_too_deep'
      : recordProblem(record)
    if (problem !== null) return { problem }
    const line = JSON.stringify(record)
    // No UTF-16 unit takes more than 3 bytes: only a long line pays for the byte count.
    if (line.length * 3 > this.#maxBytes && Buffer.byteLength(line) > this.#maxBytes) return TOO_LARGE
    return { line }
  }

  /** Counts a token; true once the element is over the limit. */
  #count (token: JsonToken): boolean {
    this.#chars += typeof token.value === 'string' ? token.value.length : 1
    return this.#chars > this.#maxBytes
  }
}
