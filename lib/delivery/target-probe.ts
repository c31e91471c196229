/**
 * The dry run's look at a target (DESIGN §8): resolve its host, apply the connect-time
 * target policy to every address (as the guarded connector would), open one TCP connection
 * to the first address and, for https, complete a TLS handshake with the options delivery
 * uses (system roots, NODE_EXTRA_CA_CERTS, servername for SNI and certificate checks).
 * Nothing is written on the connection; it is closed as soon as it is up.
 */
import { lookup } from 'node:dns/promises'
import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { performance } from 'node:perf_hooks'
import type { TargetPolicy } from './target-policy.js'

/** Why a probe found the target unreachable. */
export type ProbeError = 'dns_error' | 'target_forbidden' | 'connect_error' | 'timeout' | 'tls_error'

export interface ProbeTarget {
  readonly protocol: 'http' | 'https'
  readonly host: string
  readonly port: number
}

export interface ProbeResult {
  readonly url: string
  readonly addresses: string[]
  readonly reachable: boolean
  /** From the start of the connect (after resolution) to the connection being usable. */
  readonly connectMs: number | null
  readonly error: ProbeError | null
}

export interface ProbeOptions {
  readonly policy: TargetPolicy
  readonly timeoutMs: number
  /** Extra TLS options delivery uses (CA, client certificate), for https targets. */
  readonly tls?: ConnectionOptions
}

export async function probeTarget (target: ProbeTarget, options: ProbeOptions): Promise<ProbeResult> {
  const bare = target.host.replace(/^\[(.*)\]$/, '$1')
  const url = `${target.protocol}://${isIP(bare) === 6 ? `[${bare}]` : bare}:${target.port}`
  let addresses: string[]
  try {
    addresses = isIP(bare) !== 0 ? [bare] : (await lookup(bare, { all: true })).map(({ address }) => address)
  } catch {
    return { url, addresses: [], reachable: false, connectMs: null, error: 'dns_error' }
  }
  const first = addresses[0]
  if (first === undefined) return { url, addresses, reachable: false, connectMs: null, error: 'dns_error' }
  if (addresses.some((address) => !options.policy.isAddressAllowed(bare, address, target.port))) {
    return { url, addresses, reachable: false, connectMs: null, error: 'target_forbidden' }
  }
  const startedAt = performance.now()
  const error = await connectOnce(first, bare, target, options)
  const connectMs = Math.round((performance.now() - startedAt) * 10) / 10
  return { url, addresses, reachable: error === null, connectMs: error === null ? connectMs : null, error }
}

/** Opens and closes one connection; resolves with why it failed, or null. */
async function connectOnce (address: string, host: string, target: ProbeTarget, options: ProbeOptions): Promise<ProbeError | null> {
  return await new Promise((resolve) => {
    let socket: Socket
    const finish = (error: ProbeError | null): void => {
      clearTimeout(timer)
      socket.removeAllListeners()
      socket.on('error', () => {})
      socket.destroy()
      resolve(error)
    }
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs)
    const tcp = netConnect({ host: address, port: target.port })
    socket = tcp
    tcp.once('error', () => finish('connect_error'))
    tcp.once('connect', () => {
      if (target.protocol === 'http') return finish(null)
      tcp.removeAllListeners('error')
      const secure = tlsConnect({
        ...options.tls,
        socket: tcp,
        // SNI must not be an IP address; the certificate is still checked against it.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        host
      })
      socket = secure
      secure.once('secureConnect', () => finish(null))
      secure.once('error', () => finish('tls_error'))
      secure.once('close', () => finish('tls_error'))
    })
  })
}
