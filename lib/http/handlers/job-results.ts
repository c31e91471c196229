/**
 * GET /jobs/:id/results?outcome=failed|succeeded&cursor=N — per-record results as NDJSON,
 * streamed a few stored batches at a time (constant memory however large the job), readable
 * while the job runs. Results are stored in batches; `cursor` is a batch index. The answer
 * covers the batches stored when the request began, and its `x-next-cursor` header is where
 * the next request should start to get only what was stored since.
 */
import { Readable } from 'node:stream'
import type { Middleware, ParameterizedContext } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { InvalidRequestError } from '../../errors.js'
import { OutcomeStore } from '../../store/outcome-store.js'
import { lookupJobStatus } from './job-lookup.js'

const BATCHES_PER_READ = 8

export function resultsHandler (deps: Pick<Deps, 'jobStore' | 'outcomeStore'>): Middleware<AppState> {
  return async function results (ctx: ParameterizedContext<AppState> & { params?: Record<string, string> }) {
    const outcome = ctx.query.outcome
    if (outcome !== undefined && outcome !== 'failed' && outcome !== 'succeeded') {
      throw new InvalidRequestError('query parameter "outcome" must be "failed" or "succeeded"')
    }
    const cursorText = ctx.query.cursor ?? '0'
    const cursor = Number(cursorText)
    if (typeof cursorText !== 'string' || !/^\d+$/.test(cursorText) || !Number.isSafeInteger(cursor)) {
      throw new InvalidRequestError('query parameter "cursor" must be a non-negative integer from x-next-cursor')
    }
    const status = await lookupJobStatus(deps, ctx.params?.id ?? '', ctx.state.owner)
    const jobId = status.job_id
    ctx.state.jobId = jobId
    const end = await deps.outcomeStore.countResultBatches(jobId)
    ctx.type = 'application/x-ndjson'
    ctx.set('x-next-cursor', String(Math.max(end, cursor)))
    ctx.body = Readable.from(resultLines(deps.outcomeStore, jobId, cursor, end, outcome ?? null), { objectMode: false })
  }
}

async function * resultLines (
  store: OutcomeStore, jobId: string, from: number, end: number, outcome: 'failed' | 'succeeded' | null
): AsyncGenerator<string> {
  for (let cursor = from; cursor < end; cursor += BATCHES_PER_READ) {
    const batches = await store.readResultBatches(jobId, cursor, Math.min(BATCHES_PER_READ, end - cursor))
    for (const batch of batches) {
      let chunk = ''
      for (const stored of batch.split('\n')) chunk += OutcomeStore.resultToJson(stored, outcome) ?? ''
      if (chunk !== '') yield chunk
    }
  }
}
