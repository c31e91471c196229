// Memory stays flat as a job grows (DESIGN §4, issue 4): a 1,000,000-record job against a
// slow target runs inside a fixed budget. Holding the job in memory would not fit: the
// upload alone is ~75 MB of text, over 300 MB as parsed objects. The budget counts the
// whole process (Node, tsx's loader, the HTTP upload path, the pipeline), started with the
// V8 flags of `npm start` (spec/helpers/chronos-process.ts). It peaked at ~119 MB here;
// without those flags it peaks at ~175 MB, so the budget also guards them. make bench holds
// the built server (no tsx) to 150 MB.
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { expect } from 'chai'
import { startChronosProcess, cleanUpChronosProcesses, type ChronosProcess } from '../helpers/chronos-process.js'
import { peakRssBytes } from '../helpers/processes.js'
import { sharedRedis } from '../helpers/redis.js'
import { startTarget, type Target } from '../helpers/target.js'
import { specLine } from '../helpers/ndjson.js'

const RECORDS = 1_000_000
const BUDGET_MB = 160

describe('memory under a large job', function () {
  let chronos: ChronosProcess
  let target: Target
  let dir: string

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'chronos-memory-'))
  })

  after(async function () {
    await cleanUpChronosProcesses()
    await target?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it(`keeps a ${RECORDS.toLocaleString('en')}-record job against a slow target under ${BUDGET_MB} MB`, async function () {
    this.timeout(120_000)
    target = await startTarget(() => ({ delayMs: 5 }))
    chronos = await startChronosProcess({ redisUrl: sharedRedis().url, env: { LOG_LEVEL: 'warn' } })

    const file = join(dir, 'upload.ndjson')
    const out = createWriteStream(file)
    out.write(specLine(target.port, { concurrency: 64 }) + '\n')
    for (let i = 1; i <= RECORDS; i++) {
      if (!out.write(`{"id":${i},"payload":"{\\"n\\":${i},\\"user\\":\\"user_${i}\\"}"}\n`)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')

    const response = await fetch(`${chronos.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: createReadStream(file) as unknown as RequestInit['body'],
      duplex: 'half'
    } as RequestInit)
    expect(response.status).to.equal(202)
    const { job_id: jobId } = await response.json() as { job_id: string }

    // Let delivery run long enough for any per-record buffer to show.
    await new Promise((resolve) => setTimeout(resolve, 8000))
    const status = (await chronos.get(`/status?key=${jobId}`)).json
    const peakBytes = peakRssBytes(chronos.pid)
    if (peakBytes === null) expect.fail(`no VmHWM for chronos ${chronos.pid}: is /proc mounted?`)
    const peakMb = peakBytes / 1048576
    console.log(`      peak RSS ${peakMb.toFixed(1)} MB after ${String(status.count)} of ${RECORDS} records`)
    expect(peakMb).to.be.below(BUDGET_MB)
    expect(status.state).to.equal('running')
    expect(status.count).to.be.above(1000)
    await chronos.request('DELETE', `/jobs/${jobId}`)
  })
})
