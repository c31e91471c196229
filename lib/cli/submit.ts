/**
 * `chronos submit FILE|- [--follow] [--dry-run]`: streams the file to POST /run (never read
 * whole: a 10 GB upload costs a 64 KiB buffer), `.gz` as it is with Content-Encoding: gzip,
 * `.json` as application/json (DESIGN §10), anything else as NDJSON. Prints the job id on
 * stdout; a refused upload's invalid lines go to stderr the way a compiler reports them,
 * `file.ndjson:12: invalid_record: <reason>`, so editors can jump to them.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { ApiError, type ApiClient } from './api-client.js'
import { followJob } from './follow.js'
import { EXIT } from './summary.js'

export interface SubmitOptions { follow?: boolean, dryRun?: boolean }

export async function submit (client: ApiClient, file: string, options: SubmitOptions, isTty: boolean): Promise<number> {
  const isStdin = file === '-'
  if (!isStdin) {
    const stats = await stat(file).catch(() => null)
    if (stats === null || !stats.isFile()) throw new ApiError('usage', `cannot read ${file}: no such file`, null)
  }
  const body: Readable = isStdin ? process.stdin : createReadStream(file)
  const isGzip = file.endsWith('.gz')
  const inner = isGzip ? file.slice(0, -3) : file
  const headers: Record<string, string> = { 'content-type': inner.endsWith('.json') ? 'application/json' : 'application/x-ndjson' }
  if (isGzip) headers['content-encoding'] = 'gzip'
  const path = options.dryRun === true ? '/run?dry_run=true' : '/run'
  let answer: Record<string, any>
  try {
    answer = await client.json(path, { method: 'POST', headers, body })
  } catch (err) {
    if (err instanceof ApiError) printRefusal(isStdin ? '<stdin>' : file, err)
    throw err
  } finally {
    if (!isStdin) body.destroy()
  }
  if (options.dryRun === true) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
    return EXIT.ok
  }
  const jobId = String(answer.job_id)
  process.stdout.write(`${jobId}\n`)
  process.stderr.write(`accepted ${String(answer.records)} records as ${jobId} (primarykey ${String(answer.primarykey)})\n`)
  if (options.follow !== true) return EXIT.ok
  return await followJob(client, jobId, isTty)
}

/** One compiler-style line per detail the API gave: `name:line: code: reason`. */
function printRefusal (name: string, err: ApiError): void {
  for (const detail of err.details) {
    const where = detail.line !== undefined ? `${name}:${detail.line}` : detail.record !== undefined ? `${name}: record ${detail.record}` : name
    process.stderr.write(`${where}: ${err.code}: ${detail.reason ?? err.message}\n`)
  }
  err.areDetailsShown = true
}
