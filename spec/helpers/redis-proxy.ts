// A TCP proxy in front of Redis that makes writes ambiguous on purpose: after every Nth
// EVAL/EVALSHA it forwards the command, holds back everything Redis answers for a moment
// (long enough for Redis to have run the script) and then cuts both connections. The client
// never sees the reply of a command Redis did apply, the exact case where ioredis re-sends
// it after reconnecting (autoResendUnfulfilledCommands) and a non-idempotent write would
// count twice. A CLIENT KILL loop only rarely lands in that window; this always does.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'

export interface RedisProxy {
  /** redis://127.0.0.1:<port> */
  readonly url: string
  /** Connections cut after an applied script so far. */
  readonly cuts: number
  /** Cut after every nth script from now on; null stops cutting. */
  cutEvery: (n: number | null) => void
  close: () => Promise<void>
}

/** How long the proxy holds a reply back before cutting: Redis runs a batch in far less. */
const HOLD_MS = 20

/** A RESP bulk string naming the command, as ioredis writes it (lowercase or not). */
const SCRIPT_COMMAND = /\r\n(evalsha|eval)\r\n/gi

export async function startRedisProxy (redisHost: string, redisPort: number): Promise<RedisProxy> {
  const sockets = new Set<Socket>()
  let every: number | null = null
  let seen = 0
  let cuts = 0

  const server = createServer((client) => {
    const upstream = connect(redisPort, redisHost)
    sockets.add(client)
    sockets.add(upstream)
    let isHolding = false
    const cut = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk)
      if (every === null || isHolding) return
      seen += chunk.toString('latin1').match(SCRIPT_COMMAND)?.length ?? 0
      if (seen < every) return
      seen = 0
      isHolding = true
      cuts++
      setTimeout(cut, HOLD_MS)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (!isHolding) client.write(chunk)
    })
    for (const socket of [client, upstream]) {
      socket.on('error', cut)
      socket.on('close', () => {
        sockets.delete(socket)
        cut()
      })
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  return {
    url: `redis://127.0.0.1:${port}`,
    get cuts () { return cuts },
    cutEvery (n) {
      every = n
      seen = 0
    },
    async close () {
      const closed = once(server, 'close')
      server.close()
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}
