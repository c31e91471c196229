// spec/helpers/processes.ts serves the fault specs and the bench (scripts/bench/): its ports,
// stop-then-kill and peak RSS are checked here, with real child processes.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { expect } from 'chai'
import { freePort, isAlive, killOnExit, peakRssBytes, stopProcess } from '../helpers/processes.js'

/** A node child that prints "ready" once its SIGTERM behaviour is in place. */
async function startNode (code: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `${code}; console.log('ready'); setInterval(() => {}, 1000)`], { stdio: ['ignore', 'pipe', 'ignore'] })
  killOnExit(child)
  await once(child.stdout!, 'data')
  return child
}

describe('processes helper', function () {
  const started: ChildProcess[] = []

  afterEach(async function () {
    await Promise.all(started.splice(0).map(async (child) => await stopProcess(child, 0, 'SIGKILL')))
  })

  it('freePort() gives a loopback port that can be listened on', async function () {
    const port = await freePort()
    const server = createServer()
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    server.close()
    expect(port).to.be.above(0)
  })

  it('stopProcess() ends a child that honours SIGTERM without killing it', async function () {
    const child = await startNode('process.on("SIGTERM", () => process.exit(3))')
    started.push(child)
    const end = await stopProcess(child, 5000)
    expect(end).to.include({ code: 3, signal: null, wasKilled: false })
    expect(isAlive(child)).to.equal(false)
  })

  it('stopProcess() SIGKILLs a child that ignores SIGTERM once the grace period is over', async function () {
    const child = await startNode('process.on("SIGTERM", () => {})')
    started.push(child)
    const end = await stopProcess(child, 200)
    expect(end).to.include({ signal: 'SIGKILL', wasKilled: true })
    expect(end.ms).to.be.at.least(150)
  })

  it('stopProcess() on a child that has already exited resolves at once', async function () {
    const child = spawn(process.execPath, ['-e', 'process.exit(0)'])
    await once(child, 'exit')
    expect(await stopProcess(child, 5000)).to.include({ code: 0, ms: 0, wasKilled: false })
  })

  it('peakRssBytes() reads VmHWM of a live process, and null once it is gone', async function () {
    expect(peakRssBytes(process.pid)).to.be.above(process.memoryUsage().heapUsed)
    const child = spawn(process.execPath, ['-e', 'process.exit(0)'])
    const pid = child.pid!
    await once(child, 'exit')
    expect(peakRssBytes(pid)).to.equal(null)
  })
})
