/**
 * A job's spool file as a stream of line arrays (DESIGN §6): fs read stream → split2 →
 * LineBatcher. Line 1 is the resolved JobSpec; line N+1 is record N (see line-validator.ts).
 * Join the three in this order: pipeline(file, split, lines, …).
 */
import { createReadStream, type ReadStream } from 'node:fs'
import type { Transform, TransformCallback } from 'node:stream'
import split2 from 'split2'
import { LineTooLongError } from '../errors.js'
import { LineBatcher } from './line-batcher.js'

/** Disk reads of 256 KiB keep syscalls per record negligible without holding much memory. */
const READ_CHUNK_BYTES = 256 * 1024

export interface SpoolLines {
  readonly file: ReadStream
  /** split2 on "\n": one string per line. */
  readonly split: Transform
  /** Emits `string[]`: the lines of one event-loop turn, in file order. */
  readonly lines: LineBatcher
}

export function openSpoolLines (spoolPath: string, maxLineBytes: number): SpoolLines {
  return {
    file: createReadStream(spoolPath, { highWaterMark: READ_CHUNK_BYTES }),
    // The spool was validated on upload, so a longer line means the file is corrupt: the
    // cap turns that into a stream error instead of unbounded buffering.
    split: splitSpoolLines(maxLineBytes + 2),
    lines: new LineBatcher()
  }
}

/**
 * split2 on "\n" (a spool has no "\r"; a string matcher splits faster than split2's
 * default /\r?\n/), whose overflow error ("maximum buffer reached") becomes line_too_long,
 * the code job-ending.ts reports as a corrupt spool. maxLength counts UTF-16 units.
 */
export function splitSpoolLines (maxLength: number): Transform {
  const split = split2('\n', { maxLength })
  const transform = split._transform.bind(split)
  split._transform = (chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback) => {
    transform(chunk, encoding, (err?: Error | null, data?: unknown) => {
      if (err != null) return callback(new LineTooLongError(`a spool line is longer than ${maxLength} characters`))
      callback(null, data)
    })
  }
  return split
}
