// A TCP proxy in front of Redis that can freeze: while frozen it forwards nothing in either
// direction but keeps every connection open, as a SIGSTOPped or wedged Redis does. Clients
// see a healthy socket and no answers; ioredis keeps `status === 'ready'`. thaw() delivers
// what was held, in order, so the protocol stays intact.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'

export interface FreezableProxy {
  /** redis://127.0.0.1:<port> */
  readonly url: string
  freeze: () => void
  thaw: () => void
  close: () => Promise<void>
}

export async function startFreezableProxy (redisHost: string, redisPort: number): Promise<FreezableProxy> {
  const sockets = new Set<Socket>()
  const held: Array<() => void> = []
  let isFrozen = false

  const forward = (to: Socket) => (chunk: Buffer): void => {
    if (isFrozen) held.push(() => to.write(chunk))
    else to.write(chunk)
  }

  const server = createServer((client) => {
    const upstream = connect(redisPort, redisHost)
    sockets.add(client)
    sockets.add(upstream)
    client.on('data', forward(upstream))
    upstream.on('data', forward(client))
    for (const socket of [client, upstream]) {
      socket.on('error', () => socket.destroy())
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  return {
    url: `redis://127.0.0.1:${port}`,
    freeze () { isFrozen = true },
    thaw () {
      isFrozen = false
      for (const write of held.splice(0)) write()
    },
    async close () {
      const closed = once(server, 'close')
      server.close()
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}
