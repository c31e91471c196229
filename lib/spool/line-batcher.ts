/**
 * Transform: lines (strings, from split2) in, arrays of lines out: every line gathered in
 * one turn of the event loop, at most MAX_LINES an array. split2 sits where DESIGN §6
 * draws it (spool file → split2 → record stage, issue 15); this stage keeps what the arrays
 * bought: the later stages pay one push, buffered write and callback per ~2,000 lines, not
 * per line, so few objects wait in stream buffers (docs/performance.md, "What bounds peak
 * RSS"). Records are still parsed late, one by one as the sender starts them.
 *
 * Backpressure: an array pushed at MAX_LINES goes out through the write callback (Transform
 * holds it while the readable side is full); while a partial array waits for its turn to
 * end, the write callback is held here once the readable side is full, released by _read.
 */
import { Transform, type TransformCallback } from 'node:stream'

/** Lines per array at most: about one 256 KiB spool read of ~130-byte records. */
export const MAX_LINES = 2048

export class LineBatcher extends Transform {
  readonly #maxLines: number
  #lines: string[] = []
  #turnEnd: NodeJS.Immediate | null = null
  #held: TransformCallback | null = null

  constructor (maxLines = MAX_LINES) {
    // Two arrays buffered ahead (~4,000 lines) keep the sender fed without holding more.
    super({ objectMode: true, readableHighWaterMark: 2, writableHighWaterMark: 1024 })
    this.#maxLines = maxLines
  }

  override _transform (line: string, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#lines.push(line)
    if (this.#lines.length >= this.#maxLines) return callback(null, this.#take())
    this.#turnEnd ??= setImmediate(() => {
      this.#turnEnd = null
      if (this.#lines.length > 0) this.push(this.#take())
    })
    if (this.readableLength >= this.readableHighWaterMark) this.#held = callback
    else callback()
  }

  override _read (size: number): void {
    const held = this.#held
    this.#held = null
    held?.()
    super._read(size)
  }

  override _flush (callback: TransformCallback): void {
    callback(null, this.#lines.length > 0 ? this.#take() : undefined)
  }

  override _destroy (err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#turnEnd !== null) clearImmediate(this.#turnEnd)
    this.#turnEnd = null
    callback(err)
  }

  #take (): string[] {
    const lines = this.#lines
    this.#lines = []
    if (this.#turnEnd !== null) clearImmediate(this.#turnEnd)
    this.#turnEnd = null
    return lines
  }
}
