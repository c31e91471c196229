/**
 * How a followed job's progress is shown, on stderr (stdout keeps the job id and the summary,
 * so they can be piped): a live cli-progress bar on a terminal (done/total, rate, ETA,
 * failed), else one plain line a second, a form logs and CI keep readable.
 */
import cliProgress from 'cli-progress'
import type { JobStatusLike } from './summary.js'
import { formatDuration } from './summary.js'

export interface ProgressView {
  update: (status: JobStatusLike) => void
  stop: () => void
}

const PLAIN_INTERVAL_MS = 1000

export function createProgressView (isTty: boolean, stream: NodeJS.WritableStream = process.stderr): ProgressView {
  return isTty ? barView(stream) : plainView(stream)
}

function barView (stream: NodeJS.WritableStream): ProgressView {
  const bar = new cliProgress.SingleBar({
    format: '{bar} {percentage}% | {value}/{total} | {rate}/s | ETA {etaText} | failed {failed} | {state}',
    stream: stream as NodeJS.WriteStream,
    hideCursor: true,
    clearOnComplete: false,
    barsize: 30,
    fps: 10
  }, cliProgress.Presets.shades_classic)
  let isStarted = false
  return {
    update (status) {
      const payload = { rate: (status.rate ?? 0).toFixed(1), etaText: eta(status), failed: status.failed, state: status.state }
      if (!isStarted) {
        bar.start(Math.max(status.total, 1), status.count, payload)
        isStarted = true
      } else {
        bar.setTotal(Math.max(status.total, 1))
        bar.update(status.count, payload)
      }
    },
    stop () {
      if (isStarted) bar.stop()
    }
  }
}

function plainView (stream: NodeJS.WritableStream): ProgressView {
  let lastAt = 0
  return {
    update (status) {
      const now = Date.now()
      if (now - lastAt < PLAIN_INTERVAL_MS) return
      lastAt = now
      stream.write(`${plainLine(status, new Date(now))}\n`)
    },
    stop () {}
  }
}

export function plainLine (status: JobStatusLike, at: Date): string {
  const percent = status.total === 0 ? 100 : (100 * status.count) / status.total
  return `${at.toISOString().slice(11, 19)} ${status.state} ${status.count}/${status.total} ${percent.toFixed(1)}%` +
    ` ${(status.rate ?? 0).toFixed(1)}/s eta ${eta(status)} failed ${status.failed}`
}

function eta (status: JobStatusLike): string {
  return status.eta_ms === null ? '?' : formatDuration(status.eta_ms)
}
