/**
 * Gathers the sender's outcomes and hands them on as one array per turn of the event loop
 * (setImmediate): the responses read in one poll phase cross to the sink in one hop,
 * instead of one push (and one sink write) per record.
 */
import type { Outcome } from '../domain/outcome.js'
import type { JobRecord } from '../domain/record.js'
import { toOutcome, type Attempt } from '../delivery/send-record.js'

export class OutcomeGatherer {
  readonly #handOn: (outcomes: Outcome[]) => void
  #outcomes: Outcome[] = []
  #timer: NodeJS.Immediate | null = null

  constructor (handOn: (outcomes: Outcome[]) => void) {
    this.#handOn = handOn
  }

  add (outcome: Outcome): void {
    this.#outcomes.push(outcome)
    this.#timer ??= setImmediate(() => {
      this.#timer = null
      this.flush()
    })
  }

  /** A record's outcome from its last attempt. */
  addFinal (record: JobRecord, attempt: Attempt, attempts: number): void {
    this.add(toOutcome(record, attempt, attempts))
  }

  /** An unreadable line, or a record that threw (with the attempts it had made). */
  addInvalid (index: number, idJson: string, attempts: number): void {
    this.add({ index, idJson, ok: false, status: null, attempts, timeMs: 0, error: 'invalid_record' })
  }

  /** Hands on what has been gathered now (nothing when empty). */
  flush (): void {
    if (this.#outcomes.length === 0) return
    const outcomes = this.#outcomes
    this.#outcomes = []
    this.#handOn(outcomes)
  }

  /** Drops the pending hand-on (the stream is destroyed). */
  cancel (): void {
    if (this.#timer !== null) clearImmediate(this.#timer)
    this.#timer = null
  }
}
