// Proves the test Redis handle (spec/helpers/redis.ts) does what fault specs rely on.
import { createConnection } from 'node:net'
import { expect } from 'chai'
import { Redis } from 'ioredis'
import { sharedRedis, startRedis, uniquePrefix, deleteKeysWithPrefix, type RedisHandle } from '../helpers/redis.js'

function connect (handle: RedisHandle): Redis {
  return new Redis(handle.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
}

async function withClient<T> (handle: RedisHandle, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = connect(handle)
  try {
    await client.connect()
    return await use(client)
  } finally {
    client.disconnect()
  }
}

/** The error code of a plain TCP connect to the handle's port, or 'connected'. */
function tcpConnect (handle: RedisHandle): Promise<string> {
  return new Promise(resolve => {
    const socket = createConnection({ host: handle.host, port: handle.port })
    socket.once('connect', () => { socket.destroy(); resolve('connected') })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

describe('startRedis()', function () {
  this.timeout(60_000)
  let handle: RedisHandle | undefined

  afterEach(async () => {
    await handle?.stop()
    handle = undefined
  })

  it('answers PING on 127.0.0.1 and a free port', async () => {
    handle = await startRedis()
    expect(handle.url).to.equal(`redis://${handle.host}:${handle.port}`)
    expect(handle.port).to.be.above(0)
    expect(await withClient(handle, client => client.ping())).to.equal('PONG')
  })

  it('refuses connections after stop()', async () => {
    handle = await startRedis()
    await handle.stop()
    expect(await tcpConnect(handle)).to.equal('ECONNREFUSED')
  })

  it('keeps data across stop() and start() when append-only', async () => {
    handle = await startRedis({ appendOnly: true })
    const { port } = handle
    await withClient(handle, client => client.set('survivor', 'yes'))
    await handle.stop()
    await handle.start()
    expect(handle.port).to.equal(port)
    expect(await withClient(handle, client => client.get('survivor'))).to.equal('yes')
  })

  it('keeps data across kill() and start() when append-only', async () => {
    handle = await startRedis({ appendOnly: true })
    await withClient(handle, client => client.set('crash-survivor', 'yes'))
    await handle.kill()
    expect(await tcpConnect(handle)).to.equal('ECONNREFUSED')
    await handle.start()
    expect(await withClient(handle, client => client.get('crash-survivor'))).to.equal('yes')
  })

  it('loses data across restart() without persistence', async () => {
    handle = await startRedis()
    await withClient(handle, client => client.set('ephemeral', 'yes'))
    await handle.restart()
    expect(await withClient(handle, client => client.get('ephemeral'))).to.equal(null)
  })

  it('treats start() on a running server and stop() on a stopped one as no-ops', async () => {
    handle = await startRedis()
    await handle.start()
    expect(await withClient(handle, client => client.ping())).to.equal('PONG')
    await handle.stop()
    await handle.stop()
    expect(await tcpConnect(handle)).to.equal('ECONNREFUSED')
  })
})

describe('sharedRedis()', () => {
  it('is running for the whole run', async () => {
    expect(await withClient(sharedRedis(), client => client.ping())).to.equal('PONG')
  })
})

describe('deleteKeysWithPrefix()', () => {
  it('deletes only the keys under one test prefix', async () => {
    const mine = uniquePrefix()
    const other = uniquePrefix()
    const redis = sharedRedis()
    expect(mine).to.match(/^test-[0-9a-f-]{36}$/)
    expect(mine).to.not.equal(other)
    await withClient(redis, async client => {
      await client.mset(`${mine}:job:{a}:meta`, '1', `${mine}:job:{b}:meta`, '2', `${other}:job:{a}:meta`, '3')
    })
    expect(await deleteKeysWithPrefix(redis.url, mine)).to.equal(2)
    expect(await withClient(redis, client => client.exists(`${mine}:job:{a}:meta`, `${other}:job:{a}:meta`))).to.equal(1)
    await deleteKeysWithPrefix(redis.url, other)
  })
})
