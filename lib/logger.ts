/**
 * The root pino logger (the only importer of pino). NDJSON to stdout; children carry
 * component, reqId or jobId bindings, which pino serialises once per child.
 */
import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogConfig } from './config.js'
import { VERSION } from './version.js'

export type { Logger }

/** Secrets and payloads never reach a log line, even if a caller slips. */
const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'apiKey',
  'apiKeys',
  'payload',
  'metadata[*].value',
  'spec.metadata[*].value'
]

export function createLogger (config: LogConfig, destination?: DestinationStream): Logger {
  const options = {
    level: config.level,
    base: { service: 'chronos', version: VERSION },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
