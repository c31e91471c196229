// A Redis server owned by the test run, behind one interface for both ways of getting one
// (STYLE.md, Layout of spec/):
//   - Testcontainers (redis:7) when a Docker engine answers `docker info` within 3 s;
//   - otherwise `redis-server` from PATH, spawned on a free loopback port. This is what CI uses.
// CHRONOS_TEST_REDIS=docker|spawn forces one path (default: auto).
//
// Either way the server can be stopped (SIGTERM: AOF flushed), killed (SIGKILL) and started
// again on the same host and port with the same data directory, so fault specs can prove that
// append-only data survives and that a server without persistence comes back empty.
// Spawned servers are SIGKILLed when this process exits, whichever way it exits (a parent-death
// signal via setpriv where available, plus 'exit' and signal handlers: spec/helpers/processes.ts),
// so no process leaks.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { StartedTestContainer } from 'testcontainers'
import { deathSignalPrefix, freePort, isAlive, killOnExit, removeOnExit, stopProcess } from './processes.js'

const execFileAsync = promisify(execFile)

export interface RedisOptions {
  /** `--appendonly yes`: data survives stop()/kill() and start(). @defaultValue false */
  appendOnly?: boolean
  /**
   * `--cluster-enabled yes`: a node for a Redis Cluster, not yet part of one (see
   * redis-cluster.ts). Always a spawned redis-server: a container would announce its own
   * address, which the test process cannot reach. @defaultValue false
   */
  clusterNode?: boolean
}

export interface RedisHandle {
  /** redis://host:port */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Graceful shutdown (SIGTERM); resolves once the server is gone. A no-op when not running. */
  stop(): Promise<void>
  /** Starts again on the same port with the same data dir; resolves once it answers PING. A no-op when running. */
  start(): Promise<void>
  /** stop() then start(). */
  restart(): Promise<void>
  /** SIGKILL: no shutdown work at all, as in a crash. */
  kill(): Promise<void>
}

const READY_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 10_000

/** A fresh key prefix for one test (bullmq's `test-${uuid}`), passed as CHRONOS_KEY_PREFIX. */
export function uniquePrefix (): string {
  return `test-${randomUUID()}`
}

export async function startRedis (options: RedisOptions = {}): Promise<RedisHandle> {
  const isAppendOnly = options.appendOnly ?? false
  const isClusterNode = options.clusterNode ?? false
  return !isClusterNode && (await useDocker()) ? startContainer(isAppendOnly) : startProcess(isAppendOnly, isClusterNode)
}

let shared: RedisHandle | undefined

/** The Redis started once for the whole run by spec/setup.ts. Never stop it in a spec. */
export function sharedRedis (): RedisHandle {
  if (shared === undefined) throw new Error('shared Redis is not running: is spec/setup.ts loaded?')
  return shared
}

export async function startSharedRedis (): Promise<RedisHandle> {
  shared ??= await startRedis()
  return shared
}

export async function stopSharedRedis (): Promise<void> {
  const handle = shared
  shared = undefined
  await handle?.stop()
}

/** Deletes every key under `${prefix}:` (SCAN + UNLINK); returns how many went. */
export async function deleteKeysWithPrefix (url: string, prefix: string): Promise<number> {
  const { Redis } = await import('ioredis')
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  try {
    await client.connect()
    let deleted = 0
    for await (const keys of client.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) deleted += await client.unlink(...keys)
    }
    return deleted
  } finally {
    client.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing a path

let dockerAnswers: Promise<boolean> | undefined

function useDocker (): Promise<boolean> {
  const forced = process.env.CHRONOS_TEST_REDIS
  if (forced === 'docker') return Promise.resolve(true)
  if (forced === 'spawn') return Promise.resolve(false)
  dockerAnswers ??= execFileAsync('docker', ['info'], { timeout: 3000 }).then(() => true, () => false)
  return dockerAnswers
}

// ---------------------------------------------------------------------------------------------
// Spawned redis-server

async function startProcess (isAppendOnly: boolean, isClusterNode: boolean): Promise<RedisHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-redis-'))
  removeOnExit(dir)
  const host = '127.0.0.1'
  let child: ChildProcess | undefined
  let port = 0
  // A cluster node also listens on a bus port (port + 10000 unless set, which can be taken or
  // past 65535): a free one of its own, kept across stop() and start() like the port.
  let busPort = 0

  async function launch (): Promise<void> {
    const prefix = await deathSignalPrefix()
    const args = [
      'redis-server',
      '--port', String(port),
      '--bind', host,
      '--save', '',
      '--appendonly', isAppendOnly ? 'yes' : 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--logfile', '',
      '--loglevel', 'warning',
      ...(isClusterNode
        ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--cluster-node-timeout', '5000']
        : []),
    ]
    const command = [...prefix, ...args]
    const proc = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    killOnExit(proc)
    // Startup failures go to stdout (the log) or stderr (config errors): keep the tail of both.
    let output = ''
    const keep = (text: string): void => { output = (output + text).slice(-4000) }
    proc.stdout?.setEncoding('utf8').on('data', keep)
    proc.stderr?.setEncoding('utf8').on('data', keep)
    const exited = new Promise<Error>(resolve => {
      proc.once('error', resolve)
      proc.once('exit', (code, signal) => {
        resolve(new Error(`redis-server exited (code ${code}, signal ${signal}): ${output.trim()}`))
      })
    })
    child = proc
    try {
      await Promise.race([waitForPing(host, port), exited.then(err => { throw err })])
    } catch (err) {
      proc.kill('SIGKILL')
      child = undefined
      throw err
    }
  }

  // A free port can be taken between finding it and binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort(host)
    if (isClusterNode) busPort = await freePort(host)
    try {
      await launch()
      break
    } catch (err) {
      if (attempt >= 5) throw err
    }
  }

  async function signalAndWait (signal: NodeJS.Signals): Promise<void> {
    const proc = child
    child = undefined
    if (proc !== undefined) await stopProcess(proc, STOP_TIMEOUT_MS, signal)
  }

  const handle: RedisHandle = {
    url: `redis://${host}:${port}`,
    host,
    port,
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    async start () {
      if (child === undefined || !isAlive(child)) await launch()
    },
    async restart () {
      await handle.stop()
      await handle.start()
    },
  }
  return handle
}

// ---------------------------------------------------------------------------------------------
// Testcontainers (not exercised on CI, which has no Docker engine)

async function startContainer (isAppendOnly: boolean): Promise<RedisHandle> {
  const { GenericContainer } = await import('testcontainers')
  // A fixed host port (rather than a random mapping) is what lets `docker start` bring the same
  // container back on the same port; its /data volume keeps the AOF across stop and start.
  const port = await freePort('127.0.0.1')
  const container: StartedTestContainer = await new GenericContainer('redis:7')
    .withCommand(['redis-server', '--save', '', '--appendonly', isAppendOnly ? 'yes' : 'no'])
    .withExposedPorts({ container: 6379, host: port })
    .start()
  const host = container.getHost()
  const id = container.getId()
  await waitForPing(host, port)
  let isRunning = true

  async function docker (...args: string[]): Promise<void> {
    await execFileAsync('docker', args, { timeout: STOP_TIMEOUT_MS + 5000 })
  }

  const handle: RedisHandle = {
    url: `redis://${host}:${port}`,
    host,
    port,
    async stop () {
      if (!isRunning) return
      isRunning = false
      await docker('stop', '--time', String(STOP_TIMEOUT_MS / 1000), id)
    },
    async kill () {
      if (!isRunning) return
      isRunning = false
      await docker('kill', '--signal', 'KILL', id)
    },
    async start () {
      if (isRunning) return
      await docker('start', id)
      isRunning = true
      await waitForPing(host, port)
    },
    async restart () {
      await handle.stop()
      await handle.start()
    },
  }
  return handle
}

// ---------------------------------------------------------------------------------------------
// Shared bits

/** Resolves true when the server answers +PONG (not -LOADING), false on any error. */
function ping (host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = createConnection({ host, port })
    let reply = ''
    const done = (isUp: boolean): void => {
      socket.destroy()
      resolve(isUp)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.setEncoding('utf8').on('data', (text: string) => {
      reply += text
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

async function waitForPing (host: string, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (!(await ping(host, port, 1000))) {
    if (Date.now() > deadline) throw new Error(`Redis on ${host}:${port} did not answer PING within ${READY_TIMEOUT_MS} ms`)
    await sleep(25)
  }
}
