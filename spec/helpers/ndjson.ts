// Building uploads: a JobSpec line pointing at a loopback target, and records, as NDJSON text.
import { readFile } from 'node:fs/promises'

const SEED = new URL('../fixtures/seed-example.ndjson', import.meta.url)
export interface SpecFields {
  primarykey?: string
  [field: string]: unknown
}

let sequence = 0

/** A unique primarykey per call, so tests never collide on the 409 guard. */
export function uniquePrimaryKey (): string {
  return `batch-${process.pid}-${++sequence}-${Date.now()}`
}

export function specLine (port: number, fields: SpecFields = {}): string {
  return JSON.stringify({
    primarykey: uniquePrimaryKey(),
    protocol: 'http',
    host: '127.0.0.1',
    port,
    path: '/ingest',
    ...fields
  })
}

export interface RecordLine {
  id: string | number
  payload: unknown
}

/** N records with ids 1..N and small JSON payloads. */
export function makeRecords (count: number, start = 1): RecordLine[] {
  const records: RecordLine[] = []
  for (let i = start; i < start + count; i++) records.push({ id: i, payload: JSON.stringify({ n: i, user: `user_${i}` }) })
  return records
}

export function buildUpload (port: number, records: RecordLine[], fields: SpecFields = {}): string {
  return [specLine(port, fields), ...records.map((record) => JSON.stringify(record))].join('\n') + '\n'
}

/** The contract's seed example, byte for byte, but aimed at a loopback target on `port`. */
export async function seedExample (port: number, primarykey = uniquePrimaryKey()): Promise<string> {
  const text = await readFile(SEED, 'utf8')
  return text
    .replace('"protocol":"https","host":"api.example.com","port":"443"', `"protocol":"http","host":"127.0.0.1","port":"${port}"`)
    .replace('"primarykey":"batch-001"', `"primarykey":"${primarykey}"`)
}
