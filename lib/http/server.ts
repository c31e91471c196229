/**
 * The http.Server around the app. Timeouts suit gigabyte uploads over slow links: no total
 * request time limit (Node's default 5 minutes would cut them), but an idle socket is cut
 * after `uploadIdleTimeoutMs`, and headers must arrive promptly (slow-loris). Requests Node's
 * parser refuses are answered in JSON by client-error.ts.
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HttpConfig } from '../config.js'
import type { Logger } from '../logger.js'
import { onClientError } from './client-error.js'

const HEADERS_TIMEOUT_MS = 20_000

export async function listen (handler: RequestListener, config: Pick<HttpConfig, 'port' | 'host' | 'uploadIdleTimeoutMs'>, log?: Logger): Promise<Server> {
  const server = createServer({ requestTimeout: 0, headersTimeout: HEADERS_TIMEOUT_MS }, handler)
  server.on('clientError', onClientError(log))
  server.timeout = config.uploadIdleTimeoutMs
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}

export function serverPort (server: Server): number {
  return (server.address() as AddressInfo).port
}

/** Stops accepting connections and ends idle keep-alive ones; busy ones finish first. */
export async function closeServer (server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  await closed
}
