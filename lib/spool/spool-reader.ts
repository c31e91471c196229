/**
 * A job's spool file as a stream of line arrays: fs read stream → LineBatcher.
 * Line 1 is the resolved JobSpec; line N+1 is record N (see line-validator.ts).
 */
import { createReadStream, type ReadStream } from 'node:fs'
import { LineBatcher } from './line-batcher.js'

/** Disk reads of 256 KiB keep syscalls per record negligible without holding much memory. */
const READ_CHUNK_BYTES = 256 * 1024

export interface SpoolLines {
  readonly file: ReadStream
  /** Emits `string[]`: the lines completed by each chunk read, in file order. */
  readonly lines: LineBatcher
}

export function openSpoolLines (spoolPath: string, maxLineBytes: number): SpoolLines {
  return {
    file: createReadStream(spoolPath, { highWaterMark: READ_CHUNK_BYTES }),
    // The spool was validated on upload, so a longer line means the file is corrupt: the
    // cap turns that into a stream error instead of unbounded buffering.
    lines: new LineBatcher(maxLineBytes + 2)
  }
}
