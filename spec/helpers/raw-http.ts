// One exchange on a raw TCP socket, for requests no HTTP client will send (malformed heads,
// oversized headers): writes `request` as given and resolves with what came back once the
// server closes the socket or sends a complete answer (Content-Length honoured).
import { connect } from 'node:net'

export interface RawAnswer {
  status: number
  /** Header names lowercased; a repeated header keeps its last value. */
  headers: Record<string, string>
  body: string
  /** The whole answer as received, for failure messages. */
  raw: string
}

export async function rawExchange (url: string, request: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  socket.on('error', () => {})
  return await new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer within ${timeoutMs} ms: ${received.toString('latin1')}`))
    }, timeoutMs)
    const tryFinish = (isClosed: boolean): void => {
      const text = received.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end === -1) {
        if (!isClosed) return
        clearTimeout(timer)
        reject(new Error(`socket closed before an answer: ${JSON.stringify(text)}`))
        return
      }
      const headers: Record<string, string> = {}
      for (const line of text.slice(0, end).split('\r\n').slice(1)) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const body = received.subarray(end + 4)
      const length = headers['content-length']
      if (!isClosed && (length === undefined || body.length < Number(length))) return
      clearTimeout(timer)
      socket.destroy()
      resolve({ status: Number(text.slice(9, 12)), headers, body: body.toString('utf8'), raw: text })
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      tryFinish(false)
    })
    socket.on('close', () => tryFinish(true))
    socket.write(request)
  })
}
