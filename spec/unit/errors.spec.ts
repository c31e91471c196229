// The error catalogue of STYLE.md ("Error classes"), one row per wire code, in undici's
// table-driven style: every class keeps its code, HTTP status and expose flag.
import { expect } from 'chai'
import * as errors from '../../lib/errors.js'
import {
  ChronosError, ClientAbortedError, ConfigError, EmptyJobError, InsufficientStorageError, InvalidConfigError,
  InvalidRecordError, InvalidRequestError, InvalidStateError, JobConflictError, LineTooLargeError,
  NotFoundError, PayloadTooLargeError, ShuttingDownError, StoreUnavailableError, TargetForbiddenError,
  UnauthorizedError, UnsupportedMediaTypeError, errorCode, isChronosError, type ErrorOptions,
  ConnectForbiddenError, FencedError, InternalError, LineTooLongError, StateLostError, isFenced, isStateLost
} from '../../lib/errors.js'

type ErrorClass = new (message: string, options?: ErrorOptions) => ChronosError

const catalogue: Array<[ErrorClass, string, number]> = [
  [UnsupportedMediaTypeError, 'unsupported_media_type', 415],
  [InvalidConfigError, 'invalid_config', 400],
  [InvalidRecordError, 'invalid_record', 400],
  [EmptyJobError, 'empty_job', 400],
  [PayloadTooLargeError, 'payload_too_large', 413],
  [LineTooLargeError, 'line_too_large', 413],
  [UnauthorizedError, 'unauthorized', 401],
  [TargetForbiddenError, 'target_forbidden', 403],
  [StoreUnavailableError, 'store_unavailable', 503],
  [InsufficientStorageError, 'insufficient_storage', 507],
  [ShuttingDownError, 'shutting_down', 503],
  [NotFoundError, 'not_found', 404],
  [InvalidRequestError, 'invalid_request', 400],
  [InvalidStateError, 'invalid_state', 409],
  [ClientAbortedError, 'client_aborted', 499]
]

/** Errors that end something inside Chronos and never reach a client: class and code. */
const internal: Array<[new (message: string) => InternalError, string]> = [
  [StateLostError, 'state_lost'],
  [FencedError, 'fenced'],
  [LineTooLongError, 'line_too_long'],
  [ConnectForbiddenError, 'target_forbidden']
]

describe('the catalogue', () => {
  // Derived from errors.ts itself: a new error class without its row here fails this test.
  const exported = (Object.values(errors) as unknown[]).filter((value): value is abstract new (...args: never[]) => Error =>
    typeof value === 'function' && value.prototype instanceof Error)

  it('has a row for every ChronosError subclass errors.ts exports', () => {
    const wire = exported.filter((type) => type.prototype instanceof ChronosError).map((type) => type.name).sort()
    expect(wire).to.deep.equal([...catalogue.map(([type]) => type.name), JobConflictError.name].sort())
  })

  it('has a row for every internal error errors.ts exports', () => {
    const inner = exported.filter((type) => type.prototype instanceof InternalError).map((type) => type.name).sort()
    expect(inner).to.deep.equal(internal.map(([type]) => type.name).sort())
  })

  it('knows every error class errors.ts exports (wire, internal, or ConfigError)', () => {
    const known = new Set<unknown>([ChronosError, InternalError, ConfigError, JobConflictError, ...catalogue.map(([type]) => type), ...internal.map(([type]) => type)])
    expect(exported.filter((type) => !known.has(type)).map((type) => type.name)).to.deep.equal([])
  })
})

describe('InternalError subclasses', () => {
  for (const [ErrorType, code] of internal) {
    it(`${ErrorType.name} has code ${code} and is no ChronosError`, () => {
      const err = new ErrorType('boom')
      expect(err.code).to.equal(code)
      expect(err.name).to.equal(ErrorType.name)
      expect(isChronosError(err)).to.equal(false)
      expect(errorCode(err)).to.equal(code)
    })
  }

  it('isStateLost() matches on the code only', () => {
    expect(isStateLost(new StateLostError('gone'))).to.equal(true)
    expect(isStateLost(Object.assign(new Error('x'), { code: 'state_lost' }))).to.equal(true)
    expect(isStateLost(new Error('state_lost'))).to.equal(false)
  })

  it('isFenced() matches on the code only', () => {
    expect(isFenced(new FencedError('taken over'))).to.equal(true)
    expect(isFenced(new StateLostError('gone'))).to.equal(false)
  })
})

describe('ChronosError subclasses', () => {
  for (const [ErrorType, code, status] of catalogue) {
    describe(ErrorType.name, () => {
      it(`has code ${code}, status ${status} and expose true`, () => {
        const err = new ErrorType('boom')
        expect(err.code).to.equal(code)
        expect(err.status).to.equal(status)
        expect(err.expose).to.equal(true)
      })

      it('is an Error and a ChronosError named after its class', () => {
        const err = new ErrorType('boom')
        expect(err).to.be.instanceOf(Error)
        expect(err).to.be.instanceOf(ChronosError)
        expect(err.name).to.equal(ErrorType.name)
        expect(err.message).to.equal('boom')
        expect(err.stack).to.be.a('string')
      })

      it('carries no details and no cause when given none', () => {
        const err = new ErrorType('boom')
        expect(err.details).to.equal(undefined)
        expect('cause' in err).to.equal(false)
      })

      it('keeps the details it is given', () => {
        const details = [{ line: 2, reason: 'not valid JSON' }, { line: 7, reason: 'not a JSON object' }]
        const err = new ErrorType('boom', { details })
        expect(err.details).to.deep.equal(details)
      })

      it('keeps the cause it is given', () => {
        const cause = Object.assign(new Error('disk full'), { code: 'ENOSPC' })
        const err = new ErrorType('boom', { cause })
        expect(err.cause).to.equal(cause)
      })

      it('keeps a cause that is not an Error', () => {
        expect(new ErrorType('boom', { cause: 'reason' }).cause).to.equal('reason')
      })

      it('is recognised by isChronosError()', () => {
        expect(isChronosError(new ErrorType('boom'))).to.equal(true)
      })

      it('is read by errorCode()', () => {
        expect(errorCode(new ErrorType('boom'))).to.equal(code)
      })
    })
  }

  it('gives every class a distinct code', () => {
    const codes = catalogue.map(([, code]) => code)
    expect(new Set(codes).size).to.equal(codes.length)
  })

  it('uses lowercase snake_case wire codes', () => {
    for (const [, code] of catalogue) expect(code).to.match(/^[a-z]+(_[a-z]+)*$/)
  })

  it('names each class after its code', () => {
    for (const [ErrorType, code] of catalogue) {
      const pascal = code.split('_').map((word) => word[0]?.toUpperCase() + word.slice(1)).join('')
      expect(ErrorType.name).to.equal(`${pascal}Error`)
    }
  })
})

describe('JobConflictError', () => {
  it('has code job_conflict, status 409 and expose true', () => {
    const err = new JobConflictError('held', 'job-1')
    expect(err.code).to.equal('job_conflict')
    expect(err.status).to.equal(409)
    expect(err.expose).to.equal(true)
  })

  it('names the job that holds the primarykey', () => {
    const err = new JobConflictError('held', 'job-0b8e4c1e-2f0d-4b8e-9c55-6f0b8f2b6a10')
    expect(err.jobId).to.equal('job-0b8e4c1e-2f0d-4b8e-9c55-6f0b8f2b6a10')
    expect(err.name).to.equal('JobConflictError')
    expect(err.message).to.equal('held')
    expect(err.details).to.equal(undefined)
    expect(err).to.be.instanceOf(ChronosError)
    expect(isChronosError(err)).to.equal(true)
  })
})

describe('ConfigError', () => {
  it('has code config_error and is named ConfigError', () => {
    const err = new ConfigError(['PORT is bad'])
    expect(err.code).to.equal('config_error')
    expect(err.name).to.equal('ConfigError')
    expect(err).to.be.instanceOf(Error)
  })

  it('lists every problem', () => {
    const problems = ['PORT must be an integer', 'LOG_LEVEL must be one of …', 'REDIS_URL must start with redis://']
    const err = new ConfigError(problems)
    expect(err.problems).to.deep.equal(problems)
    for (const problem of problems) expect(err.message).to.include(problem)
  })

  it('is no ChronosError: it never reaches HTTP', () => {
    const err = new ConfigError(['x'])
    expect(err).not.to.be.instanceOf(ChronosError)
    expect(isChronosError(err)).to.equal(false)
  })
})

describe('isChronosError()', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['a ChronosError subclass', new NotFoundError('gone'), true],
    ['an Error carrying code, status and expose (another copy of the module)',
      Object.assign(new Error('x'), { code: 'not_found', status: 404, expose: true }), true],
    ['a plain Error', new Error('x'), false],
    ['a system error with only a code', Object.assign(new Error('x'), { code: 'ENOENT' }), false],
    ['an Error with code and status but no expose', Object.assign(new Error('x'), { code: 'x', status: 400 }), false],
    ['an Error whose status is a string', Object.assign(new Error('x'), { code: 'x', status: '400', expose: true }), false],
    ['an Error whose code is a number', Object.assign(new Error('x'), { code: 1, status: 400, expose: true }), false],
    ['a plain object shaped like one', { code: 'not_found', status: 404, expose: true, message: 'x' }, false],
    ['null', null, false],
    ['undefined', undefined, false],
    ['a string', 'not_found', false]
  ]
  for (const [label, value, expected] of cases) {
    it(`answers ${String(expected)} for ${label}`, () => {
      expect(isChronosError(value)).to.equal(expected)
    })
  }
})

describe('errorCode()', () => {
  const cases: Array<[string, unknown, string | undefined]> = [
    ['a system error', Object.assign(new Error('x'), { code: 'ENOSPC' }), 'ENOSPC'],
    ['an undici-style error', Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), 'UND_ERR_CONNECT_TIMEOUT'],
    ['a ChronosError', new StoreUnavailableError('down'), 'store_unavailable'],
    ['a ConfigError', new ConfigError(['x']), 'config_error'],
    ['a plain object with a string code', { code: 'ECONNRESET' }, 'ECONNRESET'],
    ['an error with a numeric code', Object.assign(new Error('x'), { code: 500 }), undefined],
    ['an error without a code', new Error('x'), undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a string', 'ENOENT', undefined],
    ['a number', 42, undefined]
  ]
  for (const [label, value, expected] of cases) {
    it(`reads ${String(expected)} from ${label}`, () => {
      expect(errorCode(value)).to.equal(expected)
    })
  }
})
