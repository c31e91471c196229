/**
 * The syntax of CHRONOS_ALLOWED_TARGETS entries (the contract, §4b): host names, `*.suffix`
 * wildcards or IP CIDRs (a bare IP is a /32 or /128), each optionally `:port`. Foundation
 * level, so config.ts can report a malformed entry at boot; what the rules allow is
 * delivery/target-policy.ts.
 */
import { BlockList, isIP } from 'node:net'

export interface NameRule { kind: 'name', name: string, port: number | null }
export interface SuffixRule { kind: 'suffix', suffix: string, port: number | null }
export interface CidrRule {
  kind: 'cidr'
  list: BlockList
  port: number | null
  /** The entry's own network lies in an always-refused range: it names those addresses explicitly. */
  isExplicit: boolean
}
export type Rule = NameRule | SuffixRule | CidrRule

const NAME = /^(?!-)[a-z0-9_-]{1,63}(?:\.(?!-)[a-z0-9_-]{1,63})*$/

/** Link-local and cloud-metadata addresses: refused unless an entry names them explicitly. */
export const ALWAYS_REFUSED = new BlockList()
ALWAYS_REFUSED.addSubnet('169.254.0.0', 16, 'ipv4')
ALWAYS_REFUSED.addSubnet('fe80::', 10, 'ipv6')
ALWAYS_REFUSED.addAddress('fd00:ec2::254', 'ipv6')

/** Why an entry of `variable` (this syntax) is malformed, or null when it is fine. */
export function targetRuleProblem (entry: string, variable = 'CHRONOS_ALLOWED_TARGETS'): string | null {
  try {
    parseTargetRule(entry)
    return null
  } catch (err) {
    return `${variable} entry ${JSON.stringify(entry)} is invalid: ${(err as Error).message}`
  }
}

/**
 * Whether a rule names `host:port` itself: a name rule that host, a wildcard a name under its
 * suffix, a CIDR an IP literal host inside it. Resolved addresses are not consulted.
 */
export function ruleNamesHost (rule: Rule, host: string, port: number): boolean {
  if (rule.port !== null && rule.port !== port) return false
  if (rule.kind === 'name') return rule.name === host
  if (rule.kind === 'suffix') return host.endsWith(`.${rule.suffix}`)
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  const ipFamily = isIP(bare)
  return ipFamily !== 0 && rule.list.check(bare, ipFamily === 4 ? 'ipv4' : 'ipv6')
}

export function parseTargetRule (entry: string): Rule {
  let text = entry.trim().toLowerCase()
  let port: number | null = null
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracketed !== null) {
    text = bracketed[1] as string
    port = bracketed[2] === undefined ? null : Number(bracketed[2])
  } else if (isIP(text.split('/')[0] ?? '') !== 6) {
    const withPort = /^(.*):(\d+)$/.exec(text)
    if (withPort !== null) {
      text = withPort[1] as string
      port = Number(withPort[2])
    }
  }
  if (port !== null && !(Number.isSafeInteger(port) && port >= 1 && port <= 65535)) throw new Error('port must be 1-65535')
  if (text.startsWith('*.')) {
    const suffix = text.slice(2)
    if (!NAME.test(suffix)) throw new Error('a wildcard needs a host name after "*."')
    return { kind: 'suffix', suffix, port }
  }
  const [address = '', prefix, ...rest] = text.split('/')
  const ipFamily = isIP(address)
  if (ipFamily === 0) {
    if (prefix !== undefined || !NAME.test(text)) throw new Error('not a host name, *.suffix or IP CIDR')
    return { kind: 'name', name: text, port }
  }
  const list = new BlockList()
  const type = ipFamily === 4 ? 'ipv4' : 'ipv6'
  if (prefix === undefined) {
    list.addAddress(address, type)
  } else {
    const bits = Number(prefix)
    const maxBits = ipFamily === 4 ? 32 : 128
    if (rest.length > 0 || !/^\d+$/.test(prefix) || bits > maxBits) throw new Error(`CIDR prefix must be 0-${maxBits}`)
    list.addSubnet(address, bits, type)
  }
  return { kind: 'cidr', list, port, isExplicit: ALWAYS_REFUSED.check(address, type) }
}
