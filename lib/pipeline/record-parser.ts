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
import { BitWindow, type BitsReader } from './bit-window.js'

export interface InvalidLine {
  readonly index: number
  readonly invalid: RecordReason
}

export type ParsedLine = JobRecord | InvalidLine

export interface RecordParserOptions {
  /** Given when resuming: records whose bit is set in the done bitmap are skipped. */
  readonly readDoneBits?: BitsReader
}

export function createRecordParser (options: RecordParserOptions = {}): RecordParser {
  return new RecordParser(options)
}

export class RecordParser extends Transform {
  readonly #done: BitWindow | null
  #lineNumber = 0
  #skipped = 0

  constructor (options: RecordParserOptions) {
    super({ writableObjectMode: true, readableObjectMode: true, highWaterMark: 256 })
    this.#done = options.readDoneBits === undefined ? null : new BitWindow(options.readDoneBits)
  }

  /** Records skipped because their outcome was already counted. */
  get skipped (): number {
    return this.#skipped
  }

  override _transform (line: string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const lineNumber = this.#lineNumber++
    if (lineNumber === 0) return callback()
    const index = lineNumber - 1
    const done = this.#done
    if (done === null || done.covers(index)) return this.#emit(line, index, callback)
    done.load(index).then(() => this.#emit(line, index, callback), callback)
  }

  #emit (line: string, index: number, callback: TransformCallback): void {
    if (this.#done?.isSet(index) === true) {
      this.#skipped++
      return callback()
    }
    const record = parseRecord(line, index)
    callback(null, typeof record === 'string' ? { index, invalid: record } : record)
  }
}
