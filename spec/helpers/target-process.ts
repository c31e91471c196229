// startTargetProcess(): the bench's target (scripts/bench/target.ts: 200 to everything after
// a fixed latency) as a child process, for specs that load Chronos with tens of thousands of
// requests a second. In-process, the target's CPU would compete with Chronos's event loop
// and measure the test rig instead of Chronos. `requests()` asks it over IPC how many it
// has answered.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { deathSignalPrefix, killOnExit, stopProcess } from './processes.js'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface TargetProcess {
  readonly port: number
  /** Requests answered so far. */
  requests: () => Promise<number>
  stop: () => Promise<void>
}

export async function startTargetProcess (latencyMs: number): Promise<TargetProcess> {
  const command = [...await deathSignalPrefix(), process.execPath, '--import', 'tsx', 'scripts/bench/target.ts', String(latencyMs), '0']
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: REPO_ROOT,
    // No coverage from children under c8 (see chronos-process.ts).
    env: { ...process.env, NODE_V8_COVERAGE: '' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc']
  })
  killOnExit(child)
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> })
  const [line] = await once(lines, 'line', { signal: AbortSignal.timeout(15_000) }) as [string]
  lines.close()
  const { port } = JSON.parse(line) as { port: number }
  return {
    port,
    requests: async () => {
      const reply = once(child, 'message', { signal: AbortSignal.timeout(5000) })
      child.send('stats')
      const [message] = await reply as [{ requests: number }]
      return message.requests
    },
    stop: async () => { await stopProcess(child, 2000) }
  }
}
