/**
 * GET /jobs?state=&primarykey=&limit=&cursor= (DESIGN §9): the caller's jobs, newest first,
 * in full pages of matching jobs. `next_cursor` is opaque (base64url of the index position
 * of the page's last job) and stays valid while jobs are added or expire. `offset` (count of
 * matching jobs to skip) still works for clients written before the cursor.
 */
import type { Middleware } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { InvalidRequestError } from '../../errors.js'
import { toJobStatus } from '../../domain/job-status.js'
import type { JobCursor } from '../../store/job-list.js'
import { LIVE_STATES, type JobState } from '../../domain/job-meta.js'
import { queryInteger } from '../query-integer.js'

const MAX_LIMIT = 100
export const JOB_STATES: readonly JobState[] = [...LIVE_STATES, 'completed', 'cancelled', 'failed']
const CURSOR = /^([0-9]{1,16}):(job-[0-9a-f-]{36})$/

export function jobsHandler (deps: Pick<Deps, 'jobStore'>): Middleware<AppState> {
  return async function jobs (ctx) {
    const limit = queryInteger(ctx.query.limit, 20, 1, MAX_LIMIT, 'limit')
    const offset = queryInteger(ctx.query.offset, 0, 0, Number.MAX_SAFE_INTEGER, 'offset')
    const state = optionalString(ctx.query.state, 'state')
    if (state !== undefined && !JOB_STATES.includes(state as JobState)) {
      throw new InvalidRequestError(`query parameter "state" must be one of ${JOB_STATES.join(', ')}`)
    }
    const primaryKey = optionalString(ctx.query.primarykey, 'primarykey')
    const cursor = optionalString(ctx.query.cursor, 'cursor')
    const query = {
      owner: ctx.state.owner,
      limit,
      skip: offset,
      ...(state === undefined ? {} : { state }),
      ...(primaryKey === undefined ? {} : { primaryKey }),
      ...(cursor === undefined ? {} : { after: decodeCursor(cursor) })
    }
    const page = await deps.jobStore.list(query)
    const hasNext = page.next !== null
    ctx.body = {
      jobs: page.jobs.map((job) => toJobStatus(job)),
      next_cursor: page.next === null ? null : encodeCursor(page.next),
      // Offset paging counts matching jobs; it has no meaning once a cursor is in play.
      next_offset: hasNext && cursor === undefined ? offset + page.jobs.length : null
    }
  }
}

function optionalString (value: string | string[] | undefined, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new InvalidRequestError(`query parameter "${name}" must be given once, not empty`)
  return value
}

export function encodeCursor (cursor: JobCursor): string {
  return Buffer.from(`${cursor.score}:${cursor.jobId}`).toString('base64url')
}

function decodeCursor (text: string): JobCursor {
  const match = CURSOR.exec(Buffer.from(text, 'base64url').toString('utf8'))
  if (match === null) throw new InvalidRequestError('query parameter "cursor" must be a next_cursor from GET /jobs')
  return { score: Number(match[1]), jobId: match[2] as string }
}
