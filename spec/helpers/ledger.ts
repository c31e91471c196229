// Checks for fault specs that trust the target's ledger (every request it recorded) and the
// keys actually in Redis, never Chronos's own counters.
import { expect } from 'chai'
import { Redis } from 'ioredis'
import type { TargetRequest } from './target.js'

export interface LedgerSummary {
  /** Requests per record id. */
  readonly byId: Map<string, TargetRequest[]>
  /** Requests beyond the first for their record id (re-sends). */
  readonly duplicates: number
  /** Record ids that reached the target more than once. */
  readonly duplicatedIds: string[]
}

export function summarize (requests: readonly TargetRequest[]): LedgerSummary {
  const byId = new Map<string, TargetRequest[]>()
  for (const req of requests) {
    const id = req.recordId ?? '(none)'
    const list = byId.get(id)
    if (list === undefined) byId.set(id, [req])
    else list.push(req)
  }
  const duplicatedIds = [...byId].filter(([, list]) => list.length > 1).map(([id]) => id)
  return { byId, duplicates: requests.length - byId.size, duplicatedIds }
}

/**
 * Every record id 1..total reached the target at least once, nothing else did, and every
 * request (first send or re-send) carried the idempotency key `<job_id>:<id>`.
 */
export function expectEveryIdDelivered (requests: readonly TargetRequest[], jobId: string, total: number): LedgerSummary {
  const summary = summarize(requests)
  const missing: number[] = []
  for (let id = 1; id <= total; id++) if (!summary.byId.has(String(id))) missing.push(id)
  expect(missing, `${missing.length} record ids never reached the target`).to.deep.equal([])
  expect(summary.byId.size, 'the target saw ids that are not in the upload').to.equal(total)
  const wrongKeys = requests.filter((req) => req.idempotencyKey !== `${jobId}:${req.recordId ?? ''}`)
  expect(wrongKeys.map((req) => [req.recordId, req.idempotencyKey]), 'requests with a wrong idempotency key').to.deep.equal([])
  return summary
}

/** Keys under `${prefix}:`, with their TTL in seconds (-1: none). */
export async function keysWithTtl (redisUrl: string, prefix: string): Promise<Map<string, number>> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true })
  try {
    await client.connect()
    const keys = await client.keys(`${prefix}:*`)
    const result = new Map<string, number>()
    for (const key of keys.sort()) result.set(key, await client.ttl(key))
    return result
  } finally {
    client.disconnect()
  }
}

/**
 * After a job has ended: only its own keys (`<prefix>:job:{<jobId>}:*`, whatever parts the
 * store keeps) and its primarykey's latest pointer (`<prefix>:pk:{…<primarykey>}:latest`,
 * however the store scopes it), all set to expire, plus the jobs index. Nothing else: no live
 * primarykey guard, no instance set still listing the job.
 */
export async function expectEndedJobKeys (redisUrl: string, prefix: string, jobId: string, primaryKey: string): Promise<void> {
  const keys = await keysWithTtl(redisUrl, prefix)
  const jobKeyPrefix = `${prefix}:job:{${jobId}}:`
  const isLatest = (key: string): boolean => key.startsWith(`${prefix}:pk:{`) && key.endsWith(`${primaryKey}}:latest`)
  const isExpiring = (key: string): boolean => key.startsWith(jobKeyPrefix) || isLatest(key)
  const unexpected = [...keys.keys()].filter((key) => !isExpiring(key) && key !== `${prefix}:jobs`)
  expect(unexpected, 'keys left that should not be').to.deep.equal([])
  expect(keys.has(`${jobKeyPrefix}meta`), 'the job meta hash').to.equal(true)
  expect([...keys.keys()].filter(isLatest), 'the primarykey\'s latest pointer').to.have.length(1)
  const immortal = [...keys].filter(([key, ttl]) => isExpiring(key) && ttl <= 0).map(([key]) => key)
  expect(immortal, 'ended job keys without a TTL').to.deep.equal([])
}

/** Polls `check` until it stops throwing, or rethrows its last error after timeoutMs. */
export async function eventually (check: () => unknown, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await check()
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  }
}
