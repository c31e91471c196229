/**
 * Benchmark upload generator.
 *
 * Usage: tsx scripts/bench/make-fixture.ts N out.ndjson|out.json [targetPort] [concurrency]
 *
 * Writes an NDJSON upload (DESIGN §1): line 1 is the JobSpec pointing at
 * http(s)://127.0.0.1:<targetPort>/ingest with a `concurrency` field; then N records
 * `{"id":<8 digits>,"payload":"{...json text...}"}` of about 120 bytes each (with payload
 * 'object', `{"id":<8 digits>,"payload":{...}}`, the same object inline: ~110 bytes; with
 * 'unicode', the string payload with a `name` member of non-ASCII text: ~150 bytes). With
 * format 'json' (a file named *.json on the command line) the same JobSpec and records
 * make one JSON upload (DESIGN §10), `{"config":<JobSpec>,"records":[\n<record>,\n…\n]}`:
 * one byte more per record than the NDJSON file (the comma). Ids are
 * 10000001, 10000002, … so they are 8 characters, the id size the Redis-memory
 * target assumes. The content comes from a seeded PRNG, so the same arguments always give
 * the same bytes. The file is streamed out in ~64 KiB chunks with backpressure: memory
 * stays flat however large N is.
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { pathToFileURL } from 'node:url'
import { seededRandom } from '../../spec/helpers/seeded-random.js'

export interface FixtureOptions {
  records: number
  file: string
  targetPort: number
  concurrency: number
  /** @defaultValue 'http' */
  protocol?: 'http' | 'https'
  /** @defaultValue 'ndjson' */
  format?: UploadFormat
  /**
   * A record's payload: JSON text in a string, the same JSON object inline, or JSON text in a
   * string that also holds a name in non-ASCII text (UTF-8 of 2 to 4 bytes a character).
   * @defaultValue 'string'
   */
  payload?: PayloadShape
  /** @defaultValue 42 */
  seed?: number
}

export type PayloadShape = 'string' | 'object' | 'unicode'

export type UploadFormat = 'ndjson' | 'json'

export interface Fixture {
  file: string
  records: number
  bytes: number
  /** The Content-Type to upload it with. */
  contentType: string
}

/** What goes before the first record, between two records and after the last, per format. */
const FRAMES: Record<UploadFormat, { open: (spec: string) => string, between: string, close: string, contentType: string }> = {
  ndjson: { open: (spec) => `${spec}\n`, between: '\n', close: '\n', contentType: 'application/x-ndjson' },
  json: { open: (spec) => `{"config":${spec},"records":[\n`, between: ',\n', close: '\n]}\n', contentType: 'application/json' }
}

const ACTIONS = ['purchase', 'review', 'signup', 'login', 'refund', 'logout'] as const
/** Names in Latin with accents, Cyrillic, Greek, CJK, Arabic, and one with an emoji. */
const NAMES = ['José Müller', 'Zoë Ångström', 'Дмитрий Соколов', 'Σοφία Παπαδοπούλου', '佐藤 花子', '王小明', 'محمد علي', 'Chloé 🎉'] as const
const FIRST_ID = 10_000_001
const CHUNK_BYTES = 64 * 1024

export function jobSpecLine (targetPort: number, concurrency: number, protocol: 'http' | 'https' = 'http'): string {
  return JSON.stringify({
    primarykey: `bench-${targetPort}-${concurrency}`,
    protocol,
    host: '127.0.0.1',
    port: targetPort,
    path: '/ingest',
    metadata: [{ key: 'x-tenant-id', value: 'tenant-bench' }],
    concurrency
  })
}

function recordLine (index: number, random: () => number, shape: PayloadShape): string {
  const user = String(Math.floor(random() * 1_000_000)).padStart(6, '0')
  const action = ACTIONS[Math.floor(random() * ACTIONS.length)] ?? 'login'
  const amount = (random() * 1000).toFixed(2)
  const ts = 1_767_225_600 + Math.floor(random() * 31_536_000)
  const payload = shape === 'unicode'
    ? { v: 1, user_id: `user_${user}`, name: NAMES[Math.floor(random() * NAMES.length)], action, amount: Number(amount), ts }
    : { v: 1, user_id: `user_${user}`, action, amount: Number(amount), ts }
  // By default the payload is JSON *text* in a string (sent verbatim), as in the seed example.
  return JSON.stringify({ id: FIRST_ID + index, payload: shape === 'object' ? payload : JSON.stringify(payload) })
}

export async function makeFixture (options: FixtureOptions): Promise<Fixture> {
  const random = seededRandom(options.seed ?? 42)
  const frame = FRAMES[options.format ?? 'ndjson']
  const out = createWriteStream(options.file)
  let bytes = 0
  let chunk = frame.open(jobSpecLine(options.targetPort, options.concurrency, options.protocol))
  try {
    for (let i = 0; i < options.records; i++) {
      chunk += (i === 0 ? '' : frame.between) + recordLine(i, random, options.payload ?? 'string')
      if (chunk.length >= CHUNK_BYTES) {
        bytes += Buffer.byteLength(chunk)
        if (!out.write(chunk)) await once(out, 'drain')
        chunk = ''
      }
    }
    chunk += frame.close
    bytes += Buffer.byteLength(chunk)
    out.end(chunk)
    await once(out, 'finish')
  } catch (err) {
    out.destroy()
    throw err
  }
  return { file: options.file, records: options.records, bytes, contentType: frame.contentType }
}

async function main (): Promise<void> {
  const [n, file, port, concurrency] = process.argv.slice(2)
  const records = Number(n)
  if (file === undefined || !Number.isInteger(records) || records < 1) {
    throw new Error('usage: make-fixture.ts N out.ndjson|out.json [targetPort] [concurrency]')
  }
  const fixture = await makeFixture({
    records,
    file,
    format: file.endsWith('.json') ? 'json' : 'ndjson',
    targetPort: Number(port ?? 8081),
    concurrency: Number(concurrency ?? 64)
  })
  process.stdout.write(JSON.stringify(fixture) + '\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
