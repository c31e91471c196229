// The TLS variables of loadConfig() (lib/tls-config.ts), the secure context each target
// gets (lib/delivery/tls-contexts.ts) and which errors are TLS failures
// (lib/delivery/tls-failure.ts). Real PEM files from spec/helpers/tls-certs.ts.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'chai'
import { loadConfig, type Env } from '../../lib/config.js'
import { ConfigError } from '../../lib/errors.js'
import { createTlsContexts } from '../../lib/delivery/tls-contexts.js'
import { tlsFailureCode } from '../../lib/delivery/tls-failure.js'
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js'

function problems (env: Env): readonly string[] {
  try {
    loadConfig(env)
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError)
    return (err as ConfigError).problems
  }
  expect.fail('loadConfig() did not throw')
}

describe('TLS configuration', function () {
  let pki: TestPki

  before(function () {
    pki = makeTestPki()
  })

  after(function () {
    pki.remove()
  })

  describe('loadConfig()', function () {
    it('defaults to Node\'s trust and no client certificate', function () {
      expect(loadConfig({}).tls).to.deep.equal({ extraCa: [], clientIdentity: null, targetIdentities: [] })
    })

    it('reads every certificate of CHRONOS_TLS_CA_FILE, then those of NODE_EXTRA_CA_CERTS', function () {
      const bundle = join(pki.dir, 'bundle.pem')
      writeFileSync(bundle, `# two CAs\n${pki.ca}\n${pki.server.cert}`)
      const { tls } = loadConfig({ CHRONOS_TLS_CA_FILE: bundle, NODE_EXTRA_CA_CERTS: pki.caFile })
      expect(tls.extraCa.map((pem) => pem.trim())).to.deep.equal([pki.ca.trim(), pki.server.cert.trim(), pki.ca.trim()])
      // Without our CA file Node reads NODE_EXTRA_CA_CERTS itself: nothing to add.
      expect(loadConfig({ NODE_EXTRA_CA_CERTS: pki.caFile }).tls.extraCa).to.deep.equal([])
    })

    it('reads the client certificate and key, and per-target identities in order', function () {
      const { tls } = loadConfig({
        CHRONOS_TLS_CLIENT_CERT: pki.client.certFile,
        CHRONOS_TLS_CLIENT_KEY: pki.client.keyFile,
        CHRONOS_TLS_CLIENT_IDENTITIES: ` api.partner.example:8443  ${pki.client.certFile} ${pki.client.keyFile} ,*.bank.example ${pki.strangerClient.certFile} ${pki.strangerClient.keyFile}`
      })
      expect(tls.clientIdentity).to.deep.equal({ cert: pki.client.cert.trim(), key: pki.client.key })
      expect(tls.targetIdentities.map(({ rule }) => rule)).to.deep.equal(['api.partner.example:8443', '*.bank.example'])
      expect(tls.targetIdentities[1]?.identity.key).to.equal(pki.strangerClient.key)
    })

    it('lists every problem at once', function () {
      const notPem = join(pki.dir, 'not-pem.txt')
      writeFileSync(notPem, 'hello\n')
      const broken = join(pki.dir, 'broken.pem')
      writeFileSync(broken, `${pki.ca}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`)
      const found = problems({
        CHRONOS_TLS_CA_FILE: join(pki.dir, 'missing.pem'),
        NODE_EXTRA_CA_CERTS: broken,
        CHRONOS_TLS_CLIENT_CERT: pki.client.certFile,
        CHRONOS_TLS_CLIENT_KEY: pki.strangerClient.keyFile,
        CHRONOS_TLS_CLIENT_IDENTITIES: [
          `localhost ${pki.client.certFile}`,
          `bad_host! ${pki.client.certFile} ${pki.client.keyFile}`,
          `a.example ${notPem} ${pki.client.keyFile}`,
          `b.example ${pki.client.certFile} ${notPem}`
        ].join(',')
      })
      expect(found.slice(0, 6)).to.deep.equal([
        `CHRONOS_TLS_CA_FILE: cannot read ${JSON.stringify(join(pki.dir, 'missing.pem'))} (ENOENT)`,
        `NODE_EXTRA_CA_CERTS: certificate 2 in ${JSON.stringify(broken)} does not parse`,
        `CHRONOS_TLS_CLIENT_KEY: the key in ${JSON.stringify(pki.strangerClient.keyFile)} does not belong to the certificate in ${JSON.stringify(pki.client.certFile)}`,
        `CHRONOS_TLS_CLIENT_IDENTITIES entry ${JSON.stringify(`localhost ${pki.client.certFile}`)} must be "<target> <cert file> <key file>"`,
        'CHRONOS_TLS_CLIENT_IDENTITIES entry "bad_host!" is invalid: not a host name, *.suffix or IP CIDR',
        `CHRONOS_TLS_CLIENT_IDENTITIES (a.example) certificate: ${JSON.stringify(notPem)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`
      ])
      // The last one ends with OpenSSL's own words, which vary between versions.
      expect(found.slice(6)).to.have.length(1)
      expect(found[6]).to.satisfy((text: string) => text.startsWith(
        `CHRONOS_TLS_CLIENT_IDENTITIES (b.example) key: ${JSON.stringify(notPem)} is not an unencrypted PEM private key (`))
    })

    it('wants the certificate and the key together', function () {
      expect(problems({ CHRONOS_TLS_CLIENT_CERT: pki.client.certFile })).to.deep.equal(['CHRONOS_TLS_CLIENT_CERT and CHRONOS_TLS_CLIENT_KEY must be set together'])
      expect(problems({ CHRONOS_TLS_CLIENT_KEY: pki.client.keyFile })).to.deep.equal(['CHRONOS_TLS_CLIENT_CERT and CHRONOS_TLS_CLIENT_KEY must be set together'])
    })
  })

  describe('createTlsContexts().forTarget()', function () {
    it('leaves Node\'s defaults alone when nothing is configured', function () {
      expect(createTlsContexts(loadConfig({}).tls).forTarget('api.example.com', 443)).to.equal(undefined)
    })

    it('picks the first identity whose rule names the host and port, else the global context', function () {
      const contexts = createTlsContexts(loadConfig({
        CHRONOS_TLS_CA_FILE: pki.caFile,
        CHRONOS_TLS_CLIENT_IDENTITIES: [
          `api.partner.example:8443 ${pki.client.certFile} ${pki.client.keyFile}`,
          `*.bank.example ${pki.strangerClient.certFile} ${pki.strangerClient.keyFile}`,
          `10.0.0.0/8 ${pki.client.certFile} ${pki.client.keyFile}`
        ].join(',')
      }).tls)
      const fallback = contexts.forTarget('api.example.com', 443)
      expect(fallback).to.not.equal(undefined)
      const partner = contexts.forTarget('API.partner.example', 8443)
      expect(partner).to.not.equal(fallback)
      expect(contexts.forTarget('api.partner.example', 443)).to.equal(fallback)
      const bank = contexts.forTarget('pay.bank.example', 443)
      expect(bank).to.not.equal(fallback).and.not.equal(partner)
      expect(contexts.forTarget('bank.example', 443)).to.equal(fallback)
      expect(contexts.forTarget('10.1.2.3', 443)).to.not.equal(fallback).and.not.equal(bank)
    })
  })

  describe('tlsFailureCode()', function () {
    const coded = (code: string, cause?: unknown): Error => Object.assign(new Error(code), { code }, cause === undefined ? {} : { cause })
    const cases: Array<[string, Error, string | null]> = [
      ['a certificate verification error', coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ['an expired certificate', coded('CERT_HAS_EXPIRED'), 'CERT_HAS_EXPIRED'],
      ['a name the certificate does not cover', coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'ERR_TLS_CERT_ALTNAME_INVALID'],
      ['an OpenSSL handshake error', coded('ERR_SSL_WRONG_VERSION_NUMBER'), 'ERR_SSL_WRONG_VERSION_NUMBER'],
      ['undici\'s error caused by an alert', coded('UND_ERR_SOCKET', coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
      ['a refused connection', coded('ECONNREFUSED'), null],
      ['undici\'s socket error alone', coded('UND_ERR_SOCKET'), null],
      ['an error without a code', new Error('boom'), null]
    ]
    for (const [name, err, expected] of cases) {
      it(`${expected === null ? 'is null for' : 'knows'} ${name}`, function () {
        expect(tlsFailureCode(err)).to.equal(expected)
      })
    }
  })
})
