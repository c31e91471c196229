/**
 * Batched, idempotent outcome writes (one Lua call per batch) and the reads that go with
 * them: the done bitmap for resume and the packed per-record results.
 *
 * Packing happens per outcome as it reaches the sink, so a batch waiting for Redis is a few
 * strings, not a few thousand objects. A packed line is
 *   index \t bucket \t ok \t status \t attempts \t time_ms \t error \t id_json [\t snippet_json]\n
 * and everything from `ok` on is what the results list keeps (about 20 bytes a record).
 */
import { readFileSync } from 'node:fs'
import type { Redis } from './redis.js'
import type { Keys } from './keys.js'
import { FencedError, StateLostError } from '../errors.js'
import type { Outcome } from '../domain/outcome.js'
import { latencyBucket } from '../domain/latency-histogram.js'

const RECORD_OUTCOMES = readFileSync(new URL('./lua/record-outcomes-5.lua', import.meta.url), 'utf8')

interface OutcomeCommands {
  recordOutcomes: (meta: string, done: string, counts: string, results: string, failed: string, packed: string | Buffer, fence: string) => Promise<number>
}

export { StateLostError }

export class OutcomeStore {
  readonly #redis: Redis & OutcomeCommands
  readonly #keys: Keys

  constructor (redis: Redis, keys: Keys) {
    if (!('recordOutcomes' in redis)) {
      redis.defineCommand('recordOutcomes', { numberOfKeys: 5, lua: RECORD_OUTCOMES })
    }
    this.#redis = redis as Redis & OutcomeCommands
    this.#keys = keys
  }

  /** One outcome as a packed line (see the header). */
  static pack (outcome: Outcome): string {
    const status = outcome.status ?? 0
    const time = Math.round(outcome.timeMs * 100) / 100
    const line = `${outcome.index}\t${latencyBucket(time)}\t${outcome.ok ? 1 : 0}\t${status}\t${outcome.attempts}\t${time}\t${outcome.error ?? ''}\t${outcome.idJson}`
    return outcome.snippet === undefined ? `${line}\n` : `${line}\t${JSON.stringify(outcome.snippet)}\n`
  }

  /**
   * Applies packed outcomes; returns how many were newly counted (0 for a replayed batch).
   * Throws StateLostError when the job's meta hash no longer exists, and FencedError when
   * `fence` (the writer's lease token) is no longer the job's newest: the check rides in the
   * same call that counts, so fencing costs no extra round trip.
   */
  async write (jobId: string, packed: string | Buffer, fence?: number): Promise<number> {
    const k = this.#keys
    const counted = await this.#redis.recordOutcomes(k.meta(jobId), k.done(jobId), k.counts(jobId), k.results(jobId), k.failed(jobId), packed, fence === undefined ? '' : String(fence))
    if (counted === -2) throw new FencedError(`${jobId} was taken over by another instance`)
    if (counted < 0) throw new StateLostError(`state of ${jobId} is gone from Redis`)
    return counted
  }

  /** Bytes of the done bitmap covering records [firstIndex, firstIndex + 8 * byteCount). */
  async readDoneBits (jobId: string, firstIndex: number, byteCount: number): Promise<Buffer> {
    return await this.#readBits(this.#keys.done(jobId), firstIndex, byteCount)
  }

  /** Bytes of the failed bitmap, like readDoneBits. */
  async readFailedBits (jobId: string, firstIndex: number, byteCount: number): Promise<Buffer> {
    return await this.#readBits(this.#keys.failed(jobId), firstIndex, byteCount)
  }

  async #readBits (key: string, firstIndex: number, byteCount: number): Promise<Buffer> {
    const start = Math.floor(firstIndex / 8)
    return await this.#redis.getrangeBuffer(key, start, start + byteCount - 1)
  }

  /** How many result batches the job has stored so far (the cursor's end). */
  async countResultBatches (jobId: string): Promise<number> {
    return await this.#redis.llen(this.#keys.results(jobId))
  }

  /**
   * One stored result (the packed line from `ok` on) as its NDJSON line for
   * GET /jobs/:id/results, or null when it does not pass the filter.
   */
  static resultToJson (stored: string, outcome: 'failed' | 'succeeded' | null): string | null {
    const [ok, status, attempts, time, error, idJson, snippetJson] = stored.split('\t')
    const isOk = ok === '1'
    if ((outcome === 'failed' && isOk) || (outcome === 'succeeded' && !isOk)) return null
    const statusJson = status === '0' ? 'null' : status
    const errorJson = error === '' || error === undefined ? 'null' : `"${error}"`
    // The snippet column is a failed answer's first bytes, or an error's cause (tls_error).
    const response = snippetJson === undefined ? '' : `,"${error === 'http_status' ? 'response' : 'detail'}":${snippetJson}`
    return `{"id":${idJson ?? 'null'},"ok":${isOk},"status":${statusJson},"attempts":${attempts},"time_ms":${time},"error":${errorJson}${response}}\n`
  }

  /** Up to `count` result batches starting at list index `cursor`. */
  async readResultBatches (jobId: string, cursor: number, count: number): Promise<string[]> {
    return await this.#redis.lrange(this.#keys.results(jobId), cursor, cursor + count - 1)
  }
}
