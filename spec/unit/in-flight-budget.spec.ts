// InFlightBudget: the instance's in-flight requests shared fairly between API keys and their
// jobs (DESIGN §7). Jobs are played by hand, turn by turn, the way a sender uses its share:
// take slots until refused (or its own cap), end the turn, give slots back as requests settle.
import { expect } from 'chai'
import { InFlightBudget, waterFill, type JobShare } from '../../lib/pipeline/in-flight-budget.js'

interface Job {
  readonly name: string
  readonly cap: number
  readonly share: JobShare
  wakes: number
}

function join (budget: InFlightBudget, name: string, cap: number, owner = ''): Job {
  const job: Job = { name, cap, wakes: 0, share: budget.join(owner, cap, () => { job.wakes++ }) }
  return job
}

/** Requests in flight, oldest first, as turn() starts them (run() settles them in order). */
let requests: Job[] = []

/** A sender's turn: takes slots while the budget and the job's cap allow; returns how many. */
function turn (job: Job): number {
  let taken = 0
  let wasRefused = false
  while (job.share.inFlight < job.cap) {
    if (!job.share.tryTake()) {
      wasRefused = true
      break
    }
    requests.push(job)
    taken++
  }
  job.share.endTurn(wasRefused)
  return taken
}

/** One request of `job` settles and the job takes its turn (as the sender does). */
function settleOne (job: Job): void {
  job.share.give()
  turn(job)
}

/**
 * Requests settle one at a time, oldest first (every request takes as long), and each job
 * woken by the budget takes its turn.
 */
function run (jobs: Job[], settles: number): void {
  for (let i = 0; i < settles; i++) {
    const oldest = requests.shift()
    if (oldest === undefined) return
    settleOne(oldest)
    for (const job of jobs) {
      while (job.wakes > 0) {
        job.wakes--
        turn(job)
      }
    }
  }
}

const inFlight = (jobs: Job[]): number[] => jobs.map((job) => job.share.inFlight)

describe('waterFill(total, caps)', function () {
  it('splits equally when every cap is large enough', function () {
    expect(waterFill(12, [100, 100, 100])).to.deep.equal([4, 4, 4])
  })

  it('gives a small cap all it can use and the rest to the others', function () {
    expect(waterFill(12, [100, 2, 100])).to.deep.equal([5, 2, 5])
  })

  it('never gives more than the caps, even when the total is larger', function () {
    expect(waterFill(100, [3, 4])).to.deep.equal([3, 4])
  })

  it('splits nothing among nobody', function () {
    expect(waterFill(10, [])).to.deep.equal([])
  })
})

describe('InFlightBudget', function () {
  beforeEach(function () { requests = [] })

  it('refuses a budget below one', function () {
    expect(() => new InFlightBudget(0)).to.throw(RangeError)
  })

  it('lets one job alone use the whole budget, and no more', function () {
    const budget = new InFlightBudget(10)
    const job = join(budget, 'big', 64)
    expect(turn(job)).to.equal(10)
    expect(budget.inFlight).to.equal(10)
  })

  it('splits the budget equally between jobs, water-filled against their concurrency', function () {
    const budget = new InFlightBudget(12)
    const jobs = [join(budget, 'a', 100), join(budget, 'b', 2), join(budget, 'c', 100)]
    expect(jobs.map((job) => job.share.share)).to.deep.equal([5, 2, 5])
  })

  it('splits between API keys first, then between the jobs of each key', function () {
    const budget = new InFlightBudget(12)
    const many = [join(budget, 'k1-a', 100, 'k1'), join(budget, 'k1-b', 100, 'k1'), join(budget, 'k1-c', 100, 'k1')]
    const lone = join(budget, 'k2', 100, 'k2')
    expect(many.map((job) => job.share.share)).to.deep.equal([2, 2, 2])
    expect(lone.share.share).to.equal(6)
  })

  it('gives a job that joins a full budget its share as the others settle', function () {
    const budget = new InFlightBudget(10)
    const big = [join(budget, 'big1', 64), join(budget, 'big2', 64)]
    for (const job of big) turn(job)
    run(big, 40)
    expect(inFlight(big)).to.deep.equal([5, 5])

    const small = join(budget, 'small', 2)
    expect(turn(small)).to.equal(0) // the budget is full: it waits
    run([...big, small], 10) // one round of the budget's requests
    expect(inFlight([...big, small])).to.deep.equal([4, 4, 2])
    expect(budget.inFlight).to.equal(10)
  })

  it('refuses a job above its share while a job below its own waits', function () {
    const budget = new InFlightBudget(10)
    const big = join(budget, 'big', 64)
    turn(big) // 10: it was alone
    const small = join(budget, 'small', 4)
    expect(turn(small)).to.equal(0)
    big.share.give()
    expect(big.share.tryTake()).to.equal(false) // the slot is the small job's
    big.share.endTurn(true)
    expect(small.wakes).to.equal(1)
    expect(turn(small)).to.equal(1)
  })

  it('is work-conserving: a job above its share takes a free slot when nobody below theirs waits', function () {
    const budget = new InFlightBudget(10)
    const big = join(budget, 'big', 64)
    const idle = join(budget, 'idle', 64) // holds a share of 5 but asks for nothing
    expect(turn(big)).to.equal(10)
    expect(idle.share.inFlight).to.equal(0)
    big.share.give(3)
    expect(turn(big)).to.equal(3)
  })

  it('wakes the waiting job furthest below its share when a slot frees', function () {
    const budget = new InFlightBudget(12)
    const hog = join(budget, 'hog', 64)
    turn(hog) // 12, alone
    const near = join(budget, 'near', 64)
    const far = join(budget, 'far', 64) // shares: 4 each
    expect(turn(near)).to.equal(0)
    for (let i = 0; i < 3; i++) {
      settleOne(hog) // refused: near waits below its share
      turn(near)
    }
    expect(inFlight([hog, near, far])).to.deep.equal([9, 3, 0])
    expect(turn(far)).to.equal(0)
    near.wakes = 0
    settleOne(hog)
    expect([far.wakes, near.wakes]).to.deep.equal([1, 0]) // 0 of 4 goes before 3 of 4
  })

  it('hands a paused job\'s share to the others until it resumes', function () {
    const budget = new InFlightBudget(10)
    const a = join(budget, 'a', 64)
    const b = join(budget, 'b', 64)
    expect(a.share.share).to.equal(5)
    b.share.setActive(false)
    expect(a.share.share).to.equal(10)
    b.share.setActive(true)
    expect(a.share.share).to.equal(5)
  })

  it('takes back every slot of a job that leaves, and ignores its late settles', function () {
    const budget = new InFlightBudget(10)
    const a = join(budget, 'a', 64)
    const b = join(budget, 'b', 64)
    turn(a)
    turn(b) // refused: waits, needy
    a.share.leave()
    expect(budget.inFlight).to.equal(0)
    expect(budget.jobs).to.equal(1)
    expect(b.wakes).to.be.greaterThan(0)
    a.share.give(10)
    expect(a.share.tryTake()).to.equal(false)
    expect(budget.inFlight).to.equal(0)
    expect(turn(b)).to.equal(10)
  })

  it('never lets the instance exceed its budget, whatever the mix of jobs', function () {
    const budget = new InFlightBudget(50)
    const jobs = [join(budget, 'a', 256, 'k1'), join(budget, 'b', 256, 'k1'), join(budget, 'c', 4, 'k2'), join(budget, 'd', 30, 'k3')]
    for (const job of jobs) turn(job)
    run(jobs, 500)
    expect(budget.inFlight).to.equal(50)
    // Per key: k2 uses its 4, k1 and k3 get 23 each; k1's two jobs split theirs.
    expect(jobs.map((job) => job.share.share)).to.deep.equal([11.5, 11.5, 4, 23])
    for (const job of jobs) expect(Math.abs(job.share.inFlight - job.share.share), job.name).to.be.at.most(1)
  })
})
