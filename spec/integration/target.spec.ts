// Proves the loopback target (spec/helpers/target.ts) records and scripts requests as delivery specs expect.
import { expect } from 'chai'
import { request } from 'undici'
import { startTarget, type Target } from '../helpers/target.js'

describe('startTarget()', () => {
  let target: Target | undefined

  afterEach(async () => {
    await target?.close()
    target = undefined
  })

  it('records method, url, headers, body and the Chronos ids', async () => {
    target = await startTarget()
    const res = await request(`${target.origin}/hook?x=1`, {
      method: 'PUT',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json', 'x-chronos-record-id': '7', 'idempotency-key': 'job-1:7' },
    })
    expect(res.statusCode).to.equal(200)
    expect(await res.body.text()).to.equal('')
    const [seen] = target.requests
    expect(target.requests).to.have.length(1)
    expect(seen).to.include({ method: 'PUT', url: '/hook?x=1', body: '{"a":1}', recordId: '7', idempotencyKey: 'job-1:7' })
    expect(seen?.headers['content-type']).to.equal('application/json')
    expect(seen?.arrivedAt).to.be.a('number')
  })

  it('answers with the scripted status, headers and body per attempt of a record', async () => {
    target = await startTarget((_req, attempt) =>
      attempt === 1 ? { status: 503, headers: { 'retry-after': '1' }, body: 'busy' } : { status: 201 })
    const send = () => request(target!.url, { method: 'POST', body: 'x', headers: { 'x-chronos-record-id': 'r1' } })
    const first = await send()
    expect(first.statusCode).to.equal(503)
    expect(first.headers['retry-after']).to.equal('1')
    expect(await first.body.text()).to.equal('busy')
    const second = await send()
    expect(second.statusCode).to.equal(201)
    await second.body.dump()
  })

  it('delays the answer by delayMs', async () => {
    target = await startTarget(() => ({ delayMs: 150 }))
    const started = performance.now()
    const res = await request(target.url, { method: 'POST', body: 'x' })
    await res.body.dump()
    expect(performance.now() - started).to.be.at.least(140)
  })

  it('destroys the socket when told to reset', async () => {
    target = await startTarget(() => ({ reset: true }))
    const err: unknown = await request(target.url, { method: 'POST', body: 'x' }).then(() => null, (e: unknown) => e)
    expect(err).to.be.instanceOf(Error)
    expect((err as { code?: string }).code).to.equal('UND_ERR_SOCKET')
    expect(target.requests).to.have.length(1)
  })

  it('counts the most requests in flight at once', async () => {
    target = await startTarget(() => ({ delayMs: 100 }))
    const t = target
    const sendAll = (n: number) => Promise.all(Array.from({ length: n }, () =>
      request(t.url, { method: 'POST', body: 'x' }).then(res => res.body.dump())))
    await sendAll(3)
    await sendAll(2)
    expect(t.maxInFlight).to.equal(3)
    expect(t.inFlight).to.equal(0)
  })

  it('waits for n requests, and rejects when they do not come in time', async () => {
    target = await startTarget()
    const t = target
    const waiting = t.waitForRequests(2, 2000)
    await request(t.url, { method: 'POST', body: 'a' }).then(res => res.body.dump())
    await request(t.url, { method: 'POST', body: 'b' }).then(res => res.body.dump())
    expect((await waiting).map(r => r.body)).to.deep.equal(['a', 'b'])
    await expect(t.waitForRequests(3, 50)).to.be.rejectedWith(/got 2 of 3 requests/)
  })

  it('closes while a keep-alive connection and a delayed answer are open', async () => {
    target = await startTarget(req => req.body === 'slow' ? { delayMs: 60_000 } : {})
    const t = target
    await request(t.url, { method: 'POST', body: 'fast' }).then(res => res.body.dump())
    const slow = request(t.url, { method: 'POST', body: 'slow' }).then(() => 'answered', () => 'aborted')
    await t.waitForRequests(2, 2000)
    await t.close()
    target = undefined
    expect(await slow).to.equal('aborted')
  })
})
