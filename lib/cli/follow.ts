/**
 * Follows a job to its end over SSE (`submit --follow`, `watch`): progress as it comes, then
 * the summary on stdout and the exit code of DESIGN §9. Ctrl-C stops following only: the job
 * keeps running on the server, and the user is told how to watch it again.
 */
import type { ApiClient } from './api-client.js'
import { followEvents } from './event-stream.js'
import { createProgressView } from './progress-view.js'
import { EXIT, exitCodeFor, summaryLines, type JobStatusLike } from './summary.js'

export async function followJob (client: ApiClient, jobId: string, isTty: boolean, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const controller = new AbortController()
  const onSigint = (): void => controller.abort()
  process.once('SIGINT', onSigint)
  const view = createProgressView(isTty)
  let final: JobStatusLike | null = null
  try {
    for await (const event of followEvents(client, `/jobs/${encodeURIComponent(jobId)}/events`, controller.signal)) {
      if (event.event !== 'progress' && event.event !== 'final') continue
      const status = JSON.parse(event.data) as JobStatusLike
      view.update(status)
      if (event.event === 'final') {
        final = status
        break
      }
    }
  } finally {
    view.stop()
    process.off('SIGINT', onSigint)
  }
  if (final === null) {
    process.stderr.write(`\nStopped following. ${jobId} keeps running on the server (Ctrl-C never cancels it).\n` +
      `Watch it again: chronos watch ${jobId}\n`)
    return EXIT.interrupted
  }
  for (const line of summaryLines(final)) out.write(`${line}\n`)
  return exitCodeFor(final)
}
