/**
 * Target processes (scripts/bench/target.ts), one per latency and protocol, started on first use and
 * kept for the whole bench so the raw client and Chronos hit the very same process.
 * `requests()` asks the target over IPC how many requests it has answered, which lets a
 * run prove that every record really reached the target.
 */
import { once } from 'node:events'
import { join } from 'node:path'
import { readReadyLine, spawnTs, stopChild, type Child } from './children.js'

export interface Target {
  port: number
  latencyMs: number
  protocol: 'http' | 'https'
  requests: () => Promise<number>
}

/** The https target's certificate and key (PEM files). */
export interface ServerCertificate {
  certFile: string
  keyFile: string
}

export class Targets {
  readonly #benchDir: string
  readonly #workDir: string
  readonly #byKind = new Map<string, { target: Target, child: Child }>()

  constructor (benchDir: string, workDir: string) {
    this.#benchDir = benchDir
    this.#workDir = workDir
  }

  /** An http target, or with `tls` an https one serving that certificate. */
  async get (latencyMs: number, tls?: ServerCertificate): Promise<Target> {
    const protocol = tls === undefined ? 'http' : 'https'
    const name = `target-${protocol}-${latencyMs}ms`
    const known = this.#byKind.get(name)
    if (known !== undefined) return known.target
    const args = [String(latencyMs), '0', ...(tls === undefined ? [] : [tls.certFile, tls.keyFile])]
    const child = await spawnTs(name, join(this.#benchDir, 'target.ts'), args, {
      captureStdout: true,
      ipc: true,
      logFile: join(this.#workDir, `${name}.log`)
    })
    const { port } = await readReadyLine<{ port: number }>(child, 15_000)
    const target: Target = { port, latencyMs, protocol, requests: () => askRequests(child) }
    this.#byKind.set(name, { target, child })
    return target
  }

  async close (): Promise<void> {
    for (const { child } of this.#byKind.values()) await stopChild(child, 2000)
    this.#byKind.clear()
  }
}

async function askRequests (child: Child): Promise<number> {
  const reply = once(child.proc, 'message', { signal: AbortSignal.timeout(5000) })
  child.proc.send('stats')
  const [message] = await reply as [{ requests: number }]
  return message.requests
}
