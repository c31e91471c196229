/**
 * Transform: spool lines → records for the sender. Skips line 1 (the JobSpec) and, on a
 * resumed job, every record whose outcome is already counted, reading the done bitmap a
 * window at a time so memory stays flat however large the job.
 *
 * A line that fails the (defensive) re-check becomes an InvalidLine, which the sender turns
 * into a failed outcome: a bad record is data, not a stream error.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { parseRecord, type JobRecord, type RecordReason } from '../job/record.js'

export interface InvalidLine {
  readonly index: number
  readonly invalid: RecordReason
}

export type ParsedLine = JobRecord | InvalidLine

/** Reads `byteCount` bytes of the done bitmap from the byte holding bit `firstIndex`. */
export type DoneBitsReader = (firstIndex: number, byteCount: number) => Promise<Buffer>

export interface RecordParserOptions {
  /** Given when resuming: records whose bit is set are skipped. */
  readonly readDoneBits?: DoneBitsReader
  readonly highWaterMark?: number
}

/** 8 KiB of bitmap covers 65,536 records per Redis read. */
const DONE_WINDOW_BYTES = 8192

export function createRecordParser (options: RecordParserOptions = {}): RecordParser {
  return new RecordParser(options)
}

export class RecordParser extends Transform {
  readonly #readDoneBits: DoneBitsReader | undefined
  #lineNumber = 0
  #skipped = 0
  #window: Buffer = Buffer.alloc(0)
  #windowStart = 0
  #windowEnd = 0

  constructor (options: RecordParserOptions) {
    super({ writableObjectMode: true, readableObjectMode: true, highWaterMark: options.highWaterMark ?? 256 })
    this.#readDoneBits = options.readDoneBits
  }

  /** Records skipped because their outcome was already counted. */
  get skipped (): number {
    return this.#skipped
  }

  override _transform (line: string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const lineNumber = this.#lineNumber++
    if (lineNumber === 0) return callback()
    const index = lineNumber - 1
    if (this.#readDoneBits === undefined || index < this.#windowEnd) return this.#emit(line, index, callback)
    const start = index - (index % 8)
    this.#readDoneBits(start, DONE_WINDOW_BYTES).then((bits) => {
      this.#window = bits
      this.#windowStart = start
      this.#windowEnd = start + DONE_WINDOW_BYTES * 8
      this.#emit(line, index, callback)
    }, callback)
  }

  #emit (line: string, index: number, callback: TransformCallback): void {
    if (this.#isDone(index)) {
      this.#skipped++
      return callback()
    }
    const record = parseRecord(line, index)
    callback(null, typeof record === 'string' ? { index, invalid: record } : record)
  }

  #isDone (index: number): boolean {
    if (this.#readDoneBits === undefined) return false
    const offset = index - this.#windowStart
    const byte = this.#window[offset >> 3]
    // Redis bitmaps number bits from the most significant bit of each byte.
    return byte !== undefined && (byte & (0x80 >> (offset & 7))) !== 0
  }
}
