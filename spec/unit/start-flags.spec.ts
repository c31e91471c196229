// The service starts two ways, `npm start` (make run, the bench, and the flags of the
// tests' server processes) and the Dockerfile's CMD, and both pass V8 flags that bound
// peak RSS (docs/performance.md, "What bounds peak RSS"). JSON has no comments and NODE_OPTIONS refuses these
// flags, so they are written twice: this keeps the copies equal, and checks that this Node
// still knows them (node refuses an unknown V8 flag at start-up, which would only show
// when the service is deployed).
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'chai'
import { npmStartCommand, npmStartFlags } from '../helpers/processes.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

async function dockerCmd (): Promise<string[]> {
  const lines = (await readFile(join(root, 'Dockerfile'), 'utf8')).split('\n')
  const cmd = lines.filter((line) => line.startsWith('CMD ')).at(-1)
  if (cmd === undefined) expect.fail('the Dockerfile has no CMD')
  return JSON.parse(cmd.slice('CMD '.length)) as string[]
}

describe('start-up flags', function () {
  it('the Dockerfile runs the same command as `npm start`', async function () {
    const start = await npmStartCommand()
    expect(start[0]).to.equal('node')
    expect(await dockerCmd()).to.deep.equal(start)
  })

  it('this Node accepts every flag `npm start` passes', async function () {
    const flags = await npmStartFlags()
    expect(flags).to.include.members(['--max-semi-space-size=4', '--heap-growing-percent=20', '--liftoff-only'])
    const { stdout } = await promisify(execFile)(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'])
    expect(stdout).to.equal('ok')
  })
})
