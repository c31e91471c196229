/**
 * The commands that read or steer one job, or list them: status, jobs, results, cancel,
 * pause, resume, retry-failed. They print for people by default and exit 0, or 1 with the
 * API's error (DESIGN §9).
 */
import { createWriteStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ApiClient } from './api-client.js'
import { EXIT, summaryLines, type JobStatusLike } from './summary.js'
import { plainLine } from './progress-view.js'

const jobPath = (job: string): string => `/jobs/${encodeURIComponent(job)}`

export async function status (client: ApiClient, key: string, options: { json?: boolean }): Promise<number> {
  const job = await client.json<JobStatusLike>(`/status?key=${encodeURIComponent(key)}`)
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(job, null, 2)}\n`)
  } else {
    process.stdout.write(`${job.job_id} (primarykey ${job.primarykey})\n${plainLine(job, new Date())}\n`)
    for (const line of summaryLines(job).slice(1)) process.stdout.write(`${line}\n`)
  }
  return EXIT.ok
}

export interface JobsOptions { state?: string, primarykey?: string, limit?: string, cursor?: string, json?: boolean }

export async function jobs (client: ApiClient, options: JobsOptions): Promise<number> {
  const query = new URLSearchParams()
  for (const name of ['state', 'primarykey', 'limit', 'cursor'] as const) {
    const value = options[name]
    if (value !== undefined) query.set(name, value)
  }
  const page = await client.json<{ jobs: JobStatusLike[], next_cursor: string | null }>(`/jobs${query.size > 0 ? `?${query.toString()}` : ''}`)
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(page, null, 2)}\n`)
    return EXIT.ok
  }
  const rows = [['JOB', 'STATE', 'DONE', 'FAILED', 'RATE/s', 'SUBMITTED', 'PRIMARYKEY']]
  for (const job of page.jobs) {
    rows.push([job.job_id, job.state, `${job.count}/${job.total}`, String(job.failed), (job.rate ?? 0).toFixed(1),
      (job as { submitted_at?: string | null }).submitted_at ?? '', job.primarykey])
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  for (const row of rows) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`)
  if (page.next_cursor !== null) process.stderr.write(`more: chronos jobs --cursor ${page.next_cursor}\n`)
  return EXIT.ok
}

/**
 * Result lines (id, ok, status, error) to stdout or --out; with both --failed and --out, the
 * re-submittable file instead: line 1 the job's config, then the failed records as uploaded,
 * streamed to disk, ready to fix and `chronos submit` again.
 */
export async function results (client: ApiClient, job: string, options: { failed?: boolean, out?: string }): Promise<number> {
  if (options.failed === true && options.out !== undefined) {
    const answer = await client.call(`${jobPath(job)}/failed-records`)
    const out = options.out
    // A cut-off download must not be left behind looking like a whole upload.
    await pipeline(answer.body, createWriteStream(out)).catch(async (err: unknown) => {
      await unlink(out).catch(() => {})
      throw err
    })
    process.stderr.write(`failed records written to ${options.out}; fix them, then: chronos submit ${options.out}\n`)
    return EXIT.ok
  }
  const answer = await client.call(`${jobPath(job)}/results${options.failed === true ? '?outcome=failed' : ''}`)
  const sink = options.out === undefined ? stdoutSink() : createWriteStream(options.out)
  await pipeline(answer.body, sink)
  if (options.out !== undefined) process.stderr.write(`results written to ${options.out}\n`)
  return EXIT.ok
}

/** stdout without ending it when the results end (and without EPIPE noise from `| head`). */
function stdoutSink (): Writable {
  return new Writable({
    write (chunk: Buffer, _encoding, callback) {
      if (process.stdout.write(chunk)) callback()
      else process.stdout.once('drain', () => callback())
    }
  })
}

export type Action = 'cancel' | 'pause' | 'resume'
const ACTIONS: Record<Action, { method: 'DELETE' | 'POST', suffix: string }> = {
  cancel: { method: 'DELETE', suffix: '' },
  pause: { method: 'POST', suffix: '/pause' },
  resume: { method: 'POST', suffix: '/resume' }
}

export async function act (client: ApiClient, action: Action, job: string): Promise<number> {
  const { method, suffix } = ACTIONS[action]
  const after = await client.json<JobStatusLike>(`${jobPath(job)}${suffix}`, { method })
  process.stdout.write(`${after.job_id} ${after.state} (${after.count}/${after.total} done)\n`)
  return EXIT.ok
}

export async function retryFailed (client: ApiClient, job: string): Promise<number> {
  const accepted = await client.json(`${jobPath(job)}/retry-failed`, { method: 'POST' })
  process.stdout.write(`${String(accepted.job_id)}\n`)
  process.stderr.write(`retrying ${String(accepted.records)} failed records of ${job} as ${String(accepted.job_id)}; watch: chronos watch ${String(accepted.job_id)}\n`)
  return EXIT.ok
}
