/**
 * At the end of a job with failures: copies the failed records out of its spool file into
 * `<jobId>.failed.ndjson`, itself a complete spool (line 1 the JobSpec, then the failed
 * records), so POST /jobs/:id/retry-failed can start a new job from it without the original
 * upload, and GET /jobs/:id/failed-records can hand it back as an upload to fix. It lives until the job's results expire (swept by sweepExpiredFailedFiles).
 *
 *   spool file → split2 → line batcher → keep line 1 and lines whose failed bit is set → spool writer
 */
import { pipeline } from 'node:stream/promises'
import { Transform, type TransformCallback } from 'node:stream'
import { readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { openSpoolLines } from './spool-reader.js'
import { BitWindow, type BitsReader } from './bit-window.js'
import { createSpoolWriter } from './spool-writer.js'

const FAILED_SUFFIX = '.failed.ndjson'

export function failedFilePath (spoolDir: string, jobId: string): string {
  return join(spoolDir, `${jobId}${FAILED_SUFFIX}`)
}

export async function extractFailed (
  spoolPath: string, spoolDir: string, jobId: string, maxLineBytes: number, readFailedBits: BitsReader
): Promise<string> {
  const { file, split, lines } = openSpoolLines(spoolPath, maxLineBytes)
  const failed = new BitWindow(readFailedBits)
  let lineNumber = 0
  const keepFailed = new Transform({
    writableObjectMode: true,
    readableHighWaterMark: 256 * 1024,
    transform (lines: string[], _encoding, callback: TransformCallback) {
      keptLines(lines).then((kept) => callback(null, kept === '' ? undefined : kept), callback)
    }
  })
  /** The lines to keep, each with its newline; awaits a bitmap read only past a window's end. */
  async function keptLines (lines: string[]): Promise<string> {
    let kept = ''
    for (const line of lines) {
      const index = lineNumber++ - 1
      if (index >= 0 && !failed.covers(index)) await failed.load(index)
      if (index < 0 || failed.isSet(index)) kept += `${line}\n`
    }
    return kept
  }
  // Written under the `.failed` name through the spool writer: fsynced, renamed when whole.
  const writer = createSpoolWriter(spoolDir, `${jobId}.failed`)
  try {
    await pipeline(file, split, lines, keepFailed, writer)
  } catch (err) {
    await writer.discard()
    throw err
  }
  return writer.path
}

/** Removes failed-record files whose job no longer exists (its keys expired). */
export async function sweepExpiredFailedFiles (spoolDir: string, jobExists: (jobId: string) => Promise<boolean>): Promise<number> {
  let removed = 0
  for (const name of await readdir(spoolDir)) {
    if (!name.endsWith(FAILED_SUFFIX)) continue
    const jobId = name.slice(0, -FAILED_SUFFIX.length)
    if (await jobExists(jobId)) continue
    await unlink(join(spoolDir, name)).catch(() => {})
    removed++
  }
  return removed
}
