/**
 * A job's end as people read it, and as scripts read it: the summary lines, and the exit
 * code of DESIGN §9 (0 completed without failed records, 2 completed with some, 3 cancelled
 * or failed).
 */
export interface JobStatusLike {
  job_id: string
  primarykey: string
  state: string
  total: number
  count: number
  succeeded: number
  failed: number
  rate: number | null
  eta_ms: number | null
  status_codes?: Record<string, number>
  errors?: Record<string, number>
  started_at?: string | null
  finished_at?: string | null
  error?: { code: string, message: string }
}

export const EXIT = { ok: 0, error: 1, failedRecords: 2, jobEnded: 3, interrupted: 130 } as const

export function exitCodeFor (status: JobStatusLike): number {
  if (status.state === 'completed') return status.failed > 0 ? EXIT.failedRecords : EXIT.ok
  return EXIT.jobEnded
}

export function summaryLines (status: JobStatusLike): string[] {
  const elapsedMs = status.started_at != null && status.finished_at != null ? Date.parse(status.finished_at) - Date.parse(status.started_at) : null
  const lines = [
    `${status.job_id} ${status.state}: ${status.count}/${status.total} records, ${status.succeeded} succeeded, ${status.failed} failed` +
      (elapsedMs === null ? '' : ` in ${formatDuration(elapsedMs)}`) + (status.rate === null ? '' : ` (${status.rate.toFixed(1)}/s)`)
  ]
  const codes = Object.entries(status.status_codes ?? {}).map(([code, n]) => `${code}: ${n}`)
  if (codes.length > 0) lines.push(`  status codes  ${codes.join(', ')}`)
  const errors = Object.entries(status.errors ?? {}).filter(([, n]) => n > 0).map(([reason, n]) => `${reason}: ${n}`)
  if (errors.length > 0) lines.push(`  errors        ${errors.join(', ')}`)
  if (status.error !== undefined) lines.push(`  job error     ${status.error.code}: ${status.error.message}`)
  if (status.failed > 0) {
    lines.push(`  failed records: chronos results ${status.job_id} --failed --out failed.ndjson`)
    lines.push(`  send them again: chronos retry-failed ${status.job_id}`)
  }
  return lines
}

export function formatDuration (ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
}
