/**
 * GET /jobs/:id/events — Server-Sent Events while a job runs:
 *   event: state     one per state transition, replayed from the job's stored history
 *   event: circuit   {"circuit": "open" | "half_open" | "closed"} when the job's circuit breaker
 *                    changes (DESIGN §8), as seen by the once-a-second read
 *   event: progress  the status object, about once a second (with `concurrency_limit`)
 *   event: final     the status object once the job has ended; then the stream closes
 * Event ids are `<transitions seen>.<count>`. A client reconnecting with Last-Event-ID gets
 * every transition after the ones it saw (none is skipped), then progress resumes; progress
 * events are whole snapshots, so a missed one loses nothing.
 */
import { PassThrough } from 'node:stream'
import type { Middleware, ParameterizedContext } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { toJobStatus } from '../../domain/job-status.js'
import { LIVE_STATES, type JobState } from '../../domain/job-meta.js'
import { lookupJobStatus } from './job-lookup.js'

const PROGRESS_INTERVAL_MS = 1000

export function eventsHandler (deps: Pick<Deps, 'jobStore'>): Middleware<AppState> {
  return async function events (ctx: ParameterizedContext<AppState> & { params?: Record<string, string> }) {
    const first = await lookupJobStatus(deps, ctx.params?.id ?? '', ctx.state.owner)
    const jobId = first.job_id
    ctx.state.jobId = jobId
    const lastEventId = /^(\d+)\./.exec(ctx.get('last-event-id'))
    let statesSeen = lastEventId === null ? 0 : Number(lastEventId[1])

    const stream = new PassThrough()
    ctx.status = 200
    ctx.set({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
    ctx.req.socket.setTimeout(0)
    ctx.body = stream
    stream.write(`retry: ${PROGRESS_INTERVAL_MS}\n\n`)

    let timer: NodeJS.Timeout | null = null
    let circuit = 'closed'
    let isClosed = false
    const close = (): void => {
      isClosed = true
      if (timer !== null) clearTimeout(timer)
      stream.end()
    }
    ctx.req.once('close', close)

    const send = (id: string, event: string, data: unknown): void => {
      stream.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    const tick = async (): Promise<void> => {
      const job = await deps.jobStore.get(jobId)
      if (isClosed) return
      if (job === null) return close()
      const status = toJobStatus(job)
      for (const transition of await deps.jobStore.readStates(jobId, statesSeen)) {
        statesSeen++
        send(`${statesSeen}.${status.count}`, 'state', transition)
      }
      if (status.circuit !== circuit) {
        circuit = status.circuit
        send(`${statesSeen}.${status.count}`, 'circuit', { circuit })
      }
      if (!LIVE_STATES.has(status.state as JobState)) {
        send(`${statesSeen}.${status.count}`, 'final', status)
        return close()
      }
      send(`${statesSeen}.${status.count}`, 'progress', status)
      timer = setTimeout(loop, PROGRESS_INTERVAL_MS)
    }
    const loop = (): void => {
      tick().catch((err: unknown) => {
        ctx.state.log.warn({ err }, 'event stream failed')
        close()
      })
    }
    loop()
  }
}
