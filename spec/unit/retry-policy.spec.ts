// Retry policy of DESIGN §2: which failed attempts are tried again, and after how long.
import { expect } from 'chai'
import {
  BACKOFF_BASE_MS, BACKOFF_CAP_MS, RETRY_AFTER_CAP_MS, RETRYABLE_STATUSES,
  holdMs, isOutage, isOverload, isRetryable, parseRetryAfter, retryDelayMs
} from '../../lib/delivery/retry-policy.js'
import type { Attempt } from '../../lib/delivery/send-record.js'
import type { FailureReason } from '../../lib/domain/outcome.js'

function failedWith (status: number, retryAfter?: string): Attempt {
  const attempt: Attempt = { ok: false, status, timeMs: 5, error: 'http_status' }
  return retryAfter === undefined ? attempt : { ...attempt, retryAfter }
}

function erroredWith (error: FailureReason): Attempt {
  return { ok: false, status: null, timeMs: 5, error }
}

const SUCCEEDED: Attempt = { ok: true, status: 200, timeMs: 5, error: null }
const LOWEST = (): number => 0
const HIGHEST = (): number => 0.999
const NOW = Date.parse('2015-10-21T07:28:00Z')

describe('isRetryable()', () => {
  for (const status of [408, 425, 429, 500, 502, 503, 504]) {
    it(`retries ${status}`, () => {
      expect(isRetryable(failedWith(status))).to.equal(true)
    })
  }

  it('lists exactly the retryable statuses of DESIGN §2', () => {
    expect([...RETRYABLE_STATUSES].sort()).to.deep.equal([408, 425, 429, 500, 502, 503, 504])
  })

  for (const error of ['timeout', 'connect_error'] as const) {
    it(`retries a ${error}`, () => {
      expect(isRetryable(erroredWith(error))).to.equal(true)
    })
  }

  for (const status of [301, 400, 401, 403, 404, 409, 422, 501, 505]) {
    it(`does not retry ${status}`, () => {
      expect(isRetryable(failedWith(status))).to.equal(false)
    })
  }

  for (const error of ['cancelled', 'target_forbidden'] as const) {
    it(`does not retry ${error}`, () => {
      expect(isRetryable(erroredWith(error))).to.equal(false)
    })
  }

  it('does not retry a success', () => {
    expect(isRetryable(SUCCEEDED)).to.equal(false)
    expect(isRetryable({ ...SUCCEEDED, status: 204 })).to.equal(false)
  })
})

describe('retryDelayMs()', () => {
  it('gives a delay for every retryable failure with attempts left', () => {
    const retryable = [...[408, 425, 429, 500, 502, 503, 504].map((status) => failedWith(status)), erroredWith('timeout'), erroredWith('connect_error')]
    for (const attempt of retryable) {
      expect(retryDelayMs(attempt, 1, 3, NOW, LOWEST), `${attempt.status ?? attempt.error}`).to.be.a('number')
    }
  })

  it('finishes a success at once', () => {
    expect(retryDelayMs(SUCCEEDED, 1, 3, NOW, LOWEST)).to.equal(null)
  })

  for (const status of [400, 401, 404, 409, 422, 501]) {
    it(`finishes a record failing with ${status} at once`, () => {
      expect(retryDelayMs(failedWith(status), 1, 3, NOW, LOWEST)).to.equal(null)
    })
  }

  it('finishes a record once its attempts are exhausted', () => {
    const attempt = failedWith(503)
    expect(retryDelayMs(attempt, 1, 3, NOW, LOWEST)).to.be.a('number')
    expect(retryDelayMs(attempt, 2, 3, NOW, LOWEST)).to.be.a('number')
    expect(retryDelayMs(attempt, 3, 3, NOW, LOWEST)).to.equal(null)
    expect(retryDelayMs(attempt, 4, 3, NOW, LOWEST)).to.equal(null)
    expect(retryDelayMs(erroredWith('timeout'), 1, 1, NOW, LOWEST)).to.equal(null)
  })

  it('finishes an exhausted record even when the target sent Retry-After', () => {
    expect(retryDelayMs(failedWith(429, '1'), 3, 3, NOW, LOWEST)).to.equal(null)
  })

  describe('backoff', () => {
    it('uses the base of DESIGN §2 (250 ms) and its cap (30 s)', () => {
      expect(BACKOFF_BASE_MS).to.equal(250)
      expect(BACKOFF_CAP_MS).to.equal(30_000)
    })

    it('waits 0 ms when the random draw is 0 (full jitter)', () => {
      for (let made = 1; made <= 12; made++) {
        expect(retryDelayMs(failedWith(503), made, 20, NOW, LOWEST)).to.equal(0)
      }
    })

    it('stays just under base × 2^(n-1) when the random draw is 0.999', () => {
      const expected: Array<[number, number]> = [[1, 249], [2, 499], [3, 999], [4, 1998], [5, 3996], [6, 7992], [7, 15984]]
      for (const [made, delay] of expected) {
        expect(retryDelayMs(failedWith(503), made, 20, NOW, HIGHEST), `after attempt ${made}`).to.equal(delay)
      }
    })

    it('caps the ceiling at 30 s', () => {
      for (const made of [8, 9, 12, 19]) {
        expect(retryDelayMs(failedWith(500), made, 20, NOW, HIGHEST), `after attempt ${made}`).to.equal(29_970)
      }
    })

    it('draws every delay within [0, ceiling)', () => {
      let draw = 0
      const random = (): number => (draw = (draw + 0.137) % 1)
      for (let made = 1; made <= 15; made++) {
        const ceiling = Math.min(30_000, 250 * 2 ** (made - 1))
        for (let i = 0; i < 20; i++) {
          const delay = retryDelayMs(erroredWith('connect_error'), made, 20, NOW, random) as number
          expect(delay).to.be.at.least(0).and.below(ceiling)
          expect(Number.isInteger(delay)).to.equal(true)
        }
      }
    })
  })

  describe('Retry-After', () => {
    it('honours delta-seconds instead of the backoff', () => {
      expect(retryDelayMs(failedWith(503, '5'), 1, 3, NOW, HIGHEST)).to.equal(5000)
      expect(retryDelayMs(failedWith(429, '0'), 1, 3, NOW, HIGHEST)).to.equal(0)
      expect(retryDelayMs(failedWith(429, ' 7 '), 1, 3, NOW, HIGHEST)).to.equal(7000)
    })

    it('honours an HTTP date, measured from nowMs', () => {
      expect(retryDelayMs(failedWith(503, 'Wed, 21 Oct 2015 07:28:30 GMT'), 1, 3, NOW, HIGHEST)).to.equal(30_000)
    })

    it('retries at once for an HTTP date in the past', () => {
      expect(retryDelayMs(failedWith(503, 'Wed, 21 Oct 2015 07:27:00 GMT'), 1, 3, NOW, HIGHEST)).to.equal(0)
    })

    it('caps Retry-After at 5 minutes', () => {
      expect(RETRY_AFTER_CAP_MS).to.equal(300_000)
      expect(retryDelayMs(failedWith(503, '301'), 1, 3, NOW, LOWEST)).to.equal(300_000)
      expect(retryDelayMs(failedWith(503, '86400'), 1, 3, NOW, LOWEST)).to.equal(300_000)
      expect(retryDelayMs(failedWith(503, '99999999999999999999'), 1, 3, NOW, LOWEST)).to.equal(300_000)
      expect(retryDelayMs(failedWith(503, 'Wed, 21 Oct 2015 08:28:00 GMT'), 1, 3, NOW, LOWEST)).to.equal(300_000)
    })

    it('keeps a Retry-After just under the cap', () => {
      expect(retryDelayMs(failedWith(503, '299'), 1, 3, NOW, LOWEST)).to.equal(299_000)
    })

    // Neither delta-seconds (1*DIGIT) nor an HTTP-date (RFC 9110 §10.2.3): fall back to backoff.
    for (const garbage of ['soon', '', '   ', '5 seconds', '1e3', '0x10', 'NaN', '-5', '1.5', 'abc 1']) {
      it(`falls back to the backoff for Retry-After ${JSON.stringify(garbage)}`, () => {
        expect(retryDelayMs(failedWith(503, garbage), 1, 3, NOW, HIGHEST)).to.equal(249)
        expect(retryDelayMs(failedWith(503, garbage), 3, 5, NOW, HIGHEST)).to.equal(999)
      })
    }
  })
})

describe('parseRetryAfter()', () => {
  it('reads delta-seconds as milliseconds', () => {
    expect(parseRetryAfter('120', NOW)).to.equal(120_000)
    expect(parseRetryAfter('0', NOW)).to.equal(0)
  })

  it('reads an IMF-fixdate relative to nowMs', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:29:00 GMT', NOW)).to.equal(60_000)
  })

  it('reads the obsolete RFC 850 and asctime date forms', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', NOW)).to.equal(60_000)
    expect(parseRetryAfter('Wed Oct 21 07:29:00 2015', Date.parse('2015-10-21T07:28:00'))).to.equal(60_000)
  })

  it('gives 0 for a date already past', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', NOW)).to.equal(0)
  })

  for (const garbage of ['soon', '', '5 seconds', '-5', '1.5', 'abc 1']) {
    it(`gives null for ${JSON.stringify(garbage)}`, () => {
      expect(parseRetryAfter(garbage, NOW)).to.equal(null)
    })
  }
})

describe('what a failed attempt says about the target (DESIGN §8)', () => {
  describe('isOutage(): the circuit breaker counts it', () => {
    for (const status of [502, 503, 504]) {
      it(`counts ${status}`, () => expect(isOutage(failedWith(status))).to.equal(true))
    }
    for (const error of ['timeout', 'connect_error'] as const) {
      it(`counts a ${error}`, () => expect(isOutage(erroredWith(error))).to.equal(true))
    }
    for (const status of [400, 404, 408, 429, 500, 501]) {
      it(`does not count ${status}: the target is up and answering`, () => expect(isOutage(failedWith(status))).to.equal(false))
    }
    for (const error of ['cancelled', 'request_error', 'target_forbidden', 'invalid_record'] as const) {
      it(`does not count ${error}`, () => expect(isOutage(erroredWith(error))).to.equal(false))
    }
    it('does not count a success', () => expect(isOutage(SUCCEEDED)).to.equal(false))
  })

  describe('isOverload(): adaptive concurrency cuts on it', () => {
    for (const status of [429, 503]) {
      it(`cuts on ${status}`, () => expect(isOverload(failedWith(status))).to.equal(true))
    }
    for (const error of ['timeout', 'connect_error'] as const) {
      it(`cuts on a ${error}`, () => expect(isOverload(erroredWith(error))).to.equal(true))
    }
    for (const status of [400, 500, 502, 504]) {
      it(`does not cut on ${status}`, () => expect(isOverload(failedWith(status))).to.equal(false))
    }
    it('does not cut on a success or a cancel', () => {
      expect(isOverload(SUCCEEDED)).to.equal(false)
      expect(isOverload(erroredWith('cancelled'))).to.equal(false)
    })
  })

  describe('holdMs(): a Retry-After on a 429 or 503 holds every start of the job', () => {
    it('holds for the seconds given', () => {
      expect(holdMs(failedWith(429, '3'), NOW)).to.equal(3000)
      expect(holdMs(failedWith(503, '0'), NOW)).to.equal(0)
    })
    it('holds until an HTTP date', () => {
      expect(holdMs(failedWith(503, 'Wed, 21 Oct 2015 07:28:10 GMT'), NOW)).to.equal(10_000)
    })
    it('caps the hold like a retry, at 5 minutes', () => {
      expect(holdMs(failedWith(429, '86400'), NOW)).to.equal(RETRY_AFTER_CAP_MS)
    })
    it('does not hold for another status, a garbled header or none', () => {
      expect(holdMs(failedWith(500, '3'), NOW)).to.equal(0)
      expect(holdMs(failedWith(302, '3'), NOW)).to.equal(0)
      expect(holdMs(failedWith(429, 'soon'), NOW)).to.equal(0)
      expect(holdMs(failedWith(429), NOW)).to.equal(0)
    })
  })
})
