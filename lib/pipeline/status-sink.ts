/**
 * Writable: arrays of outcomes in (as the sender pushes them), one Redis call per batch
 * out. Outcomes are packed as they arrive and flushed in batches of exactly `batchSize`,
 * or `flushIntervalMs` after the first of a quiet period, whichever comes first. Write callbacks return at once while fewer than two
 * batches of outcomes are unstored (waiting or being stored); past that the callback is
 * held until the full batches are stored, so a slow or absent Redis slows the sender
 * instead of growing a queue — and a crash re-sends at most two batches of unstored
 * outcomes (one, with Redis keeping up).
 *
 * A failed write is retried with backoff for as long as it takes (a Redis outage pauses
 * progress, never loses an outcome); retrying is safe because the store counts each record
 * once. Only a lost job state (StateLostError) or a refused fencing token (FencedError:
 * another instance took the job over) fails the stream.
 */
import { isFenced, isStateLost } from '../errors.js'
import { Writable } from 'node:stream'
import type { Outcome } from '../domain/outcome.js'
import type { Logger } from '../logger.js'

export interface StatusSinkOptions {
  readonly batchSize: number
  readonly flushIntervalMs: number
  /** Turns one outcome into its packed line. */
  readonly pack: (outcome: Outcome) => string
  /** Stores a batch of packed lines (UTF-8); resolves to the number newly counted. */
  readonly write: (packed: Buffer) => Promise<number>
  readonly log: Logger
}

/**
 * Write callbacks are held once this many batches are unstored: one being stored while the
 * next fills, so a healthy Redis never stalls the sender, and an absent one stops it after
 * two batches.
 */
const HOLD_AT_BATCHES = 2
const RETRY_BASE_MS = 100
const RETRY_CAP_MS = 2000
/** Starting size of a batch's buffer; it doubles when a batch needs more. */
const INITIAL_BUFFER_BYTES = 64 * 1024
/** How long a torn-down sink tries to store the outcomes it holds. */
const DESTROY_FLUSH_MS = 2000

export function createStatusSink (options: StatusSinkOptions): StatusSink {
  return new StatusSink(options)
}

export class StatusSink extends Writable {
  readonly #options: StatusSinkOptions
  /**
   * The waiting batch, packed into bytes as outcomes arrive. Why bytes and not a string
   * built with +=: a string batch is a tree of small heap objects that lives until its
   * flush, long enough to survive young-generation collections, and copying it over and
   * over was a large share of GC time (docs/performance.md, "Why the hot path..."). A Buffer's bytes are off the
   * JS heap, so each packed line dies young.
   */
  #packed = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES)
  #packedBytes = 0
  /** Outcomes packed but not yet flushed. */
  #waiting = 0
  /** Outcomes not yet confirmed stored: waiting plus those in flushes under way. */
  #unstored = 0
  #timer: NodeJS.Timeout | null = null
  /** The batch being stored, so flushes run one at a time and in order. */
  #storing: Promise<void> = Promise.resolve()

  constructor (options: StatusSinkOptions) {
    // Counted in arrays (each one sender push): a few may queue while a batch is stored.
    super({ objectMode: true, highWaterMark: 16 })
    this.#options = options
  }

  override _write (outcomes: Outcome[], _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this._writev([{ chunk: outcomes }], callback)
  }

  override _writev (chunks: Array<{ chunk: Outcome[] }>, callback: (err?: Error | null) => void): void {
    const { pack, batchSize } = this.#options
    for (const { chunk } of chunks) {
      for (const outcome of chunk) {
        this.#append(pack(outcome))
        this.#waiting++
        this.#unstored++
        // Queued behind any batch being stored; it only fails for a lost job state.
        if (this.#waiting >= batchSize) this.#flush().catch((err: unknown) => this.destroy(err as Error))
      }
    }
    this.#armTimer()
    if (this.#unstored < HOLD_AT_BATCHES * batchSize) return callback()
    // Wait for the queued batches only: the partial batch after them keeps filling.
    this.#storing.then(() => callback(), callback)
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.#flush().then(() => callback(), callback)
  }

  /**
   * Torn down by an error elsewhere in the job's pipeline: the outcomes already here are
   * real results, so they are stored once more before the sink goes (the job ends with what
   * it counted, issue 18 item 2). Bounded, so a hung Redis cannot hold the teardown; a lost
   * job state has nowhere to store them.
   */
  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.#clearTimer()
    if (this.#waiting === 0 || isStateLost(err) || isFenced(err)) return callback(err)
    let isDone = false
    const done = (): void => {
      if (isDone) return
      isDone = true
      clearTimeout(timer)
      callback(err)
    }
    const timer = setTimeout(done, DESTROY_FLUSH_MS)
    this.#flush().then(done, done)
  }

  #append (line: string): void {
    // A UTF-16 code unit is at most 3 UTF-8 bytes, so this much room always fits the line.
    const room = this.#packedBytes + 3 * line.length
    if (room > this.#packed.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.#packed.length, room))
      this.#packed.copy(grown, 0, 0, this.#packedBytes)
      this.#packed = grown
    }
    this.#packedBytes += this.#packed.write(line, this.#packedBytes)
  }

  #armTimer (): void {
    if (this.#timer !== null || this.#waiting === 0) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#flush().catch((err: unknown) => this.destroy(err as Error))
    }, this.#options.flushIntervalMs)
  }

  #clearTimer (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  /** Queues the waiting outcomes behind any batch being stored; resolves once stored. */
  #flush (): Promise<void> {
    this.#clearTimer()
    const size = this.#waiting
    if (size === 0) return this.#storing
    const packed = this.#packed.subarray(0, this.#packedBytes)
    // The flushed bytes stay with their store call (and its retries); the next batch gets
    // a buffer of the size this one grew to.
    this.#packed = Buffer.allocUnsafe(this.#packed.length)
    this.#packedBytes = 0
    this.#waiting = 0
    this.#storing = this.#storing.then(async () => await this.#store(packed, size))
    return this.#storing
  }

  async #store (packed: Buffer, size: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#options.write(packed)
        this.#unstored -= size
        return
      } catch (err) {
        if (isStateLost(err) || isFenced(err) || this.destroyed) throw err
        const delayMs = Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_CAP_MS)
        this.#options.log.warn({ err, attempt, delayMs }, 'status write failed, retrying')
        await new Promise((resolve) => setTimeout(resolve, delayMs))
      }
    }
  }
}
