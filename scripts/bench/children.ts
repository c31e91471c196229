/**
 * Child processes for the benchmark: spawn, read a ready line, stop, and never leak.
 *
 * Every child is registered with killOnExit() (spec/helpers/processes.ts, shared with the
 * specs): main.ts calls cleanUpSync() on SIGINT/SIGTERM and the shared hook does on 'exit',
 * so a crashed or interrupted bench leaves no Redis, target or Chronos behind; the setpriv
 * prefix covers the bench itself being SIGKILLed. setpriv execs, and TypeScript children are
 * started as `node --import tsx file.ts`, so the pid we signal and read /proc for is the
 * real process, not a wrapper.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { once } from 'node:events'
import { openSync, closeSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { createInterface } from 'node:readline'
import { deathSignalPrefix, isAlive, killOnExit, stopProcess, type ProcessEnd } from '../../spec/helpers/processes.js'

export interface Child {
  name: string
  proc: ChildProcess
  pid: number
  logFile: string | undefined
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

export interface SpawnOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** stdout and stderr go to this file unless `captureStdout` pipes stdout to us. */
  logFile?: string
  captureStdout?: boolean
  ipc?: boolean
}

export async function spawnChild (name: string, command: string, args: string[], options: SpawnOptions = {}): Promise<Child> {
  const prefix = await deathSignalPrefix()
  const fd = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'a')
  const stdio: StdioOptions = ['ignore', options.captureStdout === true ? 'pipe' : fd, fd]
  if (options.ipc === true) stdio.push('ipc')
  const [file, ...rest] = [...prefix, command, ...args] as [string, ...string[]]
  const proc = spawn(file, rest, { cwd: options.cwd, env: options.env ?? process.env, stdio })
  // The child holds its own copy of the descriptor now.
  if (typeof fd === 'number') closeSync(fd)
  if (proc.pid === undefined) throw new Error(`${name}: spawn failed (${command})`)
  // 'close' (not 'exit') so a captured stdout is fully read before anyone sees the end.
  const exited = once(proc, 'close').then(
    ([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }),
    // A spawn 'error' (ENOENT, EACCES) means it never ran: report it as a failed exit.
    () => ({ code: -1, signal: null })
  )
  killOnExit(proc)
  return { name, proc, pid: proc.pid, logFile: options.logFile, exited }
}

export async function spawnTs (name: string, script: string, args: string[], options: SpawnOptions = {}): Promise<Child> {
  return await spawnChild(name, process.execPath, ['--import', 'tsx', script, ...args], options)
}

export function isRunning (child: Child): boolean {
  return isAlive(child.proc)
}

/** Reads the first stdout line as JSON (a child's "listening" announcement), bounded by timeoutMs. */
export async function readReadyLine<T> (child: Child, timeoutMs: number): Promise<T> {
  const stdout = child.proc.stdout
  if (stdout === null) throw new Error(`${child.name}: stdout is not captured`)
  const lines = createInterface({ input: stdout })
  const timer = setTimeout(() => lines.close(), timeoutMs)
  try {
    for await (const line of lines) {
      if (line.trim() !== '') return JSON.parse(line) as T
    }
  } finally {
    clearTimeout(timer)
    lines.close()
    // Keep draining so a chatty child can never block on a full pipe.
    stdout.resume()
  }
  throw new Error(`${child.name}: no ready line within ${timeoutMs} ms${logTail(child)}`)
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the child's output is closed too. */
export async function stopChild (child: Child, graceMs: number): Promise<ProcessEnd> {
  const end = await stopProcess(child.proc, graceMs)
  await child.exited
  return end
}

/** The last lines of a child's log, for error messages. */
export function logTail (child: Child, lines = 15): string {
  if (child.logFile === undefined) return ''
  try {
    const text = readFileSync(child.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    return text === '' ? '' : `\n--- ${child.name} log tail ---\n${text}`
  } catch {
    return ''
  }
}

/** Runs a child to its end and returns its stdout; fails on a non-zero exit or after timeoutMs. */
export async function runToEnd (child: Child, timeoutMs: number): Promise<string> {
  const stdout = child.proc.stdout
  if (stdout === null) throw new Error(`${child.name}: stdout is not captured`)
  const chunks: Buffer[] = []
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(resolve, timeoutMs, 'timeout') })
  const end = await Promise.race([child.exited, timedOut])
  clearTimeout(timer)
  if (end === 'timeout') {
    await stopChild(child, 2000)
    throw new Error(`${child.name}: still running after ${timeoutMs} ms, killed`)
  }
  if (end.code !== 0) throw new Error(`${child.name}: exited with ${end.code ?? end.signal}${logTail(child)}`)
  return Buffer.concat(chunks).toString('utf8')
}

/** Resolves once 127.0.0.1:port accepts a connection; fails if the child dies or after timeoutMs. */
export async function waitForPort (port: number, timeoutMs: number, child: Child): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (!isRunning(child)) throw new Error(`${child.name}: exited before listening${logTail(child)}`)
    const socket = connect(port, '127.0.0.1')
    const isOpen = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true))
      socket.once('error', () => resolve(false))
    })
    socket.destroy()
    if (isOpen) return
    await sleep(50)
  }
  throw new Error(`${child.name}: port ${port} not open after ${timeoutMs} ms${logTail(child)}`)
}
