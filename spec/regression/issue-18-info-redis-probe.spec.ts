// Issue 18 item 12: GET /info reported `redis.reachable` from ioredis's connection status,
// which stays 'ready' while Redis is frozen (SIGSTOPped, wedged, or a network that drops
// packets without a reset): /info said `true` to a Redis that answered nothing. It is now a
// real PING, time-boxed to 500 ms, and /readyz uses the same probe.
//
// Refs: issue 18 item 12
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { httpRequest } from '../helpers/http.js'
import { startFreezableProxy, type FreezableProxy } from '../helpers/freezable-proxy.js'
import { sharedRedis } from '../helpers/redis.js'

describe('issue 18: /info probes Redis for real', function () {
  this.timeout(20_000)
  let proxy: FreezableProxy
  let chronos: Chronos

  beforeEach(async function () {
    proxy = await startFreezableProxy(sharedRedis().host, sharedRedis().port)
    chronos = await startChronos({}, proxy.url)
  })

  afterEach(async function () {
    proxy.thaw()
    await chronos.cleanup()
    await proxy.close()
  })

  it('says reachable: true while Redis answers', async function () {
    const answer = await chronos.get('/info')
    expect(answer.status).to.equal(200)
    expect(answer.json.redis).to.deep.equal({ reachable: true, cluster: false })
  })

  describe('when Redis is frozen', function () {
    it('says reachable: false within about a second, and true again after the thaw', async function () {
      proxy.freeze()
      // The probe's time box is 500 ms; the abort at 1500 ms leaves room for a loaded machine
      // while failing a probe that waits as long as the 2 s store timeout, or for ever.
      const answer = await httpRequest(`${chronos.url}/info`, { method: 'GET', timeoutMs: 1500 })
      expect(answer.status).to.equal(200)
      expect(answer.json.redis).to.deep.equal({ reachable: false, cluster: false })
      proxy.thaw()
      expect((await chronos.get('/info')).json.redis).to.deep.equal({ reachable: true, cluster: false })
    })

    it('answers /readyz 503 with checks.redis false', async function () {
      proxy.freeze()
      const answer = await httpRequest(`${chronos.url}/readyz`, { method: 'GET', timeoutMs: 1500 })
      expect(answer.status).to.equal(503)
      expect(answer.json.checks.redis).to.equal(false)
    })
  })
})
