// Processes, ports and memory, for the specs and the benchmark (scripts/bench/) alike: a
// free loopback port, child processes that never outlive us, stop-then-kill, peak RSS, and
// the node flags of `npm start`.
//
// It lives in spec/helpers/ rather than scripts/ because `make test` runs it on every
// change (spec/integration/processes.spec.ts and every fault spec use it), while the bench
// is run by hand: a break shows up in CI, not in the next bench run.
//
// Children passed to killOnExit() and directories passed to removeOnExit() go when this
// process ends, whichever way: on 'exit', and on SIGTERM or SIGHUP when nobody else handles
// them (then we clean up and die of the signal as we would have). deathSignalPrefix() adds
// the case no handler sees, our own SIGKILL.
import { execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** A port that was free a moment ago (the OS picks it): callers retry if another process takes it first. */
export function freePort (host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port === 0 ? reject(new Error(`no free port on ${host}`)) : resolve(port)))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Children that never leak

const children = new Set<ChildProcess>()
const dirs = new Set<string>()
let areExitHooksInstalled = false

/** SIGKILLs every child registered with killOnExit() and removes every removeOnExit() directory. */
export function cleanUpSync (): void {
  for (const child of children) {
    try { child.kill('SIGKILL') } catch { /* already gone */ }
  }
  children.clear()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}

function installExitHooks (): void {
  if (areExitHooksInstalled) return
  areExitHooksInstalled = true
  process.once('exit', cleanUpSync)
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    // Only when nobody else handles the signal (the bench does): a handler would stop the default exit.
    if (process.listenerCount(signal) > 0) continue
    process.once(signal, () => {
      cleanUpSync()
      process.kill(process.pid, signal)
    })
  }
}

/** SIGKILL `child` when this process ends, unless it has exited by then. */
export function killOnExit (child: ChildProcess): void {
  installExitHooks()
  if (isAlive(child)) children.add(child)
  child.once('exit', () => children.delete(child))
}

/** Remove `dir` (recursively) when this process ends. */
export function removeOnExit (dir: string): void {
  installExitHooks()
  dirs.add(dir)
}

let pdeathsigCommand: Promise<string[]> | undefined

/**
 * `setpriv --pdeathsig KILL`, when this machine has it: put it before a command and the kernel
 * kills the child if we die by SIGKILL too, which no exit hook sees. Empty where missing.
 */
export function deathSignalPrefix (): Promise<string[]> {
  pdeathsigCommand ??= execFileAsync('setpriv', ['--pdeathsig', 'KILL', 'true'], { timeout: 3000 })
    .then(() => ['setpriv', '--pdeathsig', 'KILL'], () => [])
  return pdeathsigCommand
}

export function isAlive (child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null
}

export interface ProcessEnd {
  code: number | null
  signal: NodeJS.Signals | null
  /** From the signal to the exit. */
  ms: number
  /** True when graceMs ran out and SIGKILL ended it. */
  wasKilled: boolean
}

/**
 * Sends `signal` (SIGTERM: the graceful path), then SIGKILL once graceMs has passed; resolves
 * when the child has exited. A child that is already gone resolves at once.
 */
export async function stopProcess (child: ChildProcess, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessEnd> {
  const startedAt = performance.now()
  if (!isAlive(child)) return { code: child.exitCode, signal: child.signalCode, ms: 0, wasKilled: false }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  let wasKilled = false
  child.kill(signal)
  const timer = signal === 'SIGKILL'
    ? undefined
    : setTimeout(() => { wasKilled = true; child.kill('SIGKILL') }, graceMs)
  const [code, endSignal] = await exited
  clearTimeout(timer)
  return { code, signal: endSignal, ms: performance.now() - startedAt, wasKilled }
}

// ---------------------------------------------------------------------------------------------
// Memory

/**
 * VmHWM from /proc: the resident-set high-water mark of the process's whole life, in bytes;
 * null once the process is gone (read it before stopping) or where there is no /proc.
 */
export function peakRssBytes (pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] === undefined ? null : Number(match[1]) * 1024
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------
// The `npm start` command

const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url))

/**
 * `npm start` (package.json) split into words: `node`, its flags, the entry point. The specs'
 * server processes and the bench run with its flags, so they measure the service as it is
 * started in production; spec/unit/start-flags.spec.ts checks the Dockerfile passes the same.
 */
export async function npmStartCommand (): Promise<string[]> {
  const pkg = JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { scripts: { start: string } }
  return pkg.scripts.start.trim().split(/\s+/)
}

/** The flags alone (`--name` or `--name=value` words). */
export async function npmStartFlags (): Promise<string[]> {
  return (await npmStartCommand()).filter((word) => word.startsWith('--'))
}
