// The bench's json-ingest scenario (issue 15): its upload holds the records of the NDJSON
// ingest upload as one {"config", "records"} document, and the report judges every ingest
// scenario and the JSON upload's peak RSS against the NDJSON one's. The bench itself is not
// in `make test` (it takes minutes); these are the parts that decide what it reports.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { makeFixture } from '../../scripts/bench/make-fixture.js'
import { summarize, LIMITS, type IngestScenario } from '../../scripts/bench/report.js'

describe('bench: json-ingest', function () {
  let dir = ''
  beforeEach(async function () { dir = await mkdtemp(join(tmpdir(), 'chronos-bench-fixture-')) })
  afterEach(async function () { await rm(dir, { recursive: true, force: true }) })

  it('writes the NDJSON upload\'s config and records as one JSON document, across write chunks', async function () {
    // 1,500 records of ~124 bytes: past the generator's 64 KiB chunks, so separators fall at chunk edges.
    const options = { records: 1500, targetPort: 9, concurrency: 8 }
    const ndjson = await makeFixture({ ...options, file: join(dir, 'up.ndjson') })
    const json = await makeFixture({ ...options, file: join(dir, 'up.json'), format: 'json' })
    const lines = (await readFile(ndjson.file, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)
    const document = JSON.parse(await readFile(json.file, 'utf8')) as { config: unknown, records: unknown[] }
    expect(Object.keys(document)).to.deep.equal(['config', 'records'])
    expect(document.config).to.deep.equal(lines[0])
    expect(document.records).to.deep.equal(lines.slice(1))
    expect(json.records).to.equal(1500)
    expect(json.bytes).to.equal((await stat(json.file)).size)
    expect(ndjson.bytes).to.equal((await stat(ndjson.file)).size)
    expect([ndjson.contentType, json.contentType]).to.deep.equal(['application/x-ndjson', 'application/json'])
  })

  function ingest (name: string, format: 'ndjson' | 'json', peakRssMiB: number): IngestScenario {
    const run = { ok: true, error: null, ms: 1000, mbPerSec: format === 'json' ? 4 : 50 }
    const raw = [{ ...run, mbPerSec: 100 }]
    const chronos = [{ ...run, peakRssBytes: peakRssMiB * 1048576 }]
    return { kind: 'ingest', name, format, records: 10, bytes: 1e6, targetRatio: 0.02, sequence: ['raw', 'chronos'], raw, chronos }
  }

  it('reports every ingest scenario, and the JSON upload\'s peak RSS within its margin of the NDJSON one\'s', function () {
    const within = 100 * (1 + LIMITS.jsonIngestRssPercent / 100) - 0.5
    const summary = summarize([ingest('ingest', 'ndjson', 100), ingest('json-ingest', 'json', within)], 1)
    expect(summary['ingest']).to.include({ kind: 'ingest', format: 'ndjson', ratio: 0.5, pass: true })
    expect(summary['json-ingest']).to.include({ kind: 'ingest', format: 'json', ratio: 0.04, pass: true })
    expect(summary['ingestPeakRss']).to.include({ pass: true })

    const over = summarize([ingest('ingest', 'ndjson', 100), ingest('json-ingest', 'json', within + 1)], 1)
    expect(over['ingestPeakRss']).to.include({ pass: false })
  })
})
