/**
 * Transform: bytes of a spool file → arrays of its lines, one array per chunk read.
 *
 * Why not split2 here: split2 pushes every line through the stream machinery on its own,
 * and each later stage then pays a push, a buffered write and a callback per line; one
 * array per 256 KiB read moves ~2,000 lines per hop instead, so fewer objects wait in
 * stream buffers. A speed-up from it was not shown: the A/B was within the noise
 * (docs/performance.md, "Why the hot path looks the way it does"). Issue 15 puts split2 back where the contract draws it.
 *
 * A spool is our own normalised file: UTF-8, every line ends in "\n", no "\r" (see
 * line-validator.ts). Splitting on the byte 0x0A is safe in UTF-8 (it never occurs inside a
 * multi-byte character), so each chunk up to its last newline decodes as whole characters
 * and the tail waits for the next chunk. Like split2's maxLength, an unterminated tail
 * longer than `maxLineBytes` is a stream error: it can only mean a corrupt file.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { LineTooLongError } from '../errors.js'

const NEWLINE = 0x0a

export class LineBatcher extends Transform {
  readonly #maxLineBytes: number
  /** Bytes after the last newline seen: the start of a line that continues in the next chunk. */
  #tail: Buffer = Buffer.alloc(0)

  constructor (maxLineBytes: number) {
    // Two arrays buffered ahead (~4,000 lines) keep the sender fed without holding more.
    super({ readableObjectMode: true, readableHighWaterMark: 2 })
    this.#maxLineBytes = maxLineBytes
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = this.#tail.length === 0 ? chunk : Buffer.concat([this.#tail, chunk])
    const end = bytes.lastIndexOf(NEWLINE)
    this.#tail = end < 0 ? bytes : bytes.subarray(end + 1)
    if (this.#tail.length > this.#maxLineBytes) {
      return callback(new LineTooLongError(`a spool line is longer than ${this.#maxLineBytes} bytes`))
    }
    // Copy the tail off the chunk: a subarray would keep the whole chunk alive with it.
    if (end >= 0 && this.#tail.length > 0) this.#tail = Buffer.from(this.#tail)
    if (end < 0) return callback()
    callback(null, bytes.toString('utf8', 0, end).split('\n'))
  }

  override _flush (callback: TransformCallback): void {
    // A final line without its newline (a spool is never written so, but read it whole).
    callback(null, this.#tail.length === 0 ? undefined : [this.#tail.toString('utf8')])
  }
}
