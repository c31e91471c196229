/**
 * The instance's in-flight budget (CHRONOS_MAX_IN_FLIGHT), shared fairly by its running
 * jobs (DESIGN §7: a small job is never stuck behind big ones). Each running job's sender
 * holds a JobShare and asks it before every request start; one slot is given back when
 * that attempt settles.
 *
 * Fair share, two levels: the budget is split equally between the API keys with running
 * jobs, then a key's part equally between its jobs. Both splits are water-filled against
 * each job's own `concurrency` (a job that can use 4 slots gets 4, and the rest goes to the
 * others), and a paused or stopping job takes no part. A start is granted while the
 * instance is under budget and either the job is under its share or no refused job is
 * under its own: work-conserving, so one job alone (or jobs whose partners are idle) may
 * use the whole budget, but the moment a job below its share waits, nobody above theirs
 * starts another request. A slot left free after a sender's turn goes to the waiting job
 * furthest below its share (lowest in-flight / share), woken through its `wake` callback.
 *
 * The hot path (tryTake, give, endTurn) is a few comparisons and counter updates, with no
 * allocation: it runs once per request, ~30k times a second in the bench. Shares are
 * recomputed only when a job joins, leaves, pauses or resumes.
 */

/** One job's place in the budget, as its sender sees it. */
export interface JobShare {
  /** Requests of this job counted in flight. */
  readonly inFlight: number
  /** This job's fair share of the budget (may be fractional). */
  readonly share: number
  /** One request may start now (true: counted until give()), or not (false: the job waits to be woken). */
  tryTake: () => boolean
  /** `count` requests of this job settled (or never started): their slots are free again. */
  give: (count?: number) => void
  /**
   * The sender's turn is over. `wasRefused`: it stopped because tryTake() said no, so it
   * waits to be woken; otherwise it wants no more slots now. Wakes a waiting job when a
   * slot is free.
   */
  endTurn: (wasRefused: boolean) => void
  /** A paused or stopping job wants no slots; its share goes to the others until it is active again. */
  setActive: (isActive: boolean) => void
  /** The job's run has ended: its slots (even unsettled ones) go back and it takes no more part. */
  leave: () => void
}

/** What every job's share reads and writes: the instance's totals. */
interface Ledger {
  readonly limit: number
  inFlight: number
  /** Jobs whose last turn ended refused. */
  waiting: number
  /** Of those, jobs below their share: while there is one, nobody above theirs takes a slot. */
  needy: number
  readonly members: Member[]
}

export class InFlightBudget {
  readonly #ledger: Ledger

  constructor (limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`in-flight budget must be a positive integer, got ${limit}`)
    this.#ledger = { limit, inFlight: 0, waiting: 0, needy: 0, members: [] }
  }

  get limit (): number {
    return this.#ledger.limit
  }

  /** Requests in flight across every job. */
  get inFlight (): number {
    return this.#ledger.inFlight
  }

  /** Jobs holding a share. */
  get jobs (): number {
    return this.#ledger.members.length
  }

  /**
   * A job's run joins: `owner` is its API key's fingerprint ('' when the API is open), `cap`
   * its concurrency, `wake` is called (synchronously: defer the work) when it may take a slot.
   */
  join (owner: string, cap: number, wake: () => void): JobShare {
    const member = new Member(this.#ledger, owner, cap, wake)
    this.#ledger.members.push(member)
    rebalance(this.#ledger)
    return member
  }
}

/**
 * Not exported: its fields are the budget's bookkeeping, written by rebalance() and
 * wakeFurthestBelow() across members, and seen from outside only through JobShare.
 */
class Member implements JobShare {
  inFlight = 0
  share = 0
  isActive = true
  isWaiting = false
  isNeedy = false
  hasLeft = false

  constructor (
    readonly ledger: Ledger,
    readonly owner: string,
    readonly cap: number,
    readonly wake: () => void
  ) {}

  tryTake (): boolean {
    const ledger = this.ledger
    if (ledger.inFlight < ledger.limit && (this.inFlight < this.share || ledger.needy === 0) && !this.hasLeft) {
      ledger.inFlight++
      this.inFlight++
      if (this.isNeedy) this.updateNeedy()
      return true
    }
    return false
  }

  give (count = 1): void {
    if (this.hasLeft) return
    this.inFlight -= count
    this.ledger.inFlight -= count
    if (this.isWaiting) this.updateNeedy()
  }

  endTurn (wasRefused: boolean): void {
    if (!this.hasLeft) this.#setWaiting(wasRefused)
    const ledger = this.ledger
    if (ledger.waiting > 0 && ledger.inFlight < ledger.limit) wakeFurthestBelow(ledger)
  }

  setActive (isActive: boolean): void {
    if (this.hasLeft || isActive === this.isActive) return
    this.isActive = isActive
    this.#setWaiting(false)
    rebalance(this.ledger)
  }

  leave (): void {
    if (this.hasLeft) return
    this.#setWaiting(false)
    this.hasLeft = true
    const ledger = this.ledger
    ledger.inFlight -= this.inFlight
    this.inFlight = 0
    ledger.members.splice(ledger.members.indexOf(this), 1)
    rebalance(ledger)
  }

  /** Needy: waiting while below its share. */
  updateNeedy (): void {
    const isNeedy = this.isWaiting && this.inFlight < this.share
    if (isNeedy === this.isNeedy) return
    this.isNeedy = isNeedy
    this.ledger.needy += isNeedy ? 1 : -1
  }

  #setWaiting (isWaiting: boolean): void {
    if (isWaiting !== this.isWaiting) {
      this.isWaiting = isWaiting
      this.ledger.waiting += isWaiting ? 1 : -1
    }
    this.updateNeedy()
  }
}

/** Wakes the waiting job with the lowest in-flight / share: a needy one when there is one. */
function wakeFurthestBelow (ledger: Ledger): void {
  let best: Member | null = null
  for (const member of ledger.members) {
    if (!member.isWaiting || member.share === 0) continue
    if (best === null || member.inFlight * best.share < best.inFlight * member.share) best = member
  }
  best?.wake()
}

/** New shares for every job (two-level water-filling), then who is needy under them. */
function rebalance (ledger: Ledger): void {
  const byOwner = new Map<string, Member[]>()
  for (const member of ledger.members) {
    member.share = 0
    if (!member.isActive) continue
    const jobs = byOwner.get(member.owner)
    if (jobs === undefined) byOwner.set(member.owner, [member])
    else jobs.push(member)
  }
  const owners = [...byOwner.values()]
  const ownerShares = waterFill(ledger.limit, owners.map((jobs) => jobs.reduce((sum, job) => sum + job.cap, 0)))
  owners.forEach((jobs, i) => {
    const shares = waterFill(ownerShares[i] ?? 0, jobs.map((job) => job.cap))
    jobs.forEach((job, j) => { job.share = shares[j] ?? 0 })
  })
  for (const member of ledger.members) member.updateNeedy()
  if (ledger.waiting > 0 && ledger.inFlight < ledger.limit) wakeFurthestBelow(ledger)
}

/**
 * Splits `total` as equally as the caps allow: each gets min(cap, an equal part of what
 * the smaller ones left). Never more than `total` in all, nor more than a cap.
 */
export function waterFill (total: number, caps: readonly number[]): number[] {
  const shares = new Array<number>(caps.length).fill(0)
  const order = caps.map((_, i) => i).sort((a, b) => (caps[a] ?? 0) - (caps[b] ?? 0))
  let left = total
  let count = caps.length
  for (const i of order) {
    const share = Math.min(caps[i] ?? 0, left / count)
    shares[i] = share
    left -= share
    count--
  }
  return shares
}
