// createTargetPolicy(): DESIGN §4b. check() runs at upload on the spec's (normalised) host;
// isAddressAllowed() at connect time on every resolved address.
import { expect } from 'chai'
import { TargetForbiddenError } from '../../lib/errors.js'
import { createTargetPolicy, type TargetPolicy } from '../../lib/delivery/target-policy.js'

function isAllowed (policy: TargetPolicy, host: string, port: number): boolean {
  try {
    policy.check({ host, port })
    return true
  } catch (err) {
    expect(err).to.be.instanceOf(TargetForbiddenError)
    expect((err as TargetForbiddenError).code).to.equal('target_forbidden')
    expect((err as TargetForbiddenError).status).to.equal(403)
    return false
  }
}

/** [host, port, allowed] rows against one policy. */
type CheckRow = [string, number, boolean]

function checkTable (entries: string[], rows: CheckRow[]): void {
  const policy = createTargetPolicy(entries)
  for (const [host, port, allowed] of rows) {
    it(`${allowed ? 'allows' : 'refuses'} ${host.includes(':') ? `[${host}]` : host}:${port}`, () => {
      expect(isAllowed(policy, host, port)).to.equal(allowed)
    })
  }
}

const ALWAYS_REFUSED = ['169.254.169.254', '169.254.0.1', '169.254.255.255', 'fe80::1', 'febf:ffff::1', 'fd00:ec2::254', '::ffff:a9fe:a9fe']

describe('createTargetPolicy()', () => {
  describe('with no entries (open policy)', () => {
    describe('check()', () => {
      checkTable([], [
        ['api.example.com', 443, true],
        ['localhost', 8080, true],
        ['metadata.google.internal', 80, true],
        ['8.8.8.8', 53, true],
        ['10.0.0.1', 80, true],
        ['127.0.0.1', 80, true],
        ['169.253.255.255', 80, true],
        ['169.255.0.0', 80, true],
        ['::1', 80, true],
        ['2001:db8::1', 443, true],
        ['fec0::1', 80, true],
        ['fd00:ec2::253', 80, true],
        ['169.254.169.254', 80, false],
        ['169.254.0.1', 443, false],
        ['169.254.255.255', 8080, false],
        ['fe80::1', 80, false],
        ['febf:ffff::1', 80, false],
        ['fd00:ec2::254', 80, false],
        // The IPv4-mapped form reaches the metadata address through a dual-stack socket.
        ['::ffff:a9fe:a9fe', 80, false]
      ])
    })

    describe('isAddressAllowed()', () => {
      const policy = createTargetPolicy([])
      for (const address of ALWAYS_REFUSED) {
        it(`refuses a name resolving to ${address}`, () => {
          expect(policy.isAddressAllowed('innocent.example.com', address, 80)).to.equal(false)
        })
      }
      for (const address of ['93.184.216.34', '127.0.0.1', '2606:2800:220:1::1']) {
        it(`allows a name resolving to ${address}`, () => {
          expect(policy.isAddressAllowed('api.example.com', address, 443)).to.equal(true)
        })
      }
    })
  })

  describe('with explicit always-refused entries', () => {
    describe('"169.254.169.254" and "fe80::1" and "fd00:ec2::254" listed', () => {
      checkTable(['169.254.169.254', 'fe80::1', 'fd00:ec2::254'], [
        ['169.254.169.254', 80, true],
        ['fe80::1', 80, true],
        ['fd00:ec2::254', 80, true],
        ['169.254.169.253', 80, false],
        ['fe80::2', 80, false],
        ['api.example.com', 443, false]
      ])

      it('re-allows the listed address at connect time', () => {
        const policy = createTargetPolicy(['169.254.169.254'])
        expect(policy.isAddressAllowed('metadata.internal', '169.254.169.254', 80)).to.equal(true)
        expect(policy.isAddressAllowed('metadata.internal', '169.254.169.1', 80)).to.equal(false)
      })
    })

    describe('a link-local CIDR listed', () => {
      checkTable(['169.254.0.0/16', 'fe80::/10'], [
        ['169.254.169.254', 80, true],
        ['169.254.1.1', 80, true],
        ['fe80::abcd', 80, true],
        ['fd00:ec2::254', 80, false]
      ])
    })

    it('does not re-allow a forbidden address for a listed name', () => {
      const policy = createTargetPolicy(['metadata.internal'])
      expect(isAllowed(policy, 'metadata.internal', 80)).to.equal(true)
      expect(policy.isAddressAllowed('metadata.internal', '169.254.169.254', 80)).to.equal(false)
    })

    it('re-allows a forbidden address only on the listed port', () => {
      const policy = createTargetPolicy(['169.254.169.254:8080'])
      expect(isAllowed(policy, '169.254.169.254', 8080)).to.equal(true)
      expect(isAllowed(policy, '169.254.169.254', 80)).to.equal(false)
    })
  })

  describe('with host names', () => {
    checkTable(['api.example.com', 'Partner.Example.ORG', ' spaced.example.net '], [
      ['api.example.com', 443, true],
      ['api.example.com', 8080, true],
      ['partner.example.org', 443, true],
      ['spaced.example.net', 80, true],
      ['example.com', 443, false],
      ['www.api.example.com', 443, false],
      ['api.example.com.evil.net', 443, false],
      ['evilapi.example.com', 443, false],
      ['8.8.8.8', 443, false],
      ['::1', 443, false]
    ])

    // Until issue 18 item 8 a listed name vouched for any address it resolved to (10.1.2.3
    // here was allowed). Now names vouch for names; addresses need their own warrant.
    it('allows a public address a listed name resolves to, but never an always-refused one', () => {
      const policy = createTargetPolicy(['api.example.com'])
      expect(policy.isAddressAllowed('api.example.com', '93.184.216.34', 443)).to.equal(true)
      expect(policy.isAddressAllowed('api.example.com', '2606:2800:220:1::1', 443)).to.equal(true)
      expect(policy.isAddressAllowed('api.example.com', '169.254.169.254', 443)).to.equal(false)
      expect(policy.isAddressAllowed('api.example.com', 'fe80::1', 443)).to.equal(false)
      expect(policy.isAddressAllowed('other.example.com', '93.184.216.34', 443)).to.equal(false)
    })

    describe('names vouch for names, addresses need their own warrant (issue 18 item 8)', () => {
      const policy = createTargetPolicy(['api.example.com'])
      const notPublic = [
        '127.0.0.1', '127.0.0.2', '0.0.0.0', '10.1.2.3', '100.64.0.1', '172.16.0.1', '172.31.255.255',
        '192.168.1.1', '192.0.0.8', '198.18.0.1', '224.0.0.1', '255.255.255.255', '203.0.113.9',
        '::1', '::', 'fd12::1', 'fc00::1', 'fe80::1', 'ff02::1', '2001:db8::1',
        '::ffff:127.0.0.1', '::ffff:7f00:2', '::ffff:10.0.0.1', '::ffff:c0a8:101', '64:ff9b::a00:1', '64:ff9b::127.0.0.1'
      ]
      for (const address of notPublic) {
        it(`refuses ${address} for a listed name`, () => {
          expect(policy.isAddressAllowed('api.example.com', address, 443)).to.equal(false)
        })
      }
      for (const address of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2a00:1450::1']) {
        it(`allows public ${address} for a listed name`, () => {
          expect(policy.isAddressAllowed('api.example.com', address, 443)).to.equal(true)
        })
      }

      it('allows a private address when an IP/CIDR entry warrants it, on that entry\'s port', () => {
        const both = createTargetPolicy(['*.probe.test', '127.0.0.1', '10.0.0.0/8:8080'])
        expect(both.isAddressAllowed('x.probe.test', '127.0.0.1', 80)).to.equal(true)
        expect(both.isAddressAllowed('x.probe.test', '127.0.0.2', 80)).to.equal(false)
        expect(both.isAddressAllowed('x.probe.test', '10.9.9.9', 8080)).to.equal(true)
        expect(both.isAddressAllowed('x.probe.test', '10.9.9.9', 80)).to.equal(false)
      })

      it('keeps the open policy as it was: only always-refused addresses are refused', () => {
        const open = createTargetPolicy([])
        expect(open.isAddressAllowed('x.probe.test', '127.0.0.2', 80)).to.equal(true)
        expect(open.isAddressAllowed('x.probe.test', '10.1.2.3', 80)).to.equal(true)
        expect(open.isAddressAllowed('x.probe.test', '169.254.169.254', 80)).to.equal(false)
      })
    })

    it('does not let an IP-literal host match a name rule', () => {
      const policy = createTargetPolicy(['10.1.2.3.nip.io'])
      expect(policy.isAddressAllowed('10.1.2.3', '10.1.2.3', 80)).to.equal(false)
    })
  })

  describe('with *.suffix wildcards', () => {
    // The wildcard matches names below the suffix only: "*.example.com" does NOT match the
    // apex "example.com" (list it separately to allow it). It matches any depth below.
    checkTable(['*.example.com'], [
      ['api.example.com', 443, true],
      ['a.b.c.example.com', 443, true],
      ['example.com', 443, false],
      ['notexample.com', 443, false],
      ['example.com.evil.net', 443, false],
      ['api.example.org', 443, false]
    ])

    describe('beside the apex', () => {
      checkTable(['*.example.com', 'example.com'], [
        ['api.example.com', 443, true],
        ['example.com', 443, true]
      ])
    })

    describe('with a port', () => {
      checkTable(['*.example.com:8443'], [
        ['api.example.com', 8443, true],
        ['api.example.com', 443, false]
      ])
    })

    it('applies at connect time too', () => {
      const policy = createTargetPolicy(['*.example.com'])
      expect(policy.isAddressAllowed('api.example.com', '93.184.216.34', 443)).to.equal(true)
      expect(policy.isAddressAllowed('api.example.com', '169.254.169.254', 443)).to.equal(false)
      expect(policy.isAddressAllowed('api.example.org', '93.184.216.34', 443)).to.equal(false)
    })
  })

  describe('with IPv4 CIDRs and addresses', () => {
    checkTable(['10.0.0.0/8', '192.168.1.7', '203.0.113.0/24:8080'], [
      ['10.0.0.1', 80, true],
      ['10.255.255.255', 443, true],
      ['11.0.0.1', 80, false],
      ['192.168.1.7', 80, true],
      ['192.168.1.8', 80, false],
      ['203.0.113.77', 8080, true],
      ['203.0.113.77', 80, false],
      ['api.example.com', 443, false]
    ])

    it('allows a name whose resolved address is in a listed CIDR at connect time', () => {
      const policy = createTargetPolicy(['10.0.0.0/8'])
      expect(policy.isAddressAllowed('svc.internal', '10.2.3.4', 80)).to.equal(true)
      expect(policy.isAddressAllowed('svc.internal', '8.8.8.8', 80)).to.equal(false)
    })

    it('matches IPv4-mapped IPv6 addresses against IPv4 entries', () => {
      const policy = createTargetPolicy(['10.0.0.0/8'])
      expect(policy.isAddressAllowed('svc.internal', '::ffff:10.2.3.4', 80)).to.equal(true)
    })
  })

  describe('with IPv6 CIDRs and addresses', () => {
    checkTable(['2001:db8::/32', '::1', '[fd12::1]', 'FD34::/16'], [
      ['2001:db8::1', 443, true],
      ['2001:db8:ffff::1', 443, true],
      ['2001:db9::1', 443, false],
      ['::1', 80, true],
      ['::2', 80, false],
      ['fd12::1', 80, true],
      ['fd34:1::1', 80, true],
      ['127.0.0.1', 80, false]
    ])
  })

  describe('with ports', () => {
    checkTable(['api.example.com:8080', '[::1]:8080', '127.0.0.1:9000', '[2001:db8::/32]:443'], [
      ['api.example.com', 8080, true],
      ['api.example.com', 443, false],
      ['::1', 8080, true],
      ['::1', 8081, false],
      ['127.0.0.1', 9000, true],
      ['127.0.0.1', 9001, false],
      ['2001:db8::5', 443, true],
      ['2001:db8::5', 80, false]
    ])

    it('reads an unbracketed IPv6 literal as an address, never as address:port', () => {
      // "::1:8080" is itself a valid IPv6 address; a port on IPv6 needs brackets.
      const policy = createTargetPolicy(['::1:8080'])
      expect(isAllowed(policy, '::1', 8080)).to.equal(false)
      expect(isAllowed(policy, '::1:8080', 443)).to.equal(true)
    })

    it('checks the port at connect time too', () => {
      const policy = createTargetPolicy(['api.example.com:8080'])
      expect(policy.isAddressAllowed('api.example.com', '93.184.216.34', 8080)).to.equal(true)
      expect(policy.isAddressAllowed('api.example.com', '93.184.216.34', 443)).to.equal(false)
    })
  })

  describe('with a malformed entry', () => {
    // An entry that cannot be read must not widen the policy. Refusing it at construction
    // (a throw) is fine too; what is not fine is "10.0.0.0/" turning into 0.0.0.0/0, which
    // re-allows the metadata address, or "*." matching every name with a trailing dot.
    const cases: Array<[string, string, string]> = [
      ['10.0.0.0/', '8.8.8.8', '169.254.169.254'],
      ['2001:db8::/', '2606:4700::1', 'fe80::1'],
      ['*.', 'evil.example.', 'api.example.com.']
    ]
    for (const [entry, outside, alsoOutside] of cases) {
      it(`does not let ${JSON.stringify(entry)} allow ${outside} or ${alsoOutside}`, () => {
        let policy: TargetPolicy
        try {
          policy = createTargetPolicy([entry])
        } catch {
          return
        }
        for (const host of [outside, alsoOutside]) expect(isAllowed(policy, host, 443), host).to.equal(false)
      })
    }
  })

  describe('TargetForbiddenError', () => {
    it('is what check() throws, with code target_forbidden', () => {
      const policy = createTargetPolicy(['api.example.com'])
      expect(() => policy.check({ host: 'other.example.com', port: 443 })).to.throw(TargetForbiddenError)
      try {
        policy.check({ host: 'other.example.com', port: 443 })
      } catch (err) {
        expect((err as TargetForbiddenError).code).to.equal('target_forbidden')
      }
    })
  })
})
