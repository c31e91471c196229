/**
 * Writable to a job's spool file. Bytes go to `<jobId>.ndjson.partial`; only `final` (after
 * every byte arrived) fsyncs, renames it to `<jobId>.ndjson` and fsyncs the directory, so a
 * spool file that exists under its final name is complete and durable. Destroyed before
 * that (any upstream error or abort), it removes the partial file.
 */
import { Writable } from 'node:stream'
import { open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { InsufficientStorageError, errorCode } from '../errors.js'

export const PARTIAL_SUFFIX = '.ndjson.partial'

export function spoolPathFor (spoolDir: string, jobId: string): string {
  return join(spoolDir, `${jobId}.ndjson`)
}

export function createSpoolWriter (spoolDir: string, jobId: string): SpoolWriter {
  return new SpoolWriter(spoolDir, jobId)
}

export class SpoolWriter extends Writable {
  readonly path: string
  readonly #spoolDir: string
  readonly #partialPath: string
  #file: FileHandle | null = null
  #isCommitted = false
  #head: Buffer | null = null

  constructor (spoolDir: string, jobId: string) {
    super({ highWaterMark: 1024 * 1024 })
    this.#spoolDir = spoolDir
    this.path = spoolPathFor(spoolDir, jobId)
    this.#partialPath = join(spoolDir, `${jobId}${PARTIAL_SUFFIX}`)
  }

  /**
   * Removes the spool file whatever state the writer is in; resolves once it is gone.
   * pipeline() can reject before a destroyed stage has finished its async cleanup, so
   * accept-upload waits on this before answering.
   */
  async discard (): Promise<void> {
    if (!this.closed) {
      const closed = new Promise<void>((resolve) => this.once('close', () => resolve()))
      this.destroy()
      await closed
    }
    await unlink(this.#partialPath).catch(() => {})
    await unlink(this.path).catch(() => {})
  }

  /**
   * Bytes to write at offset 0 on commit, over a placeholder written earlier (a JSON upload
   * whose config came after its records). Set before end().
   */
  setHead (head: Buffer): void {
    this.#head = head
  }

  override _construct (callback: (err?: Error | null) => void): void {
    open(this.#partialPath, 'wx').then((file) => {
      this.#file = file
      callback()
    }, (err: unknown) => callback(wrapFsError(err)))
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    this.#writeAll(chunks.map(({ chunk }) => chunk)).then(() => callback(), (err: unknown) => callback(wrapFsError(err)))
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.#commit().then(() => callback(), (err: unknown) => callback(wrapFsError(err)))
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    const file = this.#file
    this.#file = null
    const cleanup = async (): Promise<void> => {
      await file?.close().catch(() => {})
      if (!this.#isCommitted) await unlink(this.#partialPath).catch(() => {})
    }
    cleanup().then(() => callback(err), () => callback(err))
  }

  async #writeAll (buffers: Buffer[]): Promise<void> {
    const file = this.#file
    if (file === null) throw new Error('spool file is closed')
    let pending = buffers
    while (pending.length > 0) {
      // writev may write fewer bytes than asked (a nearly full disk): carry on from there.
      let { bytesWritten } = await file.writev(pending)
      while (pending.length > 0 && bytesWritten >= (pending[0] as Buffer).length) {
        bytesWritten -= (pending[0] as Buffer).length
        pending = pending.slice(1)
      }
      if (bytesWritten > 0 && pending.length > 0) pending = [(pending[0] as Buffer).subarray(bytesWritten), ...pending.slice(1)]
    }
  }

  async #commit (): Promise<void> {
    const file = this.#file
    if (file === null) throw new Error('spool file is closed')
    if (this.#head !== null) await file.write(this.#head, 0, this.#head.length, 0)
    await file.sync()
    await file.close()
    this.#file = null
    await rename(this.#partialPath, this.path)
    this.#isCommitted = true
    const dir = await open(this.#spoolDir, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  }
}

export function wrapFsError (err: unknown): Error {
  const code = errorCode(err)
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new InsufficientStorageError('the spool disk is full; try again later', { cause: err })
  }
  return err instanceof Error ? err : new Error(String(err))
}
