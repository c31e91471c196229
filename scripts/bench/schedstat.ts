/**
 * A process's main thread as the scheduler saw it: `/proc/<pid>/task/<pid>/schedstat`
 * holds the nanoseconds that thread has run on a core and has spent runnable but waiting
 * for one (then the number of time slices). Over a run, each divided by the wall time
 * says how much of a core the event loop got and how long it queued for one: on a busy
 * 2-core machine a client's rate is that share over its CPU per record, so one run can be
 * read without its neighbours (docs/performance.md, What bounds each scenario).
 */
import { readFileSync } from 'node:fs'

export interface SchedSample {
  runNs: number
  waitNs: number
  /** performance.now() when read, in the reading process's clock. */
  atMs: number
}

export interface MainThreadShare {
  /** Share of the wall time the main thread was on a core (0..1). */
  onCpu: number
  /** Share of the wall time it was runnable but waiting for a core. */
  waiting: number
}

/** The main thread's counters, or null once the process is gone (or off Linux). */
export function readSched (pid: number): SchedSample | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/)
    const runNs = Number(run)
    const waitNs = Number(wait)
    return Number.isFinite(runNs) && Number.isFinite(waitNs) ? { runNs, waitNs, atMs: performance.now() } : null
  } catch {
    return null
  }
}

/** The shares between two samples of the same thread; null when either is missing. */
export function shareBetween (from: SchedSample | null, to: SchedSample | null): MainThreadShare | null {
  if (from === null || to === null) return null
  const wallNs = (to.atMs - from.atMs) * 1e6
  if (!(wallNs > 0)) return null
  return { onCpu: (to.runNs - from.runNs) / wallNs, waiting: (to.waitNs - from.waitNs) / wallNs }
}
