/**
 * The TLS secure contexts outgoing connections use (DESIGN §8), built once at start from
 * the TLS config: one for targets without a client identity of their own, one per
 * CHRONOS_TLS_CLIENT_IDENTITIES entry. Job pools, the completion callback and the dry-run
 * probe all ask forTarget(), so a record, its callback and its dry run trust and present
 * the same certificates.
 *
 * Why a prebuilt SecureContext rather than `ca`/`cert`/`key` on each connect: tls.connect
 * builds a new context from those options on every connection, parsing the whole CA list
 * (~150 roots) each time; a shared context costs nothing per connection.
 * Why Node's roots are listed: a `ca` option replaces the default trust instead of adding
 * to it, so the private CA is appended to tls.rootCertificates (and NODE_EXTRA_CA_CERTS,
 * see tls-config.ts).
 */
import { createSecureContext, rootCertificates, type SecureContext, type SecureContextOptions } from 'node:tls'
import { parseTargetRule, ruleNamesHost, type Rule } from '../allowed-targets.js'
import type { TlsConfig, TlsIdentity } from '../tls-config.js'

export interface TlsContexts {
  /** The context for connections to `host:port`; undefined means Node's defaults. */
  forTarget: (host: string, port: number) => SecureContext | undefined
}

export function createTlsContexts (config: TlsConfig): TlsContexts {
  const ca = config.extraCa.length === 0 ? undefined : [...rootCertificates, ...config.extraCa]
  const build = (identity: TlsIdentity | null): SecureContext | undefined => {
    if (ca === undefined && identity === null) return undefined
    const options: SecureContextOptions = {}
    if (ca !== undefined) options.ca = ca
    if (identity !== null) Object.assign(options, { cert: identity.cert, key: identity.key })
    return createSecureContext(options)
  }
  const fallback = build(config.clientIdentity)
  const byRule: Array<{ rule: Rule, context: SecureContext | undefined }> = config.targetIdentities.map(({ rule, identity }) => ({
    rule: parseTargetRule(rule), context: build(identity)
  }))
  return {
    forTarget (host, port) {
      const name = host.toLowerCase()
      return byRule.find(({ rule }) => ruleNamesHost(rule, name, port))?.context ?? fallback
    }
  }
}
