/**
 * POST /run?dry_run=true (DESIGN §8): the whole upload goes through the same framing checks
 * and line validator as a real one, so it gets exactly the same answers (400, 403, 409,
 * 413, 415), but into a sink that discards: no spool file, no registration, no receipt,
 * nothing written to Redis (the 409 check only reads). Then the target is probed: resolved,
 * checked against the connect-time policy and connected to once (TLS included).
 */
import type { IncomingMessage } from 'node:http'
import { Writable, type Readable } from 'node:stream'
import type { DeliveryConfig, UploadConfig } from '../config.js'
import { ShuttingDownError } from '../errors.js'
import type { JobSpec } from '../domain/job-spec.js'
import { probeTarget, type ProbeResult } from '../delivery/target-probe.js'
import type { TargetPolicy } from '../delivery/target-policy.js'
import type { TlsContexts } from '../delivery/tls-contexts.js'
import { checkFraming, createIntake, readUpload } from './read-upload.js'
import { specLimits } from './accept-upload.js'

/** The probe waits at most this long for a connection (or the job's timeout_ms, if shorter). */
export const PROBE_TIMEOUT_MS = 5000

export interface DryRunDeps {
  readonly upload: UploadConfig
  readonly delivery: DeliveryConfig
  readonly policy: TargetPolicy
  /** The secure contexts delivery uses, so the probe's handshake trusts what records would. */
  readonly tlsContexts?: TlsContexts
  /** The checks a real upload runs on line 1 (target policy, 409); must write nothing. */
  readonly onSpec: (spec: JobSpec) => Promise<void> | void
  readonly isAcceptingUploads: () => boolean
}

export interface DryRunReport {
  readonly primaryKey: string
  readonly records: number
  readonly target: ProbeResult
}

export async function dryRunUpload (request: { body: Readable, headers: IncomingMessage['headers'] }, deps: DryRunDeps): Promise<DryRunReport> {
  if (!deps.isAcceptingUploads()) throw new ShuttingDownError('Chronos is shutting down and takes no new uploads')
  const framing = checkFraming(request.headers, deps.upload.maxUploadBytes)
  const validator = createIntake(framing, {
    maxLineBytes: deps.upload.maxLineBytes,
    maxUploadBytes: deps.upload.maxUploadBytes,
    specLimits: specLimits(deps.delivery),
    onSpec: deps.onSpec
  })
  await readUpload(request.body, framing, validator, discardingSink())
  const spec = validator.spec as JobSpec
  const secureContext = deps.tlsContexts?.forTarget(spec.host, spec.port)
  const target = await probeTarget(spec, {
    policy: deps.policy,
    timeoutMs: Math.min(spec.timeoutMs, PROBE_TIMEOUT_MS),
    ...(secureContext === undefined ? {} : { tls: { secureContext } })
  })
  return { primaryKey: spec.primaryKey, records: validator.records, target }
}

function discardingSink (): Writable {
  return new Writable({
    highWaterMark: 256 * 1024,
    write (_chunk, _encoding, callback) { callback() },
    writev (_chunks, callback) { callback() }
  })
}
