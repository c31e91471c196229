/**
 * The consumer pool: an unordered parallel Transform. Each record starts a send at once;
 * while fewer than `maxInFlight` are running the transform calls back immediately, and once
 * full it holds the callback until a send settles, so backpressure reaches the disk read.
 * Outcomes are pushed in completion order (readable.map({concurrency}) keeps input order,
 * which lets one slow request stall every finished one behind it).
 *
 * `send` must resolve to an Outcome for every per-record failure; a rejection is a bug and
 * tears the pipeline down. Destroying the stream aborts every in-flight send.
 * `stopIntake()` is the SIGTERM drain: no new sends, in-flight ones finish and are pushed,
 * then the readable side ends so the sink can flush.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { Outcome } from '../job/outcome.js'
import type { ParsedLine } from './record-parser.js'
import type { JobRecord } from '../job/record.js'

export type SendRecord = (record: JobRecord, signal: AbortSignal) => Promise<Outcome>

export interface SenderOptions {
  readonly maxInFlight: number
  readonly send: SendRecord
}

export function createSender (options: SenderOptions): Sender {
  return new Sender(options)
}

export class Sender extends Transform {
  readonly #maxInFlight: number
  readonly #send: SendRecord
  readonly #abort = new AbortController()
  #inFlight = 0
  /** The transform callback held back while every slot is busy. */
  #heldCallback: TransformCallback | null = null
  #flushCallback: TransformCallback | null = null
  #isStopping = false
  #hasEnded = false

  constructor (options: SenderOptions) {
    super({
      writableObjectMode: true,
      readableObjectMode: true,
      writableHighWaterMark: 1,
      readableHighWaterMark: Math.max(16, options.maxInFlight)
    })
    this.#maxInFlight = options.maxInFlight
    this.#send = options.send
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** Stop starting sends; let in-flight ones finish and end the readable side. */
  stopIntake (): void {
    this.#isStopping = true
    this.#endIfDrained()
  }

  override _transform (item: ParsedLine, _encoding: BufferEncoding, callback: TransformCallback): void {
    // Stopping: the record is not sent and its callback never runs, so intake stays stopped.
    if (this.#isStopping) return
    if ('invalid' in item) {
      this.push({ index: item.index, idJson: 'null', ok: false, status: null, attempts: 0, timeMs: 0, error: 'invalid_record' } satisfies Outcome)
      return callback()
    }
    this.#start(item)
    if (this.#inFlight < this.#maxInFlight) callback()
    else this.#heldCallback = callback
  }

  override _flush (callback: TransformCallback): void {
    if (this.#inFlight === 0) callback()
    else this.#flushCallback = callback
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.#abort.abort(err ?? undefined)
    callback(err)
  }

  #start (record: JobRecord): void {
    this.#inFlight++
    this.#send(record, this.#abort.signal).then((outcome) => {
      this.#inFlight--
      if (this.destroyed) return
      this.push(outcome)
      this.#releaseSlot()
    }, (err: unknown) => {
      this.#inFlight--
      this.destroy(err instanceof Error ? err : new Error(String(err)))
    })
  }

  #releaseSlot (): void {
    if (this.#isStopping) return this.#endIfDrained()
    const held = this.#heldCallback
    if (held !== null) {
      this.#heldCallback = null
      held()
    }
    if (this.#inFlight === 0 && this.#flushCallback !== null) {
      const flush = this.#flushCallback
      this.#flushCallback = null
      flush()
    }
  }

  #endIfDrained (): void {
    if (this.#inFlight > 0 || this.#hasEnded) return
    this.#hasEnded = true
    const flush = this.#flushCallback
    this.#flushCallback = null
    // A pending _flush ends the readable side itself; otherwise end it here.
    if (flush !== null) flush()
    else this.push(null)
  }
}
