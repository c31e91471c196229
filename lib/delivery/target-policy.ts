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
import { ALWAYS_REFUSED, parseTargetRule, ruleNamesHost } from '../allowed-targets.js'
import { TargetForbiddenError } from '../errors.js'
import type { JobSpec } from '../domain/job-spec.js'

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
  const rules = entries.map(parseTargetRule)
  const isRestricted = rules.length > 0

  const matchesIp = (address: string, port: number, mustBeExplicit = false): boolean => rules.some((rule) =>
    rule.kind === 'cidr' && (!mustBeExplicit || rule.isExplicit) && portMatches(rule.port, port) &&
    rule.list.check(address, family(address)))

  const matchesName = (host: string, port: number): boolean => rules.some((rule) => rule.kind !== 'cidr' && ruleNamesHost(rule, host, port))

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
