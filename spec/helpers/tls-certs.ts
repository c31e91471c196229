// A throwaway PKI for TLS specs and the https bench scenario, made with the `openssl` CLI
// (node:crypto cannot sign X.509) in a temp dir: a CA, a server certificate for 127.0.0.1
// and localhost signed by it (and one for another host name), a client certificate signed
// by it (for mTLS), and a second,
// unrelated CA with its own client certificate (a certificate the target must refuse).
// EC P-256 keys, so the whole set takes a few tens of milliseconds.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PemPair {
  /** Paths, for CHRONOS_TLS_* variables. */
  readonly certFile: string
  readonly keyFile: string
  /** Contents, for node:https servers. */
  readonly cert: string
  readonly key: string
}

export interface TestPki {
  readonly dir: string
  /** The CA's certificate file (CHRONOS_TLS_CA_FILE) and its PEM text. */
  readonly caFile: string
  readonly ca: string
  readonly server: PemPair
  /** Signed by the CA for a name that is not this machine's (a certificate for another host). */
  readonly otherHostServer: PemPair
  readonly client: PemPair
  /** Signed by another CA, which the test targets do not trust. */
  readonly strangerClient: PemPair
  /** Removes the directory. */
  remove: () => void
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

function openssl (dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

function makeCa (dir: string, name: string): void {
  openssl(dir, ['req', '-x509', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
}

function makeLeaf (dir: string, name: string, ca: string, serial: number, extensions: string): PemPair {
  writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`)
  openssl(dir, ['req', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`])
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(serial),
    '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`])
  const certFile = join(dir, `${name}.pem`)
  const keyFile = join(dir, `${name}.key`)
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }
}

export function makeTestPki (): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-pki-'))
  try {
    makeCa(dir, 'test-ca')
    makeCa(dir, 'stranger-ca')
    const server = makeLeaf(dir, 'server', 'test-ca', 2, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth')
    const otherHostServer = makeLeaf(dir, 'other-host', 'test-ca', 5, 'subjectAltName=DNS:partner.example\nextendedKeyUsage=serverAuth')
    const client = makeLeaf(dir, 'client', 'test-ca', 3, 'extendedKeyUsage=clientAuth')
    const strangerClient = makeLeaf(dir, 'stranger-client', 'stranger-ca', 4, 'extendedKeyUsage=clientAuth')
    const caFile = join(dir, 'test-ca.pem')
    return {
      dir,
      caFile,
      ca: readFileSync(caFile, 'utf8'),
      server,
      otherHostServer,
      client,
      strangerClient,
      remove: () => rmSync(dir, { recursive: true, force: true })
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
