// Issue 13 (note of 2026-11-30): the live concurrency limit and the circuit a holder writes
// into the job's meta hash carried no fencing token. A holder deposed by a takeover could
// write `circuit: open` over the new holder's `closed`, and since a holder writes only when
// its signals change, the stale value stayed in every instance's status.
//
// Now the write goes through lua/write-signals.lua, which refuses an old token, the same
// check the outcome-counting script makes.
//
// Refs: issue 13
import { expect } from 'chai'
import { createLogger } from '../../lib/logger.js'
import { SignalPublisher } from '../../lib/runner/signal-publisher.js'
import { LeaseStore, type Lease } from '../../lib/store/lease-store.js'
import { createRunnerRig, recordLines, type RunnerRig } from '../helpers/runner-rig.js'

describe('issue 13: a deposed holder cannot overwrite the signals of the new one', function () {
  let rig: RunnerRig
  let leases: LeaseStore

  beforeEach(async function () {
    rig = await createRunnerRig()
    leases = new LeaseStore(rig.redis, rig.keys, 200)
  })

  afterEach(async function () {
    await rig.close()
  })

  async function takeOver (jobId: string): Promise<{ deposed: Lease, holder: Lease }> {
    const deposed = await leases.acquire(jobId, 'instance-a')
    if (typeof deposed === 'string') throw new Error(`first acquire: ${deposed}`)
    await new Promise((resolve) => setTimeout(resolve, 250)) // the 200 ms lease runs out
    const holder = await leases.acquire(jobId, 'instance-b')
    if (typeof holder === 'string') throw new Error(`takeover: ${holder}`)
    return { deposed, holder }
  }

  it('writes under the newest lease and refuses an older one', async function () {
    const job = await rig.addJob({ targetPort: 1, recordLines: recordLines(3) })
    const { deposed, holder } = await takeOver(job.jobId)

    expect(await leases.writeSignals(holder, { concurrencyLimit: 8, circuit: 'closed' })).to.equal(true)
    expect(await leases.writeSignals(deposed, { concurrencyLimit: 1, circuit: 'open' })).to.equal(false)

    const stored = await rig.jobStore.get(job.jobId)
    expect(stored?.meta).to.include({ concurrencyLimit: 8, circuit: 'closed' })
  })

  it('leaves the new holder\'s circuit when the deposed holder\'s publisher still writes', async function () {
    const job = await rig.addJob({ targetPort: 1, recordLines: recordLines(3) })
    const { deposed, holder } = await takeOver(job.jobId)
    const log = createLogger({ level: 'silent' })
    const current = new SignalPublisher(leases, holder, () => ({ concurrencyLimit: 4, circuit: 'closed' }), log)
    const stale = new SignalPublisher(leases, deposed, () => ({ concurrencyLimit: 1, circuit: 'open' }), log)

    current.publish()
    await current.stop()
    stale.publish()
    await stale.stop()

    const stored = await rig.jobStore.get(job.jobId)
    expect(stored?.meta).to.include({ concurrencyLimit: 4, circuit: 'closed' })
  })
})
