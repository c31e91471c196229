/**
 * Transform: arrays of spool lines → RecordBatch. Numbers the lines (line 1, the JobSpec,
 * is dropped; line N+1 is record N) and, on a resumed job, blanks out every record whose
 * outcome is already counted, reading the done bitmap a window at a time so memory stays
 * flat however large the job.
 *
 * Records are parsed later, one at a time as the sender starts each (RecordBatch.recordAt):
 * a parsed record then lives only while its request is in flight and dies young, instead
 * of waiting in a stream buffer long enough for the garbage collector to promote it (old
 * generation growth drove peak RSS: docs/performance.md, "What bounds peak RSS").
 */
import { Transform, type TransformCallback } from 'node:stream'
import { parseRecord, type JobRecord, type RecordReason } from '../domain/record.js'
import { BitWindow, type BitsReader } from '../spool/bit-window.js'

export interface InvalidLine {
  readonly index: number
  /** Why the line is no record; 'unsendable' when building its request threw. */
  readonly invalid: RecordReason | 'unsendable'
}

export type ParsedLine = JobRecord | InvalidLine

/** Consecutive records of a spool; a null line is a record skipped (already counted). */
export class RecordBatch {
  readonly firstIndex: number
  readonly lines: ReadonlyArray<string | null>

  constructor (firstIndex: number, lines: ReadonlyArray<string | null>) {
    this.firstIndex = firstIndex
    this.lines = lines
  }

  get length (): number {
    return this.lines.length
  }

  /**
   * The record at `position`, parsed now, or null when it was skipped. A line that fails
   * the (defensive) re-check is an InvalidLine: a bad record is data, not a stream error.
   */
  recordAt (position: number): ParsedLine | null {
    const line = this.lines[position]
    if (line === null || line === undefined) return null
    const index = this.firstIndex + position
    let record: JobRecord | InvalidLine['invalid']
    try {
      record = parseRecord(line, index)
    } catch {
      // Whatever the upload let through, building a record must not throw out of the sender
      // (it would kill the process): a payload too deep for JSON.stringify, an id that cannot
      // be encoded. Such a record fails on its own, the job goes on (issue 18, item 1).
      record = 'unsendable'
    }
    return typeof record === 'string' ? { index, invalid: record } : record
  }
}

export interface RecordBatcherOptions {
  /** Given when resuming: records whose bit is set in the done bitmap are skipped. */
  readonly readDoneBits?: BitsReader
}

export function createRecordBatcher (options: RecordBatcherOptions = {}): RecordBatcher {
  return new RecordBatcher(options)
}

export class RecordBatcher extends Transform {
  readonly #done: BitWindow | null
  /** 0-based number of the next spool line. */
  #lineNumber = 0
  #skipped = 0

  constructor (options: RecordBatcherOptions) {
    super({ objectMode: true, highWaterMark: 2 })
    this.#done = options.readDoneBits === undefined ? null : new BitWindow(options.readDoneBits)
  }

  /** Records skipped because their outcome was already counted. */
  get skipped (): number {
    return this.#skipped
  }

  override _transform (lines: Array<string | null>, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#lineNumber === 0 && lines.length > 0) {
      lines.shift()
      this.#lineNumber = 1
    }
    const firstIndex = this.#lineNumber - 1
    this.#lineNumber += lines.length
    if (lines.length === 0) return callback()
    if (this.#done === null) return callback(null, new RecordBatch(firstIndex, lines))
    this.#skipDone(this.#done, lines, firstIndex).then(() => {
      callback(null, lines.some((line) => line !== null) ? new RecordBatch(firstIndex, lines) : undefined)
    }, callback)
  }

  async #skipDone (done: BitWindow, lines: Array<string | null>, firstIndex: number): Promise<void> {
    for (let i = 0; i < lines.length; i++) {
      const index = firstIndex + i
      if (!done.covers(index)) await done.load(index)
      if (done.isSet(index)) {
        lines[i] = null
        this.#skipped++
      }
    }
  }
}
