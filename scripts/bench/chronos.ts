/**
 * One Chronos server process for one benchmark run: the built `dist/lib/main.js`, a fresh
 * port and spool directory, the bench's own Redis, and nothing inherited from the
 * caller's CHRONOS_* environment (a stray CHRONOS_API_KEYS would turn every call into a
 * 401). A fresh process per run makes VmHWM (peak RSS) mean "this run's peak".
 *
 * stop() reads VmHWM first (it is gone once the process exits), then SIGTERMs (DESIGN §4:
 * drain and exit) and SIGKILLs after a grace period; the spool directory is removed.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, npmStartFlags, peakRssBytes } from '../../spec/helpers/processes.js'
import { isRunning, logTail, spawnChild, stopChild, waitForPort, type Child } from './children.js'
import { callJson } from './http.js'

export interface ChronosServer {
  url: string
  child: Child
  spoolDir: string
  stop: () => Promise<ChronosStop>
}

export interface ChronosStop {
  peakRssBytes: number | null
  stopMs: number
  wasKilled: boolean
}

const OWN_ENV = /^(CHRONOS_.*|PORT|HOST|REDIS_URL|LOG_LEVEL)$/
const STOP_GRACE_MS = 15_000

export function chronosEntry (repoDir: string): string {
  return join(repoDir, 'dist', 'lib', 'main.js')
}

/** `env` adds settings a scenario needs (CHRONOS_TLS_CA_FILE for https). */
export async function startChronos (repoDir: string, workDir: string, redisUrl: string, runId: string, extraEnv: Record<string, string> = {}): Promise<ChronosServer> {
  const entry = chronosEntry(repoDir)
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`)
  const port = await freePort()
  const spoolDir = join(workDir, `spool-${runId}`)
  mkdirSync(spoolDir, { recursive: true })
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!OWN_ENV.test(key)) env[key] = value
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    CHRONOS_SPOOL_DIR: spoolDir,
    CHRONOS_MAX_CONCURRENCY: '256',
    CHRONOS_KEY_PREFIX: 'bench',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production'
  }, extraEnv)
  // The node flags of `npm start`, so the bench runs the server exactly as production starts it.
  const child = await spawnChild(`chronos-${runId}`, process.execPath, [...await npmStartFlags(), entry], {
    cwd: repoDir, env, logFile: join(workDir, `chronos-${runId}.log`)
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForPort(port, 30_000, child)
    await waitReady(url, child)
  } catch (err) {
    await stopChild(child, 2000)
    throw err
  }
  return {
    url,
    child,
    spoolDir,
    stop: async () => {
      // VmHWM first: it is gone once the process exits.
      const peakBytes = peakRssBytes(child.pid)
      const end = await stopChild(child, STOP_GRACE_MS)
      rmSync(spoolDir, { recursive: true, force: true })
      return { peakRssBytes: peakBytes, stopMs: end.ms, wasKilled: end.wasKilled }
    }
  }
}

/** /readyz checks Redis and the spool (DESIGN §3); a 404 means the route is not there yet. */
async function waitReady (url: string, child: Child): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!isRunning(child)) throw new Error(`${child.name}: exited during start-up${logTail(child)}`)
    const answer = await callJson('GET', `${url}/readyz`, 2000).catch(() => undefined)
    if (answer !== undefined && (answer.status === 200 || answer.status === 404)) return
    await sleep(100)
  }
  throw new Error(`${child.name}: /readyz not 200 after ~10 s${logTail(child)}`)
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100

/** The process's user + system CPU time so far, in microseconds, or null once it is gone. */
export function readCpuUs (pid: number): number | null {
  try {
    // The command name (field 2) may hold spaces; fields after its closing paren are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state field (3).
    return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / TICKS_PER_SECOND)
  } catch {
    return null
  }
}
