// JobClaimer (docs/scale-out.md): one look takes the oldest queued jobs into the free slots,
// and the queue-length gauge (GET /info's jobs.queued, chronos_jobs{state="queued"}) counts
// what is left once the look is over. A real Redis and LeaseStore; the launch hook only
// records the leases it is given.
import { expect } from 'chai'
import { JobClaimer, POLL_MS, pollIntervalMs } from '../../lib/runner/job-claimer.js'
import { LeaseStore, type Lease } from '../../lib/store/lease-store.js'
import { createRunnerRig, recordLines, type RunnerRig } from '../helpers/runner-rig.js'

describe('JobClaimer', function () {
  let rig: RunnerRig
  let leases: LeaseStore

  beforeEach(async function () {
    rig = await createRunnerRig()
    leases = new LeaseStore(rig.redis, rig.keys, 15_000)
  })

  afterEach(async function () {
    await rig.close()
  })

  /** A claimer with `slots` job slots; `launched` are the leases it took. */
  function claimer (slots: number): { claimer: JobClaimer, launched: Lease[] } {
    const launched: Lease[] = []
    const claimer = new JobClaimer({
      leases,
      instanceId: rig.instanceId,
      freeSlots: () => slots - launched.length,
      isRunningHere: (jobId) => launched.some((lease) => lease.jobId === jobId),
      launch: (lease) => launched.push(lease),
      log: rig.log
    })
    return { claimer, launched }
  }

  async function queueJobs (count: number): Promise<string[]> {
    const jobIds: string[] = []
    const submittedAt = Date.now()
    for (let i = 0; i < count; i++) {
      const { jobId } = await rig.addJob({ targetPort: 9, recordLines: recordLines(1) })
      // A millisecond apart: jobs of the same millisecond have no order between them.
      await leases.enqueue(jobId, submittedAt + i)
      jobIds.push(jobId)
    }
    return jobIds
  }

  it('takes the oldest queued jobs into its free slots in one look', async function () {
    const jobIds = await queueJobs(4)
    const { claimer: looker, launched } = claimer(2)
    looker.ring()
    await looker.settled()
    expect(launched.map((lease) => lease.jobId)).to.deep.equal(jobIds.slice(0, 2))
  })

  it('counts the queue as it stands after the look that filled the last free slot', async function () {
    await queueJobs(3)
    const { claimer: looker, launched } = claimer(1)
    looker.ring()
    await looker.settled()
    expect(launched).to.have.length(1)
    expect(looker.queueLength, 'the job just taken is no longer queued').to.equal(2)
    expect(await leases.queueLength()).to.equal(2)
  })

  it('polls every POLL_MS, or every third of a shorter lease so a takeover is as prompt as a renewal', function () {
    expect(pollIntervalMs(15_000)).to.equal(POLL_MS)
    expect(pollIntervalMs(6000)).to.equal(POLL_MS)
    expect(pollIntervalMs(600)).to.equal(200)
    expect(pollIntervalMs(1000)).to.equal(334)
  })
})
