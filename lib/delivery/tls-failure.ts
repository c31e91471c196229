/**
 * Which errors are certificate and handshake failures (DESIGN §8: the record's `tls_error`,
 * never retried as if the target were down), matched on `code` as everywhere else.
 * Certificate verification fails with OpenSSL's X509 names (CERT_HAS_EXPIRED,
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, …); a name or IP the certificate does not cover with
 * Node's ERR_TLS_CERT_ALTNAME_INVALID; a handshake the peer breaks off (a client
 * certificate refused, a port that does not speak TLS) with an OpenSSL ERR_SSL_* code.
 */
import type { Socket } from 'node:net'

/** X509_V_ERR_* names as Node reports them in `err.code`. */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD', 'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH'
])

/** Node's TLS errors, OpenSSL's SSL-library errors, and other OpenSSL errors on the TLS path. */
const TLS_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'ERR_OSSL_']

/**
 * The code of a TLS failure (kept as the result line's `detail`): the error's own, or its
 * cause's (see keepTlsCause); null when it is no TLS failure.
 */
export function tlsFailureCode (err: unknown): string | null {
  const { code, cause } = (err ?? {}) as { code?: unknown, cause?: unknown }
  if (typeof code === 'string' && (CERTIFICATE_CODES.has(code) || TLS_PREFIXES.some((prefix) => code.startsWith(prefix)))) return code
  return cause === undefined || cause === err ? null : tlsFailureCode(cause)
}

/**
 * Keeps a TLS alert visible through undici. Under TLS 1.3 a server that refuses the
 * client's certificate (or has none) does so after the client's handshake is done, with
 * an alert in answer to the first request: the socket emits the alert's error, then
 * 'end', and undici replaces the alert by its own "other side closed" SocketError, which
 * would read as connect_error and be retried. This links any later error on the socket to
 * the alert as its `cause`. Our listener is added before undici's, so the link is there
 * when undici takes the error. One listener per connection, none per request.
 */
export function keepTlsCause (socket: Socket): void {
  let alert: Error | null = null
  socket.on('error', (err: Error) => {
    if (alert === null) {
      if (tlsFailureCode(err) !== null) alert = err
    } else if (err !== alert && err.cause === undefined) {
      err.cause = alert
    }
  })
}
