/**
 * Transform: upload bytes in, text out (object mode: one string per chunk), for the JSON
 * parser. stream-json decodes with StringDecoder, which replaces bad bytes with U+FFFD;
 * DESIGN §1 says text that is not valid UTF-8 is refused, never silently replaced, so the
 * bytes are decoded here with a fatal TextDecoder (a UTF-8 BOM at the start is dropped).
 * It also counts decompressed bytes against CHRONOS_MAX_UPLOAD_BYTES.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { InvalidRequestError, PayloadTooLargeError } from '../errors.js'

const NOT_WHITESPACE = /[^ \t\r\n]/

export class Utf8Text extends Transform {
  readonly #maxBytes: number
  readonly #decoder = new TextDecoder('utf-8', { fatal: true })
  #bytes = 0
  #hasContent = false

  constructor (maxBytes: number) {
    super({ readableObjectMode: true, writableHighWaterMark: 256 * 1024, readableHighWaterMark: 4 })
    this.#maxBytes = maxBytes
  }

  /** Decompressed bytes received so far. */
  get bytes (): number {
    return this.#bytes
  }

  /** Whether anything but JSON whitespace arrived (an all-blank body is an empty job). */
  get hasContent (): boolean {
    return this.#hasContent
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length
    if (this.#bytes > this.#maxBytes) return callback(new PayloadTooLargeError(`the upload is larger than ${this.#maxBytes} bytes`))
    this.#decode(chunk, true, callback)
  }

  override _flush (callback: TransformCallback): void {
    this.#decode(undefined, false, callback)
  }

  #decode (chunk: Buffer | undefined, isStreaming: boolean, callback: TransformCallback): void {
    let text: string
    try {
      text = this.#decoder.decode(chunk, { stream: isStreaming })
    } catch (err) {
      return callback(new InvalidRequestError('the body is not valid UTF-8', { cause: err }))
    }
    if (!this.#hasContent && NOT_WHITESPACE.test(text)) this.#hasContent = true
    callback(null, text === '' ? undefined : text)
  }
}
