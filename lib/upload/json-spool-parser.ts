/**
 * Transform: JSON text in, spool bytes out. stream-json's parser, with each token it emits
 * handed straight to a JsonAssembler instead of pushed into an object-mode stream: one
 * stream hop per token (~20 per small record, one per escape in a string) made the first
 * version ingest 3.9 MB/s; a function call per token is what the tokens cost now.
 *
 * Input is UTF-8 bytes that Utf8Text has already checked. Each chunk is decoded and parsed
 * SLICE_BYTES at a time, the spool bytes of each slice pushed as they are made: the text and
 * the lines in hand stay a few KiB, not a whole 64 KiB chunk. What is in hand when a
 * scavenge runs survives it, and what survives two is promoted into old space; a JSON upload
 * runs ~45 scavenges per NDJSON one, so whole chunks kept in hand filled old space with
 * garbage and raised the peak RSS (docs/performance.md, "JSON ingest").
 *
 * It leans on stream-json 1.x's Parser internals, pinned by package.json (^1): the parser
 * parses what is in this._buffer when this._processBuffer() is called (synchronously, the
 * unparsed rest left in this._buffer) and calls this.push() for every token. _transform
 * (stream-json's decodes the chunk whole), push and _processBuffer (called at the end) are
 * overridden here.
 */
import Parser from 'stream-json/Parser.js'
import type { Transform, TransformCallback } from 'node:stream'
import type { JsonToken } from './json-value-builder.js'
import type { JsonAssembler } from './json-assembler.js'

type Callback = (err?: Error | null) => void

interface ParserInternals extends Transform {
  _buffer: string
  _processBuffer (callback: Callback): void
}

/** Bytes of input decoded and parsed at a time (see the header). */
export const SLICE_BYTES = 8 * 1024

const ParserBase = Parser as unknown as new (options: Parser.ParserOptions) => ParserInternals

export class JsonSpoolParser extends ParserBase {
  readonly #assembler: JsonAssembler
  /** Not fatal: Utf8Text refused any invalid byte before it got here. */
  readonly #decoder = new TextDecoder('utf-8')

  constructor (assembler: JsonAssembler) {
    // Chunks only (no packed values): no string, key or number is held whole by the parser,
    // so the assembler's per-record limit bounds memory.
    super({ packValues: false, readableHighWaterMark: 4 })
    this.#assembler = assembler
  }

  override push (chunk: unknown): boolean {
    if (chunk === null || Buffer.isBuffer(chunk)) return super.push(chunk)
    this.#assembler.take(chunk as JsonToken)
    return true
  }

  /**
   * One input chunk, a slice at a time; its answer as the whole chunk's was parsed at once:
   * a parse error anywhere in it first, then the assembler's error, then the config's check.
   */
  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let parseError: Error | null = null
    for (let start = 0; start < chunk.length && parseError === null; start += SLICE_BYTES) {
      this._buffer += this.#decoder.decode(chunk.subarray(start, start + SLICE_BYTES), { stream: true })
      super._processBuffer((err) => { parseError = err ?? null })
      this.#pushOutput()
    }
    this.#afterInput(parseError, callback)
  }

  /** Called by stream-json at the end of the input (its _flush). */
  override _processBuffer (callback: Callback): void {
    super._processBuffer((err) => {
      if (err == null) this.#pushOutput()
      this.#afterInput(err ?? null, callback)
    })
  }

  override _flush (callback: TransformCallback): void {
    this._buffer += this.#decoder.decode()
    super._flush((err?: Error | null) => {
      if (err != null) return callback(err)
      const error = this.#assembler.finish()
      if (error !== null) return callback(error)
      this.#pushOutput()
      const check = this.#assembler.takeCheck()
      if (check === null) return callback()
      check.then(() => callback(), callback)
    })
  }

  #pushOutput (): void {
    const out = this.#assembler.takeOutput()
    if (out !== '') this.push(Buffer.from(out))
  }

  #afterInput (parseError: Error | null, callback: Callback): void {
    if (parseError !== null) return callback(parseError)
    const error = this.#assembler.error
    if (error !== null) return callback(error)
    const check = this.#assembler.takeCheck()
    if (check === null) return callback()
    check.then(() => callback(), callback)
  }
}
