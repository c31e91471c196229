/**
 * Where jobs may send traffic (DESIGN §4b). CHRONOS_ALLOWED_TARGETS entries are host names,
 * `*.suffix` wildcards or IP CIDRs (a bare IP is a /32 or /128), each optionally `:port`.
 * Link-local and cloud-metadata addresses are refused unless an entry names them
 * explicitly. Names vouch for names, addresses need their own warrant: under an allow-list,
 * an address an allowed name resolves to is used only if it is public or an IP/CIDR entry
 * allows it (issue 18 item 8). check() runs at upload on the spec's host;
 * isAddressAllowed() is for connect time, on every resolved address.
 */
import { BlockList, isIP } from 'node:net'
import { TargetForbiddenError } from '../errors.js'
import type { JobSpec } from './job-spec.js'

interface NameRule { kind: 'name', name: string, port: number | null }
interface SuffixRule { kind: 'suffix', suffix: string, port: number | null }
interface CidrRule {
  kind: 'cidr'
  list: BlockList
  port: number | null
  /** The entry's own network lies in an always-refused range: it names those addresses explicitly. */
  isExplicit: boolean
}
type Rule = NameRule | SuffixRule | CidrRule

const NAME = /^(?!-)[a-z0-9_-]{1,63}(?:\.(?!-)[a-z0-9_-]{1,63})*$/

const ALWAYS_REFUSED = new BlockList()
ALWAYS_REFUSED.addSubnet('169.254.0.0', 16, 'ipv4')
ALWAYS_REFUSED.addSubnet('fe80::', 10, 'ipv6')
ALWAYS_REFUSED.addAddress('fd00:ec2::254', 'ipv6')

/**
 * Addresses that are not public (IANA special-purpose registries): a name on the allow-list
 * may not lead to them. IPv4-mapped IPv6 forms match the IPv4 ranges (BlockList does that);
 * NAT64 addresses are judged by the IPv4 address they embed (isPublic).
 */
const NOT_PUBLIC = new BlockList()
for (const [network, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]
] as const) NOT_PUBLIC.addSubnet(network, bits, 'ipv4')
for (const [network, bits] of [
  ['::', 96], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7],
  ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]
] as const) NOT_PUBLIC.addSubnet(network, bits, 'ipv6')
const NAT64 = new BlockList()
NAT64.addSubnet('64:ff9b::', 96, 'ipv6')

export interface TargetPolicy {
  /** Throws TargetForbiddenError when the spec's host and port are not allowed. */
  check: (spec: Pick<JobSpec, 'host' | 'port'>) => void
  /** Whether a resolved address may be connected to for `host:port`. */
  isAddressAllowed: (host: string, address: string, port: number) => boolean
}

export function createTargetPolicy (entries: readonly string[]): TargetPolicy {
  const rules = entries.map(parseRule)
  const isRestricted = rules.length > 0

  const matchesIp = (address: string, port: number, mustBeExplicit = false): boolean => rules.some((rule) =>
    rule.kind === 'cidr' && (!mustBeExplicit || rule.isExplicit) && portMatches(rule.port, port) &&
    rule.list.check(address, family(address)))

  const matchesName = (host: string, port: number): boolean => rules.some((rule) => {
    if (!portMatches(rule.port, port)) return false
    if (rule.kind === 'name') return rule.name === host
    if (rule.kind === 'suffix') return host.endsWith(`.${rule.suffix}`)
    return false
  })

  const isAddressAllowed = (host: string, address: string, port: number): boolean => {
    // A catch-all such as 0.0.0.0/0 does not list the metadata address explicitly; an entry
    // inside the refused range (169.254.169.254, 169.254.0.0/16) does.
    if (ALWAYS_REFUSED.check(address, family(address))) return matchesIp(address, port, true)
    if (!isRestricted) return true
    if (matchesIp(address, port)) return true
    // A name vouches for itself, not for what it resolves to.
    return isIP(host) === 0 && matchesName(host, port) && isPublic(address)
  }

  return {
    isAddressAllowed,
    check ({ host, port }) {
      const isAllowed = isIP(host) !== 0
        ? isAddressAllowed(host, host, port)
        : !isRestricted || matchesName(host, port)
      if (!isAllowed) throw new TargetForbiddenError(`target ${host}:${port} is not allowed by this server's target policy`)
    }
  }
}

/** Why a CHRONOS_ALLOWED_TARGETS entry is malformed, or null when it is fine. */
export function targetRuleProblem (entry: string): string | null {
  try {
    parseRule(entry)
    return null
  } catch (err) {
    return `CHRONOS_ALLOWED_TARGETS entry ${JSON.stringify(entry)} is invalid: ${(err as Error).message}`
  }
}

function parseRule (entry: string): Rule {
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

/** Whether `address` is a public unicast address (not loopback, private, reserved, …). */
export function isPublic (address: string): boolean {
  const type = family(address)
  if (type === 'ipv6' && NAT64.check(address, 'ipv6')) return isPublic(embeddedIpv4(address))
  return !NOT_PUBLIC.check(address, type)
}

/** The IPv4 address in the last 32 bits of an IPv6 address (dotted or as two hex groups). */
function embeddedIpv4 (address: string): string {
  const groups = address.split(':')
  const last = groups[groups.length - 1] as string
  if (last.includes('.')) return last
  // An empty group is part of "::" and stands for zeros.
  const high = parseInt(groups[groups.length - 2] ?? '0', 16) || 0
  const low = parseInt(last, 16) || 0
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

function portMatches (rulePort: number | null, port: number): boolean {
  return rulePort === null || rulePort === port
}

function family (address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4'
}
