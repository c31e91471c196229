// Runs the `chronos` CLI (bin/chronos.js) as a child process, as a user would, against a
// server URL; collects its exit code, stdout and stderr.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const CLI_BIN = fileURLToPath(new URL('../../bin/chronos.js', import.meta.url))

export interface CliRun { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

export interface CliOptions {
  env?: Record<string, string>
  stdin?: string | Buffer
  /** Called once the child is spawned (to signal it, for example). */
  onSpawn?: (child: ChildProcess, output: { stdout: string, stderr: string }) => void
}

export async function runCli (url: string, args: string[], options: CliOptions = {}): Promise<CliRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', CHRONOS_URL: url, ...options.env }
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  const output = { stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => { output.stdout += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { output.stderr += chunk.toString('utf8') })
  options.onSpawn?.(child, output)
  child.stdin.end(options.stdin ?? '')
  return await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, ...output }))
  })
}
