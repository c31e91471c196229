/**
 * Transform: upload bytes in, the same bytes out once they are known to be UTF-8, for the
 * JSON parser. stream-json decodes with StringDecoder, which replaces bad bytes with U+FFFD;
 * DESIGN §1 says text that is not valid UTF-8 is refused, never silently replaced, so each
 * chunk is decoded here with a fatal TextDecoder before the parser sees any of it (a UTF-8
 * BOM at the start is dropped, by the parser's decoder too). The text is only checked and
 * dropped: JsonSpoolParser decodes the bytes again a slice at a time, so no whole chunk of
 * text is kept in hand (see its header). It also counts decompressed bytes against
 * CHRONOS_MAX_UPLOAD_BYTES.
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
    super({ writableHighWaterMark: 256 * 1024 })
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
    const error = this.#check(chunk, true)
    if (error !== null) return callback(error)
    callback(null, chunk)
  }

  override _flush (callback: TransformCallback): void {
    callback(this.#check(undefined, false))
  }

  /** The chunk's problem, or null; the text goes out of scope here, before the chunk is passed on. */
  #check (chunk: Buffer | undefined, isStreaming: boolean): InvalidRequestError | null {
    let text: string
    try {
      text = this.#decoder.decode(chunk, { stream: isStreaming })
    } catch (err) {
      return new InvalidRequestError('the body is not valid UTF-8', { cause: err })
    }
    if (!this.#hasContent && NOT_WHITESPACE.test(text)) this.#hasContent = true
    return null
  }
}
