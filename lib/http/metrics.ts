/**
 * The Prometheus registry and the few series Chronos exports, named once. Per-record
 * updates are one counter increment and one histogram observation (well under a
 * microsecond each); gauges that mirror live state are computed at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Outcome } from '../domain/outcome.js'

export interface MetricsSources {
  /** Jobs this instance holds, by state. */
  readonly jobsByState: () => Record<string, number>
  readonly inFlightRequests: () => number
  /** This instance's lease counts (held now; taken over and fenced since start). */
  readonly leases: () => { held: number, takeovers: number, fenced: number }
  readonly isRedisUp: () => boolean
  /** What each job running here sees of its target: its live concurrency limit and circuit. */
  readonly jobSignals: () => ReadonlyArray<{ readonly jobId: string, readonly concurrencyLimit: number, readonly circuit: string }>
  /** Circuits opened on this instance since it started. */
  readonly circuitOpens: () => number
}

export class Metrics {
  readonly registry = new Registry()
  /** Label children bound once: `inc()` on a child skips label hashing per record. */
  readonly #succeeded: Counter.Internal
  readonly #failed: Counter.Internal
  readonly #requestSeconds: Histogram.Internal<string>
  readonly #uploadBytes: Counter<'result'>

  constructor (sources: MetricsSources) {
    const registers = [this.registry]
    // Default metrics include nodejs_eventloop_lag_seconds and process memory.
    collectDefaultMetrics({ register: this.registry, prefix: 'chronos_' })
    const records = new Counter({
      name: 'chronos_records_total', help: 'Records finished, by outcome', labelNames: ['outcome'], registers
    })
    this.#succeeded = records.labels({ outcome: 'succeeded' })
    this.#failed = records.labels({ outcome: 'failed' })
    // Bound once, like the counters: Histogram.observe() builds an observer closure, a
    // labels object and an exemplar key list on every call; the bound child does not.
    this.#requestSeconds = new Histogram({
      name: 'chronos_request_duration_seconds',
      help: 'Duration of the last attempt of each record',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    }).labels()
    this.#uploadBytes = new Counter({
      name: 'chronos_upload_bytes_total', help: 'Decompressed upload bytes received, by result', labelNames: ['result'], registers
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'chronos_jobs',
      help: 'Jobs held by this instance, by state',
      labelNames: ['state'],
      registers,
      collect () {
        for (const [state, count] of Object.entries(sources.jobsByState())) this.set({ state }, count)
      }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'chronos_inflight_requests',
      help: 'Requests to targets in flight now',
      registers,
      collect () { this.set(sources.inFlightRequests()) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'chronos_leases_held',
      help: 'Job leases this instance holds now',
      registers,
      collect () { this.set(sources.leases().held) }
    })
    // Counters read at scrape time: the runner counts, prom-client reports.
    // eslint-disable-next-line no-new
    new Counter({
      name: 'chronos_lease_takeovers_total',
      help: 'Jobs this instance took over from an expired lease',
      registers,
      collect () { this.reset(); this.inc(sources.leases().takeovers) }
    })
    // eslint-disable-next-line no-new
    new Counter({
      name: 'chronos_fencing_refusals_total',
      help: 'Runs this instance stopped because it lost the job\'s lease (a newer token, or no renewal for a whole lease time)',
      registers,
      collect () { this.reset(); this.inc(sources.leases().fenced) }
    })
    // Per job, but only the jobs running here (at most CHRONOS_MAX_ACTIVE_JOBS series).
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'chronos_job_concurrency_limit',
      help: 'Live concurrency limit of each job running here (its concurrency unless adaptive_concurrency)',
      labelNames: ['job_id'],
      registers,
      collect () {
        this.reset()
        for (const { jobId, concurrencyLimit } of sources.jobSignals()) this.set({ job_id: jobId }, concurrencyLimit)
      }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'chronos_job_circuit_open',
      help: '1 while the circuit of a job running here is open or half_open (its target looks down), else 0',
      labelNames: ['job_id'],
      registers,
      collect () {
        this.reset()
        for (const { jobId, circuit } of sources.jobSignals()) this.set({ job_id: jobId }, circuit === 'closed' ? 0 : 1)
      }
    })
    // eslint-disable-next-line no-new
    new Counter({
      name: 'chronos_circuit_opens_total',
      help: 'Job circuits opened on this instance (a target judged down)',
      registers,
      collect () { this.reset(); this.inc(sources.circuitOpens()) }
    })
    // eslint-disable-next-line no-new
    new Gauge({
      name: 'chronos_redis_up',
      help: '1 when the Redis connection is ready',
      registers,
      collect () { this.set(sources.isRedisUp() ? 1 : 0) }
    })
  }

  recordOutcome (outcome: Outcome): void {
    if (outcome.ok) this.#succeeded.inc()
    else this.#failed.inc()
    this.#requestSeconds.observe(outcome.timeMs / 1000)
  }

  recordUpload (bytes: number, isAccepted: boolean): void {
    this.#uploadBytes.inc({ result: isAccepted ? 'accepted' : 'rejected' }, bytes)
  }
}
