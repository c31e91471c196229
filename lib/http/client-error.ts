/**
 * Node's HTTP parser refuses some requests before Koa sees them (a malformed head, an unknown
 * method, a broken chunked body, headers over --max-http-header-size, a head that took longer
 * than headersTimeout). Node's default answer is a bare `400 Bad Request`; this one keeps the
 * JSON error shape every other answer has (issue 18 item 12) and Node's choice of status.
 * A peer that reset or vanished gets nothing: there is nobody to answer.
 */
import type { Socket } from 'node:net'
import { STATUS_CODES } from 'node:http'
import type { Logger } from '../logger.js'
import { errorCode } from '../errors.js'

/** Node's own mapping (lib/_http_server.js socketOnError), with our wire codes. */
const ANSWERS: Partial<Record<string, { status: number, code: string, message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'the request headers are too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, code: 'payload_too_large', message: 'the chunk extensions are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'the request head did not arrive in time' }
}
const MALFORMED = { status: 400, code: 'invalid_request', message: 'the request is not valid HTTP/1.1' }
/** The peer is gone or idled out: nothing to write, and nothing worth an error line. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ERR_STREAM_DESTROYED'])

export function onClientError (log: Logger | undefined) {
  return function clientError (err: Error, socket: Socket): void {
    const nodeCode = errorCode(err) ?? 'unknown'
    if (PEER_GONE.has(nodeCode) || !socket.writable) {
      log?.debug({ nodeCode }, 'client connection dropped')
      socket.destroy()
      return
    }
    const answer = ANSWERS[nodeCode] ?? MALFORMED
    log?.info({ code: answer.code, status: answer.status, nodeCode }, 'request refused by the http parser')
    // Node's own guard: once a response on this socket has started, any bytes would corrupt it.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (inFlight?.headersSent !== true) {
      const body = JSON.stringify({ error: { code: answer.code, message: answer.message, details: [] } })
      socket.write(
        `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' + body
      )
    }
    socket.destroySoon()
  }
}
