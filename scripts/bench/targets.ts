/**
 * Target processes (scripts/bench/target.ts), one per latency, started on first use and
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
  requests: () => Promise<number>
}

export class Targets {
  readonly #benchDir: string
  readonly #workDir: string
  readonly #byLatency = new Map<number, { target: Target, child: Child }>()

  constructor (benchDir: string, workDir: string) {
    this.#benchDir = benchDir
    this.#workDir = workDir
  }

  async get (latencyMs: number): Promise<Target> {
    const known = this.#byLatency.get(latencyMs)
    if (known !== undefined) return known.target
    const child = await spawnTs(`target-${latencyMs}ms`, join(this.#benchDir, 'target.ts'), [String(latencyMs), '0'], {
      captureStdout: true,
      ipc: true,
      logFile: join(this.#workDir, `target-${latencyMs}ms.log`)
    })
    const { port } = await readReadyLine<{ port: number }>(child, 15_000)
    const target: Target = { port, latencyMs, requests: () => askRequests(child) }
    this.#byLatency.set(latencyMs, { target, child })
    return target
  }

  async close (): Promise<void> {
    for (const { child } of this.#byLatency.values()) await stopChild(child, 2000)
    this.#byLatency.clear()
  }
}

async function askRequests (child: Child): Promise<number> {
  const reply = once(child.proc, 'message', { signal: AbortSignal.timeout(5000) })
  child.proc.send('stats')
  const [message] = await reply as [{ requests: number }]
  return message.requests
}
