/**
 * The sender's place in the RecordBatch it takes new records from. The batch's stream
 * callback is held until its last record has been taken, so a sender with no free slot
 * asks for no more input: that is how backpressure reaches the disk read.
 */
import type { TransformCallback } from 'node:stream'
import type { ParsedLine, RecordBatch } from './record-batches.js'

export class BatchCursor {
  #batch: RecordBatch | null = null
  #position = 0
  #callback: TransformCallback | null = null

  /** Whether a batch is held (some of its records not taken yet, or its callback not released). */
  get isHolding (): boolean {
    return this.#batch !== null
  }

  hold (batch: RecordBatch, callback: TransformCallback): void {
    this.#batch = batch
    this.#position = 0
    this.#callback = callback
  }

  /** The next record or unreadable line, passing over skipped ones; null when the batch is spent. */
  next (): ParsedLine | null {
    const batch = this.#batch
    if (batch === null) return null
    while (this.#position < batch.length) {
      const item = batch.recordAt(this.#position++)
      if (item !== null) return item // null: already counted (a resumed job)
    }
    return null
  }

  /** Once every record has been taken, lets go of the batch and asks for the next one. */
  releaseIfSpent (): void {
    const batch = this.#batch
    if (batch === null || this.#position < batch.length) return
    this.#batch = null
    const callback = this.#callback
    this.#callback = null
    // Last: the next batch may arrive synchronously.
    callback?.()
  }

  /** Stopping: the batch is let go and its callback never runs, so intake stays stopped. */
  drop (): void {
    this.#batch = null
    this.#callback = null
  }
}
