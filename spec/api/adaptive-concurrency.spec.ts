// adaptive_concurrency (DESIGN §8, issue 13): `concurrency` becomes a ceiling; the live limit
// starts low, grows while the target answers well and falls on 429s, so a target that can
// take only 8 requests at once gets far fewer 429s than a job sending 64 at a time, and the
// status shows the limit it settled on.
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { useStarters } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

/** What the target can take: more of the job's requests in flight than this are answered 429. */
const CAPACITY = 8
const RECORDS = 5000

interface Run {
  readonly status: Record<string, any>
  readonly tooMany: number
  /** concurrency_limit as /status showed it, every 100 ms while the job ran. */
  readonly limits: number[]
  /** The job's chronos_job_concurrency_limit series, read once while it ran. */
  readonly metric: string
}

describe('adaptive_concurrency', function () {
  this.timeout(120_000)
  const start = useStarters()

  async function runJob (fields: Record<string, unknown>): Promise<Run> {
    let tooMany = 0
    const target: Target = await start.target(() => {
      if (target.inFlight <= CAPACITY) return { delayMs: 5 }
      tooMany++
      return { status: 429 }
    })
    const chronos = await start.chronos()
    const answer = await chronos.upload(buildUpload(target.port, makeRecords(RECORDS), { concurrency: 64, ...fields }))
    expect(answer.status, answer.text).to.equal(202)
    const jobId = answer.json.job_id as string
    const limits: number[] = []
    let metric = ''
    for (;;) {
      const status = (await chronos.get(`/status?key=${jobId}`)).json
      if (status.state === 'running') limits.push(status.concurrency_limit)
      if (status.state === 'running' && metric === '') metric = /^chronos_job_concurrency_limit\{.*$/m.exec((await chronos.get('/metrics')).text)?.[0] ?? 'none'
      if (status.state === 'completed') break
      await sleep(100)
    }
    return { status: await chronos.waitForState(jobId, undefined, 60_000), tooMany, limits, metric }
  }

  it(`against a target that takes ${CAPACITY} at once: no failure, far fewer 429s than a fixed 64, the limit settles near ${CAPACITY}`, async function () {
    const adaptive = await runJob({ adaptive_concurrency: true, max_attempts: 10 })
    const fixed = await runJob({ max_attempts: 3 })

    expect(adaptive.status).to.include({ state: 'completed', succeeded: RECORDS, failed: 0 })
    expect(fixed.status.failed, 'a fixed 64 loses records').to.be.greaterThan(0)
    expect(adaptive.tooMany * 10, `429s: adaptive ${adaptive.tooMany}, fixed ${fixed.tooMany}`).to.be.below(fixed.tooMany)
    expect(fixed.status.concurrency_limit, 'without adaptive the limit is the concurrency').to.equal(64)
    expect(fixed.metric).to.equal(`chronos_job_concurrency_limit{job_id="${fixed.status.job_id as string}"} 64`)
    expect(adaptive.metric).to.match(new RegExp(`^chronos_job_concurrency_limit\\{job_id="${adaptive.status.job_id as string}"\\} \\d+$`))

    const settled = adaptive.limits.slice(Math.floor(adaptive.limits.length / 2)).sort((a, b) => a - b)
    expect(settled.length, 'status samples in the second half of the job').to.be.greaterThan(2)
    expect(settled[Math.floor(settled.length / 2)], `median limit of ${JSON.stringify(settled)}`).to.be.within(CAPACITY - 3, CAPACITY + 3)
    expect(adaptive.status.concurrency_limit).to.be.within(CAPACITY - 4, CAPACITY + 4)
  })
})
