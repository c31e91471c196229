/**
 * GET /openapi.json: the OpenAPI 3.1 document of every route in routes.ts, its parameters,
 * answers and error codes. spec/api/openapi.spec.ts fails when a route has no path here, and
 * every answer the API specs receive is validated against it, so it cannot drift.
 */
import { VERSION } from '../../version.js'
import { ERROR_CODES, schemas } from './schemas.js'

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: object): object => ({ 'application/json': { schema } })
const answer = (description: string, schema: object, headers?: object): object =>
  ({ description, content: json(schema), ...(headers === undefined ? {} : { headers }) })
const error = (description: string): object => answer(description, ref('Error'))
const status = (description: string): object => answer(description, ref('JobStatus'))

/** Answers any route can give: auth, store outage, bugs. */
const common = {
  401: { $ref: '#/components/responses/Unauthorized' },
  500: { $ref: '#/components/responses/Internal' }
}
const store = { 503: error('store_unavailable: Redis did not answer within about 2 s') }
const jobId = { name: 'id', in: 'path', required: true, description: 'A job_id (a primarykey also works, naming its latest job).', schema: { type: 'string' } }
const jobErrors = { ...common, ...store, 404: error('not_found: no such job, or one of another API key') }
const jobAction = (summary: string, allowed: string): object => ({
  summary,
  parameters: [jobId],
  responses: { 200: status('The status object after the change'), 409: error(`invalid_state: the job is not ${allowed}, or runs on another instance`), ...jobErrors }
})
const integer = (name: string, description: string, minimum = 0, maximum?: number): object =>
  ({ name, in: 'query', required: false, description: `${description} Decimal digits only.`, schema: { type: 'integer', minimum, ...(maximum === undefined ? {} : { maximum }) } })

const accepted = answer('Accepted: spooled (fsynced) and registered', ref('Accepted'), {
  'X-Job-ID': { schema: { type: 'string' } },
  Location: { schema: { type: 'string' } }
})

export const openapiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Chronos',
    version: VERSION,
    description: 'Push huge NDJSON batches to HTTP endpoints. Error answers are `{"error":{"code","message","details"}}`; codes: ' + ERROR_CODES.join(', ') + '.'
  },
  components: {
    schemas,
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Required on every route but /healthz, /readyz, /metrics and /ui/ when CHRONOS_API_KEYS is set.' } },
    responses: {
      Unauthorized: { ...error('unauthorized: missing or unknown API key'), headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
      Internal: error('internal: an unexpected error (details are logged, not shown)')
    }
  },
  security: [{}, { bearer: [] }],
  paths: {
    '/run': {
      post: {
        summary: 'Upload a job: NDJSON (line 1 the config, every further line a record, DESIGN §1) or one JSON document {config, records} (DESIGN §10)',
        parameters: [{ name: 'dry_run', in: 'query', required: false, description: 'true: validate and probe the target, send nothing (DESIGN §8).', schema: { enum: ['true', 'false'] } }],
        requestBody: {
          required: true,
          content: {
            'application/x-ndjson': { schema: { type: 'string', description: 'Line 1: a JobConfig as JSON; then one record {id, payload} per line' } },
            'application/jsonl': { schema: { type: 'string' } },
            'application/x-jsonlines': { schema: { type: 'string' } },
            'application/json': {
              schema: {
                type: 'object',
                required: ['config', 'records'],
                additionalProperties: false,
                properties: { config: ref('JobConfig'), records: { type: 'array', items: { type: 'object', required: ['id', 'payload'] } } }
              }
            }
          }
        },
        responses: {
          200: answer('Dry run: the upload is valid (nothing was spooled or sent)', ref('DryRun')),
          202: accepted,
          400: error('invalid_config, invalid_record (details: up to 20 {line, reason}; JSON uploads {record, reason}, 0-based), empty_job or invalid_request'),
          403: error('target_forbidden: the target policy refuses the target or callback_url'),
          409: error('job_conflict: a job with this primarykey is queued, running or paused (its id in error.job_id)'),
          413: error('payload_too_large or line_too_large'),
          415: error('unsupported_media_type: another content type, charset or encoding'),
          503: error('store_unavailable or shutting_down'),
          507: error('insufficient_storage: the spool disk is full'),
          ...common
        }
      }
    },
    '/status': {
      get: {
        summary: 'The status object of a job, by job_id or primarykey (its latest job)',
        parameters: [{ name: 'key', in: 'query', required: true, schema: { type: 'string' } }],
        responses: { 200: status('The status object'), 400: error('invalid_request: key missing'), ...jobErrors }
      }
    },
    '/info': {
      get: { summary: 'Name, version, uptime, Redis reachability, jobs, effective limits', responses: { 200: answer('Service facts, no secrets', ref('Info')), ...common } }
    },
    '/jobs': {
      get: {
        summary: 'The caller\'s jobs, newest first, in full pages',
        parameters: [
          { name: 'state', in: 'query', required: false, schema: { enum: schemas.JobStatus.properties.state.enum } },
          { name: 'primarykey', in: 'query', required: false, schema: { type: 'string' } },
          integer('limit', 'Page size, 1–100 (default 20).', 1, 100),
          { name: 'cursor', in: 'query', required: false, description: 'next_cursor of the previous page (opaque).', schema: { type: 'string' } },
          integer('offset', 'Deprecated: matching jobs to skip.')
        ],
        responses: { 200: answer('A page of status objects', ref('JobList')), 400: error('invalid_request: a bad filter, limit, offset or cursor'), ...common, ...store }
      }
    },
    '/jobs/{id}': {
      get: { summary: 'The status object of a job', parameters: [jobId], responses: { 200: status('The status object'), ...jobErrors } },
      delete: jobAction('Cancel: no request starts after the answer, in-flight ones are aborted', 'queued, running or paused')
    },
    '/jobs/{id}/pause': { post: jobAction('Pause: no request starts after the answer', 'queued or running') },
    '/jobs/{id}/resume': { post: jobAction('Resume a paused job', 'paused') },
    '/jobs/{id}/results': {
      get: {
        summary: 'Per-record results as NDJSON, streamed; readable while the job runs',
        parameters: [
          jobId,
          { name: 'outcome', in: 'query', required: false, schema: { enum: ['failed', 'succeeded'] } },
          integer('cursor', 'x-next-cursor of a previous answer: only results stored since.')
        ],
        responses: {
          200: {
            description: 'One ResultLine per line',
            headers: { 'X-Next-Cursor': { schema: { type: 'string' } } },
            content: { 'application/x-ndjson': { schema: ref('ResultLine') } }
          },
          400: error('invalid_request: a bad outcome or cursor'),
          ...jobErrors
        }
      }
    },
    '/jobs/{id}/events': {
      get: {
        summary: 'Server-Sent Events: `state` per transition, `progress` (the status object) about once a second, `final` at the end',
        parameters: [jobId, { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this event id.', schema: { type: 'string' } }],
        responses: { 200: { description: 'An event stream; data is JSON (a status object, or {state, at})', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...jobErrors }
      }
    },
    '/jobs/{id}/failed-records': {
      get: {
        summary: 'The failed records of a finished job as a valid upload: line 1 its config, then each failed record as uploaded',
        parameters: [jobId],
        responses: {
          200: { description: 'NDJSON, streamed; fix it and POST it to /run', content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
          409: error('invalid_state: the job is not finished, or has no failed records'),
          ...jobErrors,
          404: error('not_found: no such job, one of another API key, or its failed records are no longer kept (expired)')
        }
      }
    },
    '/jobs/{id}/retry-failed': {
      post: {
        summary: 'A new job that sends the failed records of a finished job again',
        parameters: [jobId],
        responses: {
          202: accepted,
          409: error('invalid_state (the job is live, has no failures, or they expired) or job_conflict'),
          507: error('insufficient_storage'),
          ...jobErrors
        }
      }
    },
    '/healthz': { get: { summary: 'The process answers (open)', security: [{}], responses: { 200: answer('Alive', ref('Health')), 500: common[500] } } },
    '/readyz': {
      get: {
        summary: 'Redis, spool and intake checked (open)',
        security: [{}],
        responses: { 200: answer('Ready', ref('Ready')), 503: answer('Not ready: the failing checks are false', ref('Ready')), 500: common[500] }
      }
    },
    '/metrics': {
      get: { summary: 'Prometheus text exposition (open)', security: [{}], responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, 500: common[500] } }
    },
    '/openapi.json': {
      get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: json({ type: 'object' }) }, ...common } }
    },
    '/ui': { get: { summary: 'Redirects to /ui/', security: [{}], responses: { 301: { description: 'To /ui/' } } } },
    '/ui/': {
      get: { summary: 'The dashboard (open; it asks for a key itself)', security: [{}], responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } }
    },
    '/ui/{file}': {
      get: {
        summary: 'A dashboard asset (open)',
        security: [{}],
        parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          200: { description: 'The asset', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } }, 'image/svg+xml': { schema: { type: 'string' } } } },
          404: error('not_found')
        }
      }
    }
  }
}
