/**
 * The JSON Schemas (draft 2020-12, as OpenAPI 3.1 takes them) of every body Chronos answers
 * with. Objects leave `additionalProperties` open where other features add fields over time
 * (the status object, say), and closed where the shape is the contract (errors).
 * spec/helpers/openapi-check.ts validates every answer the API specs receive against these.
 */
const nullableNumber = { type: ['number', 'null'] }
const nullableString = { type: ['string', 'null'] }
const counts = { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } }
const JOB_STATES = ['queued', 'running', 'paused', 'completed', 'cancelled', 'failed']

/** Every wire code an HTTP answer can carry (DESIGN §1, STYLE.md error table). */
export const ERROR_CODES = [
  'unsupported_media_type', 'invalid_config', 'invalid_record', 'empty_job', 'payload_too_large',
  'line_too_large', 'job_conflict', 'unauthorized', 'target_forbidden', 'store_unavailable',
  'insufficient_storage', 'shutting_down', 'not_found', 'invalid_request', 'invalid_state',
  'method_not_allowed', 'not_implemented', 'headers_too_large', 'request_timeout', 'internal'
]

export const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'details'],
        additionalProperties: false,
        properties: {
          code: { type: 'string', enum: ERROR_CODES },
          message: { type: 'string' },
          details: {
            type: 'array',
            maxItems: 20,
            description: 'For invalid_record, invalid_config and line_too_large: {line, reason}, lines counted from 1 (JSON uploads: {record, reason}, from 0; {reason} alone for the config).',
            items: {
              type: 'object',
              required: ['reason'],
              additionalProperties: false,
              properties: { line: { type: 'integer', minimum: 1 }, record: { type: 'integer', minimum: 0 }, reason: { type: 'string' } }
            }
          },
          job_id: { type: 'string', description: 'job_conflict: the live job holding the primarykey.' }
        }
      }
    }
  },
  JobStatus: {
    type: 'object',
    description: 'The status object (DESIGN §3). count == succeeded + failed; times in ms.',
    required: ['job_id', 'primarykey', 'state', 'total', 'count', 'succeeded', 'failed', 'pending', 'unsent', 'retries',
      'min_time', 'max_time', 'avg_time', 'p50_time', 'p95_time', 'p99_time', 'status_codes', 'errors',
      'submitted_at', 'started_at', 'finished_at', 'rate', 'eta_ms', 'instance', 'lease_expires_at', 'concurrency_limit', 'circuit'],
    properties: {
      job_id: { type: 'string', pattern: '^job-' },
      primarykey: { type: 'string' },
      state: { type: 'string', enum: JOB_STATES },
      total: { type: 'integer', minimum: 0 },
      count: { type: 'integer', minimum: 0 },
      succeeded: { type: 'integer', minimum: 0 },
      failed: { type: 'integer', minimum: 0 },
      pending: { type: 'integer', minimum: 0 },
      unsent: { type: 'integer', minimum: 0, description: 'Records never sent because the job was cancelled.' },
      retries: { type: 'integer', minimum: 0 },
      min_time: nullableNumber,
      max_time: nullableNumber,
      avg_time: nullableNumber,
      p50_time: nullableNumber,
      p95_time: nullableNumber,
      p99_time: nullableNumber,
      status_codes: { ...counts, description: 'Final HTTP status of each processed record, by code.' },
      errors: { ...counts, description: 'Failure reasons (timeout, connect_error, tls_error, http_status, ...), by reason.' },
      submitted_at: nullableString,
      started_at: nullableString,
      finished_at: nullableString,
      rate: { ...nullableNumber, description: 'Records counted per second since the job started.' },
      eta_ms: nullableNumber,
      instance: { type: 'string', description: 'The instance holding the job\'s lease, or the last one that held it (or registered it).' },
      lease_expires_at: { ...nullableString, description: 'When the holder\'s lease ends unless renewed; null when no instance holds the job.' },
      concurrency_limit: { type: 'integer', minimum: 1, description: 'The live in-flight limit: `concurrency`, unless adaptive_concurrency moves it (at most once a second).' },
      circuit: { type: 'string', enum: ['closed', 'open', 'half_open'], description: 'The job\'s circuit breaker: open while its target looks down, half_open while one probe is out.' },
      pause_reason: { type: 'string', enum: ['circuit_open'], description: 'Why a paused job paused itself: its circuit stayed open CHRONOS_CIRCUIT_MAX_OPEN_MS. Absent for a pause on request.' },
      parent_job_id: { type: 'string' },
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' } }
      }
    }
  },
  JobConfig: {
    type: 'object',
    description: 'Line 1 of an NDJSON upload, or `config` of a JSON one (DESIGN §1, docs/api.md). Any other field is refused with invalid_config.',
    required: ['primarykey', 'protocol', 'host', 'port', 'path'],
    additionalProperties: false,
    properties: {
      primarykey: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$' },
      protocol: { enum: ['http', 'https'] },
      host: { type: 'string', description: 'DNS name or IP literal, no scheme, port or path' },
      port: { type: ['integer', 'string'], minimum: 1, maximum: 65535 },
      path: { type: 'string', pattern: '^/' },
      metadata: { type: 'array', maxItems: 64, items: { type: 'object', required: ['key', 'value'], properties: { key: { type: 'string' }, value: { type: 'string' } } } },
      method: { enum: ['POST', 'PUT', 'PATCH'], default: 'POST' },
      concurrency: { type: 'integer', minimum: 1, description: 'In-flight requests, at most CHRONOS_MAX_CONCURRENCY; with adaptive_concurrency, the ceiling' },
      adaptive_concurrency: { type: ['boolean', 'null'], default: false, description: 'The in-flight limit starts low, grows while the target answers well, falls on 429, 503, timeouts and connection errors (DESIGN §8)' },
      rate_limit: { type: ['integer', 'null'], minimum: 1, maximum: 100000, description: 'Starts per second, spaced evenly (retries included)' },
      rate_burst: { type: ['integer', 'null'], minimum: 1, description: 'Starts that may go at once after an idle spell, at most rate_limit (default 1)' },
      timeout_ms: { type: 'integer', minimum: 1, maximum: 600000 },
      max_attempts: { type: 'integer', minimum: 1, maximum: 10 },
      callback_url: { type: ['string', 'null'], description: 'Receives the status object when the job ends, or pauses itself (circuit_open)' }
    }
  },
  Accepted: {
    type: 'object',
    required: ['message', 'job_id', 'primarykey', 'records', 'status_url'],
    additionalProperties: false,
    properties: {
      message: { const: 'Job accepted' },
      job_id: { type: 'string', pattern: '^job-' },
      primarykey: { type: 'string' },
      records: { type: 'integer', minimum: 1 },
      status_url: { type: 'string' },
      parent_job_id: { type: 'string', description: 'retry-failed: the job whose failures this one sends again.' }
    }
  },
  DryRun: {
    type: 'object',
    required: ['dry_run', 'primarykey', 'records', 'target'],
    additionalProperties: false,
    properties: {
      dry_run: { const: true },
      primarykey: { type: 'string' },
      records: { type: 'integer', minimum: 1, description: 'Records the upload holds (blank lines not counted)' },
      target: {
        type: 'object',
        required: ['url', 'addresses', 'reachable', 'connect_ms', 'error'],
        additionalProperties: false,
        properties: {
          url: { type: 'string', description: 'protocol://host:port of the target' },
          addresses: { type: 'array', items: { type: 'string' }, description: 'What the host resolved to' },
          reachable: { type: 'boolean', description: 'One connection (and TLS handshake for https) succeeded' },
          connect_ms: { ...nullableNumber, description: 'Time to a usable connection; null when unreachable' },
          error: {
            type: ['string', 'null'],
            enum: ['dns_error', 'target_forbidden', 'connect_error', 'timeout', 'tls_error', null],
            description: 'Why the target is unreachable; null when reachable'
          }
        }
      }
    }
  },
  JobList: {
    type: 'object',
    required: ['jobs', 'next_cursor', 'next_offset'],
    additionalProperties: false,
    properties: {
      jobs: { type: 'array', items: { $ref: '#/components/schemas/JobStatus' } },
      next_cursor: { ...nullableString, description: 'Pass as `cursor` for the next page; null on the last one.' },
      next_offset: { type: ['integer', 'null'], description: 'Offset paging (deprecated): the next offset, null on the last page or with a cursor.' }
    }
  },
  ResultLine: {
    type: 'object',
    description: 'One line of GET /jobs/{id}/results.',
    required: ['id', 'ok', 'status', 'attempts', 'time_ms', 'error'],
    properties: {
      id: { type: ['string', 'integer'] },
      ok: { type: 'boolean' },
      status: { type: ['integer', 'null'] },
      attempts: { type: 'integer', minimum: 0 },
      time_ms: { type: 'number' },
      error: { ...nullableString, description: 'A reason code: http_status, timeout, connect_error, tls_error, target_forbidden, cancelled, ...' },
      response: { type: 'string', description: 'The first 512 bytes of a failed answer\'s body (error http_status).' },
      detail: { type: 'string', description: 'The cause of a tls_error: the certificate or handshake error code, e.g. CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID.' }
    }
  },
  Info: {
    type: 'object',
    required: ['name', 'version', 'uptime_s', 'node', 'redis', 'jobs', 'limits'],
    properties: {
      name: { const: 'chronos' },
      version: { type: 'string' },
      uptime_s: { type: 'integer' },
      node: { type: 'string' },
      instance_id: { type: 'string' },
      redis: {
        type: 'object',
        required: ['reachable', 'cluster'],
        properties: {
          reachable: { type: 'boolean', description: 'Redis (on a cluster: every master) answered a PING within 500 ms' },
          cluster: { type: 'boolean', description: 'Chronos runs on Redis Cluster (CHRONOS_REDIS_CLUSTER_NODES)' }
        }
      },
      accepting_uploads: { type: 'boolean' },
      jobs: { type: 'object', properties: { active: { type: 'integer' }, queued: { type: 'integer', description: 'Jobs waiting in the fleet\'s queue.' } } },
      leases: {
        type: 'object',
        description: 'This instance\'s leases (docs/scale-out.md): held now, and since start the jobs taken over from an expired lease and the runs stopped by a newer fencing token.',
        required: ['held', 'lease_ms', 'takeovers', 'fenced'],
        properties: { held: { type: 'integer' }, lease_ms: { type: 'integer' }, takeovers: { type: 'integer' }, fenced: { type: 'integer' } }
      },
      event_loop_delay_p99_ms: { type: 'number' },
      memory_mb: { type: 'object', additionalProperties: { type: 'number' } },
      limits: { type: 'object' }
    }
  },
  Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
  Ready: {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { enum: ['ready', 'not_ready'] },
      checks: { type: 'object', additionalProperties: { type: 'boolean' } },
      spool_free_bytes: { type: 'number' }
    }
  }
}
