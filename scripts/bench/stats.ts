/**
 * The arithmetic behind the bench's table (report.ts): medians, and the ratios of ABBA
 * pairs. scenarios.ts runs the sides raw, chronos, chronos, raw, raw, chronos, ...: the
 * i-th run of each side are pair i, made back to back. A pair's ratio leaves out the
 * drift between pairs that a ratio of two medians mixes in, and the pairs' spread
 * (min–max) shows how far one run can be trusted on this machine.
 */
import type { MainThreadShare } from './schedstat.js'

const known = (values: Array<number | null | undefined>): number[] =>
  values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))

export function median (values: Array<number | null | undefined>): number | null {
  const sorted = known(values).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] ?? null : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export function max (values: Array<number | null | undefined>): number | null {
  const found = known(values)
  return found.length === 0 ? null : Math.max(...found)
}

/**
 * chronos[i] / rival[i] for each pair i both sides reached; null for a pair with a failed
 * run (null value) or a rival of 0. The unpaired tail of a run cut short by the budget is
 * left out.
 */
export function pairRatios (rival: Array<number | null>, chronos: Array<number | null>): Array<number | null> {
  const pairs: Array<number | null> = []
  for (let i = 0; i < Math.min(rival.length, chronos.length); i++) {
    const a = rival[i]
    const b = chronos[i]
    pairs.push(typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b) && a > 0 ? b / a : null)
  }
  return pairs
}

/** The lowest and highest known value, or null when there is none. */
export function spread (values: Array<number | null>): { min: number, max: number } | null {
  const found = known(values)
  return found.length === 0 ? null : { min: Math.min(...found), max: Math.max(...found) }
}

/** Medians of the main thread's shares over a side's runs, each share on its own. */
export function medianShare (shares: Array<MainThreadShare | null>): MainThreadShare | null {
  const onCpu = median(shares.map((s) => s?.onCpu))
  const waiting = median(shares.map((s) => s?.waiting))
  return onCpu === null || waiting === null ? null : { onCpu, waiting }
}
