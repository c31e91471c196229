/**
 * An undici connector that applies the target policy at connect time, on every address a
 * name resolves to, so a name that passed the upload check cannot be re-pointed at a
 * forbidden address later (DNS rebinding). IP literals never reach a lookup hook (net.connect
 * skips lookup for them), so they are checked here before connecting.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns'
import { isIP } from 'node:net'
import type { SecureContext } from 'node:tls'
import { buildConnector } from 'undici'
import type { TargetPolicy } from './target-policy.js'
import { ConnectForbiddenError } from '../errors.js'
import { keepTlsCause } from './tls-failure.js'

export type LookupFunction = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

export interface GuardedConnectorOptions {
  readonly policy: TargetPolicy
  readonly port: number
  readonly timeoutMs: number
  /** Name resolution, replaceable in tests. @defaultValue dns.lookup */
  readonly lookup?: LookupFunction | undefined
  /** Trust and client certificate for https (tls-contexts.ts); undefined means Node's defaults. */
  readonly secureContext?: SecureContext | undefined
}

/** A connector for one URL's host and port (the completion callback). */
export type ConnectorFactoryForUrl = (url: URL) => buildConnector.connector

export function createGuardedConnector (options: GuardedConnectorOptions): buildConnector.connector {
  const { policy, port } = options
  const resolve: LookupFunction = options.lookup ?? ((hostname, lookupOptions, callback) => dnsLookup(hostname, lookupOptions, callback))

  const guardedLookup = (hostname: string, lookupOptions: LookupOptions, callback: (...args: any[]) => void): void => {
    resolve(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err !== null) return callback(err)
      const refused = addresses.find(({ address }) => !policy.isAddressAllowed(hostname, address, port))
      if (refused !== undefined || addresses.length === 0) {
        return callback(new ConnectForbiddenError(`${hostname} resolves to an address the target policy refuses`))
      }
      if (lookupOptions.all === true) return callback(null, addresses)
      const first = addresses[0] as LookupAddress
      callback(null, first.address, first.family)
    })
  }
  const buildOptions = { timeout: options.timeoutMs, lookup: guardedLookup, ...(options.secureContext === undefined ? {} : { secureContext: options.secureContext }) }
  const connect = buildConnector(buildOptions as buildConnector.BuildOptions)

  return function guardedConnect (connectOptions, callback) {
    const bare = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1')
    if (isIP(bare) !== 0 && !policy.isAddressAllowed(bare, bare, port)) {
      callback(new ConnectForbiddenError(`${bare} is refused by the target policy`), null)
      return
    }
    if (connectOptions.protocol !== 'https:') return connect(connectOptions, callback)
    connect(connectOptions, (...args) => {
      if (args[0] === null) keepTlsCause(args[1])
      callback(...args)
    })
  }
}
