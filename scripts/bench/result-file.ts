/**
 * The dated JSON result of one `make bench` run, written to docs/bench-results/ and
 * committed with the README and docs/performance.md numbers it backs (issue 16), so every
 * published figure points at the run, commit and machine that produced it.
 *
 * Name: `<UTC date>T<HH>-<MM>-<commit>.json` (e.g. 2025-06-01T14-05-3f2c1ab.json): sorted by
 * name is sorted by time, and a second run in the same minute gets `-2`, never overwriting.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

export const RESULTS_DIR = join('docs', 'bench-results')

export interface Machine {
  cpus: number
  cpuModel: string
  memoryGiB: number
  os: string
  node: string
  redis: string
}

export interface Revision {
  /** `git rev-parse --short HEAD`, or 'unknown' outside a checkout. */
  commit: string
  /** Tracked files differed from the commit: the numbers are not that commit's alone. */
  hasUncommittedChanges: boolean
}

export function machine (redisVersion: string): Machine {
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: redisVersion
  }
}

export function revision (repoDir: string): Revision {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repoDir, encoding: 'utf8' }).trim()
  try {
    // Untracked files are left out: an earlier result file waiting to be committed is not a code change.
    return { commit: git('rev-parse', '--short', 'HEAD'), hasUncommittedChanges: git('status', '--porcelain', '--untracked-files=no') !== '' }
  } catch {
    return { commit: 'unknown', hasUncommittedChanges: true }
  }
}

/** Writes `document` under repoDir/docs/bench-results/ and returns the file's path. */
export function writeResultFile (repoDir: string, date: Date, commit: string, document: object): string {
  const dir = join(repoDir, RESULTS_DIR)
  mkdirSync(dir, { recursive: true })
  const stem = `${date.toISOString().slice(0, 16).replace(':', '-')}-${commit}`
  const text = JSON.stringify(document, null, 2) + '\n'
  for (let attempt = 1; ; attempt++) {
    const file = join(dir, attempt === 1 ? `${stem}.json` : `${stem}-${attempt}.json`)
    try {
      writeFileSync(file, text, { flag: 'wx' })
      return file
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}
