// startChronosProcess(): the real entry point (lib/main.ts) as a child process, so fault specs
// can SIGKILL and SIGTERM it for real. `node <npm start's flags> --import tsx lib/main.ts` is
// one process: the pid we signal is Chronos itself, not a wrapper.
//
//   - PORT is a free loopback port picked here (retried if another process takes it first);
//     start-up resolves once GET /healthz answers 200.
//   - stdout (pino NDJSON) is parsed into `logs`; stderr is kept as text for error messages.
//   - Starting again with the same `options` (same CHRONOS_INSTANCE_ID, key prefix and spool
//     dir) is a restart of the same instance: `startChronosProcess(first.options)`.
//   - Every child is SIGKILLed when this process exits, whichever way (a parent-death signal
//     via setpriv where available, plus exit hooks: processes.ts); specs call cleanUpChronosProcesses()
//     in their after hooks so nothing outlives a test file, spool dirs included.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { httpRequest, type HttpAnswer } from './http.js'
import { deathSignalPrefix, freePort, killOnExit, npmStartFlags, stopProcess } from './processes.js'
import { uniquePrefix } from './redis.js'

export type { HttpAnswer }

/** The repository root: main.ts resolves its Lua scripts and tsx its tsconfig from here. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

const READY_TIMEOUT_MS = 20_000

export interface ChronosProcessOptions {
  readonly redisUrl: string
  /** CHRONOS_KEY_PREFIX. @defaultValue uniquePrefix() */
  readonly prefix?: string
  /** CHRONOS_SPOOL_DIR. @defaultValue a fresh temporary directory */
  readonly spoolDir?: string
  /** CHRONOS_INSTANCE_ID. @defaultValue a fresh `instance-<uuid>` */
  readonly instanceId?: string
  /** More environment, applied last (CHRONOS_OUTCOME_BATCH_SIZE, CHRONOS_SHUTDOWN_GRACE_MS, …). */
  readonly env?: Readonly<Record<string, string>>
}

/** The options with every default filled in: pass them again to restart the same instance. */
export interface ResolvedChronosProcessOptions extends ChronosProcessOptions {
  readonly prefix: string
  readonly spoolDir: string
  readonly instanceId: string
}

export type LogLine = Record<string, unknown> & { level?: number, msg?: string }

export interface ChronosProcess {
  readonly options: ResolvedChronosProcessOptions
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly prefix: string
  readonly spoolDir: string
  readonly instanceId: string
  /** Every stdout line so far, parsed (a line that is not JSON becomes `{raw}`). */
  readonly logs: LogLine[]
  readonly stderr: string
  readonly isRunning: boolean
  /** Sends a signal (SIGTERM by default); a no-op once the process is gone. */
  kill: (signal?: NodeJS.Signals) => void
  /** Resolves with the exit code (null when a signal ended it); rejects after timeoutMs. */
  waitForExit: (timeoutMs?: number) => Promise<number | null>
  /** The signal that ended the process, once it has ended by one. */
  readonly exitSignal: NodeJS.Signals | null
  request: (method: string, path: string, body?: string | Buffer, headers?: Record<string, string>) => Promise<HttpAnswer>
  get: (path: string) => Promise<HttpAnswer>
  /** POSTs an NDJSON upload to /run. */
  upload: (body: string | Buffer, headers?: Record<string, string>) => Promise<HttpAnswer>
  /** Polls GET /status until the job reaches one of `states` (503 and 404 answers are waited out). */
  waitForState: (jobId: string, states?: string[], timeoutMs?: number) => Promise<Record<string, any>>
  /** Resolves with the first log line (past or future) matching, rejects after timeoutMs. */
  waitForLog: (predicate: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>
  spoolFiles: () => Promise<string[]>
  /** The last log lines and stderr, for assertion messages. */
  tail: (lines?: number) => string
}

/** Every child started here and not yet exited. */
const live = new Set<ChildProcess>()

/** Spool dirs startChronosProcess() made itself (a dir a spec passes in is the spec's to remove). */
const createdSpoolDirs = new Set<string>()

/**
 * For after hooks: stopAllChronosProcesses(), then removes every spool dir made here. Restarts
 * reuse a dir, so it can only go once every process that might use it is gone.
 */
export async function cleanUpChronosProcesses (): Promise<void> {
  await stopAllChronosProcesses()
  const dirs = [...createdSpoolDirs]
  createdSpoolDirs.clear()
  await Promise.all(dirs.map(async (dir) => await rm(dir, { recursive: true, force: true })))
}

/** SIGKILLs every Chronos child still running and waits until each is gone. */
export async function stopAllChronosProcesses (): Promise<void> {
  await Promise.all([...live].map(async (child) => await stopProcess(child, 0, 'SIGKILL')))
}

export async function startChronosProcess (options: ChronosProcessOptions): Promise<ChronosProcess> {
  let spoolDir = options.spoolDir
  if (spoolDir === undefined) {
    spoolDir = await mkdtemp(join(tmpdir(), 'chronos-spool-'))
    createdSpoolDirs.add(spoolDir)
  }
  const resolved: ResolvedChronosProcessOptions = {
    ...options,
    prefix: options.prefix ?? uniquePrefix(),
    spoolDir,
    instanceId: options.instanceId ?? `instance-${randomUUID()}`
  }
  // A free port can be taken between finding it and binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    const chronos = await launch(resolved, await freePort())
    try {
      await waitForHealth(chronos)
      return chronos
    } catch (err) {
      chronos.kill('SIGKILL')
      await chronos.waitForExit(5000).catch(() => null)
      const isPortTaken = chronos.stderr.includes('EADDRINUSE')
      if (!isPortTaken || attempt >= 3) throw err
    }
  }
}

async function launch (options: ResolvedChronosProcessOptions, port: number): Promise<ChronosProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // No coverage from children under c8 (`npm test`; node passes NODE_V8_COVERAGE on unless
    // it is set, and '' turns it off): tsx compiles lib/ to ESM here but to CommonJS in the
    // mocha process, and c8 merges coverage by file URL assuming one text per file, so a
    // child's counts scrambled the mocha process's (runner lines reported unrun).
    NODE_V8_COVERAGE: '',
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: options.redisUrl,
    CHRONOS_KEY_PREFIX: options.prefix,
    CHRONOS_SPOOL_DIR: options.spoolDir,
    CHRONOS_INSTANCE_ID: options.instanceId,
    LOG_LEVEL: 'debug',
    CHRONOS_FLUSH_INTERVAL_MS: '20',
    CHRONOS_SHUTDOWN_GRACE_MS: '10000',
    ...options.env
  }
  // The V8 flags of `npm start`, so the tests run the service's memory settings too.
  const command = [...await deathSignalPrefix(), process.execPath, ...await npmStartFlags(), '--import', 'tsx', 'lib/main.ts']
  const child = spawn(command[0] as string, command.slice(1), { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  if (child.pid === undefined) throw new Error(`chronos: spawn failed (${command.join(' ')})`)
  live.add(child)
  killOnExit(child)

  const logs: LogLine[] = []
  let watchers: Array<() => void> = []
  let stderr = ''
  let partial = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (line.trim() === '') continue
      try {
        logs.push(JSON.parse(line) as LogLine)
      } catch {
        logs.push({ raw: line })
      }
    }
    const ready = watchers
    watchers = []
    for (const check of ready) check()
  })
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr = (stderr + text).slice(-20_000) })
  let exitSignal: NodeJS.Signals | null = null
  let hasClosed = false
  // 'close' rather than 'exit': by then stdout is fully read, so the last log lines are in.
  const closed = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: -1, signal: null }))
    child.once('close', (code, signal) => {
      exitSignal = signal
      hasClosed = true
      resolve({ code, signal })
    })
  })
  child.once('exit', () => live.delete(child))

  const url = `http://127.0.0.1:${port}`
  const tail = (count = 30): string => {
    const lines = logs.slice(-count).map((line) => JSON.stringify(line)).join('\n')
    return `\n--- chronos ${child.pid} (port ${port}) last log lines ---\n${lines}${stderr === '' ? '' : `\n--- stderr ---\n${stderr.slice(-4000)}`}`
  }

  // Bounded: a hung child fails the call instead of holding the test until mocha's timeout.
  const request = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
    await httpRequest(`${url}${path}`, { method, body, headers, timeoutMs: 15_000 })

  const chronos: ChronosProcess = {
    options,
    url,
    port,
    pid: child.pid,
    prefix: options.prefix,
    spoolDir: options.spoolDir,
    instanceId: options.instanceId,
    logs,
    get stderr () { return stderr },
    get isRunning () { return child.exitCode === null && child.signalCode === null },
    get exitSignal () { return exitSignal },
    kill (signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    async waitForExit (timeoutMs = 30_000) {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`chronos ${child.pid} still running after ${timeoutMs} ms${tail()}`)), timeoutMs)
      })
      try {
        return (await Promise.race([closed, timedOut])).code
      } finally {
        clearTimeout(timer)
      }
    },
    request,
    get: async (path) => await request('GET', path),
    upload: async (body, headers = {}) => await request('POST', '/run', body, { 'content-type': 'application/x-ndjson', ...headers }),
    async waitForState (jobId, states = ['completed', 'failed', 'cancelled'], timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      let last = ''
      for (;;) {
        if (hasClosed) throw new Error(`chronos exited while waiting for ${jobId} to reach ${states.join('|')}${tail()}`)
        try {
          const answer = await request('GET', `/status?key=${encodeURIComponent(jobId)}`)
          last = `${answer.status} ${answer.text}`
          if (answer.status === 200 && states.includes(answer.json.state)) return answer.json
        } catch (err) {
          last = String(err)
        }
        if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach ${states.join('|')} within ${timeoutMs} ms: ${last}${tail()}`)
        await sleep(50)
      }
    },
    waitForLog (predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers = watchers.filter((w) => w !== check)
          reject(new Error(`no matching log line within ${timeoutMs} ms${tail()}`))
        }, timeoutMs)
        function check (): void {
          const found = logs.find(predicate)
          if (found !== undefined) {
            clearTimeout(timer)
            resolve(found)
          } else {
            watchers.push(check)
          }
        }
        check()
      })
    },
    spoolFiles: async () => await readdir(options.spoolDir),
    tail
  }
  return chronos
}

async function waitForHealth (chronos: ChronosProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (!chronos.isRunning) throw new Error(`chronos exited during start-up${chronos.tail()}`)
    try {
      const answer = await fetch(`${chronos.url}/healthz`, { signal: AbortSignal.timeout(1000) })
      await answer.body?.cancel()
      if (answer.status === 200) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`chronos did not answer /healthz within ${READY_TIMEOUT_MS} ms${chronos.tail()}`)
    await sleep(50)
  }
}
