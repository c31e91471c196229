/**
 * One undici Pool per running job: keep-alive connections to the job's origin, capped at
 * the job's concurrency. A Pool never follows redirects (DESIGN §2, §4b).
 */
import { Pool } from 'undici'
import type { JobSpec } from '../domain/job-spec.js'
import { targetOrigin } from '../domain/job-spec.js'

export type { Pool }

/** Keep idle sockets a little while so a job's steady stream reuses them. */
const KEEP_ALIVE_MS = 10_000

/** Builds the undici connector for a job (the target policy's connect-time check). */
export type ConnectorFactory = (spec: JobSpec) => NonNullable<Pool.Options['connect']>

export function createJobPool (spec: JobSpec, connect?: Pool.Options['connect']): Pool {
  const options: Pool.Options = {
    connections: spec.concurrency,
    pipelining: 1,
    keepAliveTimeout: KEEP_ALIVE_MS,
    headersTimeout: spec.timeoutMs,
    bodyTimeout: spec.timeoutMs,
    connectTimeout: Math.min(spec.timeoutMs, 10_000)
  }
  if (connect !== undefined) options.connect = connect
  return new Pool(targetOrigin(spec), options)
}
