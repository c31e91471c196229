/**
 * TLS for outgoing requests (DESIGN §8): a private CA to trust (CHRONOS_TLS_CA_FILE) and a
 * client certificate for targets that demand one (CHRONOS_TLS_CLIENT_CERT and _KEY, or per
 * target through CHRONOS_TLS_CLIENT_IDENTITIES). Foundation level, called by loadConfig():
 * every file is read once at start and checked (readable, PEM that parses, a key that
 * belongs to its certificate), so a wrong path fails the deploy, not the first job.
 * delivery/tls-contexts.ts turns the PEM text into secure contexts.
 */
import { readFileSync } from 'node:fs'
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { targetRuleProblem } from './allowed-targets.js'

/** A client certificate and its key, as PEM text. */
export interface TlsIdentity {
  /** The client certificate, optionally followed by its intermediates. */
  readonly cert: string
  /** Its private key, unencrypted. */
  readonly key: string
}

/** A client identity for the targets one rule matches (CHRONOS_ALLOWED_TARGETS syntax). */
export interface TargetIdentity {
  readonly rule: string
  readonly identity: TlsIdentity
}

export interface TlsConfig {
  /**
   * Certificates trusted on top of Node's roots, one PEM block each: CHRONOS_TLS_CA_FILE's,
   * then NODE_EXTRA_CA_CERTS's (an explicit CA list would otherwise drop those). Empty means
   * Node's default trust. @defaultValue []
   */
  readonly extraCa: readonly string[]
  /** CHRONOS_TLS_CLIENT_CERT and CHRONOS_TLS_CLIENT_KEY: for targets no entry below matches. @defaultValue null */
  readonly clientIdentity: TlsIdentity | null
  /** CHRONOS_TLS_CLIENT_IDENTITIES, in order: the first entry matching a target wins. @defaultValue [] */
  readonly targetIdentities: readonly TargetIdentity[]
}

type Env = Readonly<Record<string, string | undefined>>

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Reads the TLS variables; every problem found is pushed onto `problems`. */
export function loadTlsConfig (env: Env, problems: string[]): TlsConfig {
  const value = (name: string): string | null => {
    const raw = env[name]?.trim()
    return raw === undefined || raw === '' ? null : raw
  }
  const extraCa: string[] = []
  const caFile = value('CHRONOS_TLS_CA_FILE')
  if (caFile !== null) {
    extraCa.push(...readCertificates('CHRONOS_TLS_CA_FILE', caFile, problems))
    const nodeExtra = value('NODE_EXTRA_CA_CERTS')
    if (nodeExtra !== null) extraCa.push(...readCertificates('NODE_EXTRA_CA_CERTS', nodeExtra, problems))
  }

  let clientIdentity: TlsIdentity | null = null
  const certFile = value('CHRONOS_TLS_CLIENT_CERT')
  const keyFile = value('CHRONOS_TLS_CLIENT_KEY')
  if ((certFile === null) !== (keyFile === null)) {
    problems.push('CHRONOS_TLS_CLIENT_CERT and CHRONOS_TLS_CLIENT_KEY must be set together')
  } else if (certFile !== null && keyFile !== null) {
    clientIdentity = readIdentity(['CHRONOS_TLS_CLIENT_CERT', certFile], ['CHRONOS_TLS_CLIENT_KEY', keyFile], problems)
  }

  const targetIdentities: TargetIdentity[] = []
  const name = 'CHRONOS_TLS_CLIENT_IDENTITIES'
  for (const entry of (value(name) ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '')) {
    const [rule, cert, key, ...rest] = entry.split(/\s+/)
    if (rule === undefined || cert === undefined || key === undefined || rest.length > 0) {
      problems.push(`${name} entry ${JSON.stringify(entry)} must be "<target> <cert file> <key file>"`)
      continue
    }
    const ruleProblem = targetRuleProblem(rule, name)
    if (ruleProblem !== null) problems.push(ruleProblem)
    const identity = readIdentity([`${name} (${rule}) certificate`, cert], [`${name} (${rule}) key`, key], problems)
    if (ruleProblem === null && identity !== null) targetIdentities.push({ rule, identity })
  }
  return { extraCa, clientIdentity, targetIdentities }
}

/** A certificate file and its key file, or null (with problems pushed) when they do not make a pair. */
function readIdentity ([certName, certFile]: [string, string], [keyName, keyFile]: [string, string], problems: string[]): TlsIdentity | null {
  const certs = readCertificates(certName, certFile, problems)
  const key = readFile(keyName, keyFile, problems)
  if (key === null) return null
  let keyObject: KeyObject
  try {
    keyObject = createPrivateKey(key)
  } catch (err) {
    problems.push(`${keyName}: ${JSON.stringify(keyFile)} is not an unencrypted PEM private key (${(err as Error).message})`)
    return null
  }
  const leaf = certs[0]
  if (leaf === undefined) return null
  if (!new X509Certificate(leaf).checkPrivateKey(keyObject)) {
    problems.push(`${keyName}: the key in ${JSON.stringify(keyFile)} does not belong to the certificate in ${JSON.stringify(certFile)}`)
    return null
  }
  return { cert: certs.join('\n'), key }
}

/** The PEM certificates of a file, each checked to parse; [] (with problems pushed) otherwise. */
function readCertificates (name: string, file: string, problems: string[]): string[] {
  const text = readFile(name, file, problems)
  if (text === null) return []
  const blocks = text.match(PEM_CERTIFICATE) ?? []
  if (blocks.length === 0) problems.push(`${name}: ${JSON.stringify(file)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
  const bad = blocks.findIndex((block) => !parses(block))
  if (bad >= 0) {
    problems.push(`${name}: certificate ${bad + 1} in ${JSON.stringify(file)} does not parse`)
    return []
  }
  return blocks
}

function parses (pem: string): boolean {
  try {
    return new X509Certificate(pem).raw.length > 0
  } catch {
    return false
  }
}

function readFile (name: string, file: string, problems: string[]): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`${name}: cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    return null
  }
}
