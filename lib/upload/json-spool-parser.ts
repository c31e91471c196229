/**
 * Transform: JSON text in, spool bytes out. stream-json's parser, with each token it emits
 * handed straight to a JsonAssembler instead of pushed into an object-mode stream: one
 * stream hop per token (~20 per small record, one per escape in a string) made the first
 * version ingest 3.9 MB/s; a function call per token is what the tokens cost now.
 *
 * It leans on stream-json 1.x's Parser internals, pinned by package.json (^1): the parser
 * calls this.push() for every token and this._processBuffer() for every input chunk and
 * at the end; both are overridden here.
 */
import Parser from 'stream-json/Parser.js'
import type { Transform, TransformCallback } from 'node:stream'
import type { JsonToken } from './json-value-builder.js'
import type { JsonAssembler } from './json-assembler.js'

type Callback = (err?: Error | null) => void

interface ParserInternals extends Transform {
  _processBuffer (callback: Callback): void
}

const ParserBase = Parser as unknown as new (options: Parser.ParserOptions) => ParserInternals

export class JsonSpoolParser extends ParserBase {
  readonly #assembler: JsonAssembler

  constructor (assembler: JsonAssembler) {
    // Chunks only (no packed values): no string, key or number is held whole by the parser,
    // so the assembler's per-record limit bounds memory. Strings in: Utf8Text decoded them.
    super({ packValues: false, decodeStrings: false, readableHighWaterMark: 4 })
    this.#assembler = assembler
  }

  override push (chunk: unknown): boolean {
    if (chunk === null || Buffer.isBuffer(chunk)) return super.push(chunk)
    this.#assembler.take(chunk as JsonToken)
    return true
  }

  override _processBuffer (callback: Callback): void {
    super._processBuffer((err) => {
      if (err != null) return callback(err)
      const error = this.#assembler.error
      if (error !== null) return callback(error)
      const out = this.#assembler.takeOutput()
      if (out !== '') this.push(Buffer.from(out))
      const check = this.#assembler.takeCheck()
      if (check === null) return callback()
      check.then(() => callback(), callback)
    })
  }

  override _flush (callback: TransformCallback): void {
    super._flush((err?: Error | null) => {
      if (err != null) return callback(err)
      const error = this.#assembler.finish()
      if (error !== null) return callback(error)
      const out = this.#assembler.takeOutput()
      if (out !== '') this.push(Buffer.from(out))
      const check = this.#assembler.takeCheck()
      if (check === null) return callback()
      check.then(() => callback(), callback)
    })
  }
}
