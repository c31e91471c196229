/**
 * A job's receipt: `<jobId>.receipt.json` beside its spool file, written (and fsynced) after
 * the job is registered in Redis and before its 202 goes out. It holds what the registration
 * held, so a job survives Redis losing its data (issue 18 item 3):
 *
 *   - a receipt means the job may have been acknowledged: if Redis no longer knows the job,
 *     it is registered again from the receipt and runs, unless it had started (then some of
 *     it was sent and its counts are gone: it ends `failed` with `state_lost`);
 *   - a spool file without a receipt and without a job was never acknowledged (the process
 *     died between the spool's rename and the 202): it is removed, never run.
 *
 * `startedAt` is added when the job first starts. The receipt goes with the spool file at the
 * job's end.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { NewJob } from '../store/job-store.js'

export const RECEIPT_SUFFIX = '.receipt.json'

export interface JobReceipt extends NewJob {
  /** When the job first started sending; absent while it has only been queued. */
  readonly startedAt?: string
}

export function receiptPath (spoolDir: string, jobId: string): string {
  return join(spoolDir, `${jobId}${RECEIPT_SUFFIX}`)
}

/** Writes the receipt durably: temporary file, fsync, rename, fsync of the directory. */
export async function writeReceipt (spoolDir: string, receipt: JobReceipt): Promise<void> {
  const path = receiptPath(spoolDir, receipt.jobId)
  const temporary = `${path}.tmp`
  const file = await open(temporary, 'w')
  try {
    await file.writeFile(JSON.stringify(receipt))
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(temporary, path)
  const dir = await open(spoolDir, 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** The receipt, or null when there is none (or it cannot be read as one). */
export async function readReceipt (spoolDir: string, jobId: string): Promise<JobReceipt | null> {
  let text: string
  try {
    text = await readFile(receiptPath(spoolDir, jobId), 'utf8')
  } catch {
    return null
  }
  try {
    const receipt = JSON.parse(text) as Partial<JobReceipt>
    return typeof receipt.jobId === 'string' && receipt.jobId === jobId ? receipt as JobReceipt : null
  } catch {
    return null
  }
}

/** Records the job's first start; a no-op when the receipt is gone. */
export async function markReceiptStarted (spoolDir: string, jobId: string, startedAt: string): Promise<void> {
  const receipt = await readReceipt(spoolDir, jobId)
  if (receipt === null || receipt.startedAt !== undefined) return
  await writeReceipt(spoolDir, { ...receipt, startedAt })
}

export async function removeReceipt (spoolDir: string, jobId: string): Promise<void> {
  await unlink(receiptPath(spoolDir, jobId)).catch(() => {})
}
