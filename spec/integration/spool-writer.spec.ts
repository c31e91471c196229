// createSpoolWriter(): bytes go to `<jobId>.ndjson.partial` and become `<jobId>.ndjson` only
// once complete and fsynced; anything short of that leaves no file behind (DESIGN §1). A full
// disk is simulated with a 64 KiB tmpfs (needs root; skipped where mount is refused).
import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { expect } from 'chai'
import { InsufficientStorageError } from '../../lib/errors.js'
import { PARTIAL_SUFFIX, createSpoolWriter, spoolPathFor, type SpoolWriter } from '../../lib/spool/spool-writer.js'
import { fromChunks, splitEvery } from '../helpers/streams.js'

const execFileAsync = promisify(execFile)

/** A source that emits `chunks`, then fails with `err` instead of ending. */
function failingAfter (chunks: readonly Buffer[], err: Error): Readable {
  let next = 0
  return new Readable({
    highWaterMark: 0,
    read () {
      if (next < chunks.length) this.push(chunks[next++])
      else this.destroy(err)
    }
  })
}

/** Resolves once the writer has closed, however it ended (its async cleanup runs before 'close'). */
async function closed (writer: SpoolWriter): Promise<void> {
  if (writer.closed) return
  await new Promise<void>((resolve) => writer.once('close', () => resolve()))
}

async function writeAndWait (writer: SpoolWriter, chunk: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => writer.write(chunk, (err) => err == null ? resolve() : reject(err)))
}

describe('createSpoolWriter()', () => {
  let spoolDir: string
  let jobId: string

  beforeEach(async () => {
    spoolDir = await mkdtemp(join(tmpdir(), 'chronos-spool-writer-'))
    jobId = `job-${randomUUID()}`
  })

  afterEach(async () => {
    await rm(spoolDir, { recursive: true, force: true })
  })

  it('leaves <jobId>.ndjson with every byte and no partial file on success', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    const writer = createSpoolWriter(spoolDir, jobId)
    await pipeline(fromChunks(splitEvery(bytes, 65_521)), writer)
    expect(writer.path).to.equal(join(spoolDir, `${jobId}.ndjson`))
    expect(writer.path).to.equal(spoolPathFor(spoolDir, jobId))
    expect(await readdir(spoolDir)).to.deep.equal([`${jobId}.ndjson`])
    expect((await readFile(writer.path)).equals(bytes)).to.equal(true)
  })

  it('writes an NDJSON upload byte for byte, including multibyte characters split across chunks', async () => {
    const text = '{"primarykey":"b"}\r\n{"id":1,"payload":"zürich € 🙂"}\n\n{"id":2,"payload":"x"}'
    const writer = createSpoolWriter(spoolDir, jobId)
    await pipeline(fromChunks(splitEvery(text, 1)), writer)
    expect(await readFile(writer.path, 'utf8')).to.equal(text)
  })

  it('writes a head set before the end over the start of the file (JSON config after records, issue 15)', async () => {
    const writer = createSpoolWriter(spoolDir, jobId)
    const body = `${' '.repeat(64)}\n{"id":1,"payload":"a"}\n`
    const done = pipeline(fromChunks(splitEvery(body, 7)), writer)
    writer.setHead(Buffer.from('{"primarykey":"k"}'))
    await done
    expect(await readFile(writer.path, 'utf8')).to.equal(`{"primarykey":"k"}${' '.repeat(64 - 18)}\n{"id":1,"payload":"a"}\n`)
  })

  it('writes an empty file for an empty body', async () => {
    const writer = createSpoolWriter(spoolDir, jobId)
    await pipeline(fromChunks([]), writer)
    expect(await readdir(spoolDir)).to.deep.equal([`${jobId}.ndjson`])
    expect(await readFile(writer.path)).to.have.length(0)
  })

  it('keeps bytes under the partial name until the end', async () => {
    const writer = createSpoolWriter(spoolDir, jobId)
    await writeAndWait(writer, Buffer.from('{"primarykey":"b"}\n'))
    expect(await readdir(spoolDir)).to.deep.equal([`${jobId}${PARTIAL_SUFFIX}`])
    writer.end(Buffer.from('{"id":1,"payload":"x"}\n'))
    await once(writer, 'finish')
    expect(await readdir(spoolDir)).to.deep.equal([`${jobId}.ndjson`])
  })

  it('removes the partial file when destroyed mid-way', async () => {
    const writer = createSpoolWriter(spoolDir, jobId)
    await writeAndWait(writer, randomBytes(100_000))
    expect(await readdir(spoolDir)).to.deep.equal([`${jobId}${PARTIAL_SUFFIX}`])
    writer.on('error', () => {}) // pipeline() would hold this listener
    writer.destroy(new Error('client went away'))
    await closed(writer)
    expect(await readdir(spoolDir)).to.deep.equal([])
  })

  it('removes the partial file when the upstream fails, and pipeline rejects', async () => {
    const writer = createSpoolWriter(spoolDir, jobId)
    const aborted = new Error('aborted mid-upload')
    await expect(pipeline(failingAfter(splitEvery(randomBytes(50_000), 4096), aborted), writer)).to.be.rejectedWith(aborted)
    await closed(writer)
    expect(await readdir(spoolDir)).to.deep.equal([])
  })

  it('removes the partial file when the pipeline is aborted', async () => {
    const writer = createSpoolWriter(spoolDir, jobId)
    const controller = new AbortController()
    let sent = 0
    const source = new Readable({
      highWaterMark: 0,
      read () {
        if (++sent === 5) controller.abort()
        this.push(randomBytes(1024))
      }
    })
    await expect(pipeline(source, writer, { signal: controller.signal })).to.be.rejectedWith(/aborted/i)
    await writer.discard()
    expect(await readdir(spoolDir)).to.deep.equal([])
  })

  describe('discard()', () => {
    it('removes the partial file of an unfinished writer and closes it', async () => {
      const writer = createSpoolWriter(spoolDir, jobId)
      await writeAndWait(writer, Buffer.from('{"primarykey":"b"}\n'))
      await writer.discard()
      expect(writer.closed).to.equal(true)
      expect(await readdir(spoolDir)).to.deep.equal([])
    })

    it('removes the committed spool file', async () => {
      const writer = createSpoolWriter(spoolDir, jobId)
      await pipeline(fromChunks(['{"primarykey":"b"}\n', '{"id":1,"payload":"x"}\n']), writer)
      expect(await readdir(spoolDir)).to.deep.equal([`${jobId}.ndjson`])
      await writer.discard()
      expect(await readdir(spoolDir)).to.deep.equal([])
    })

    it('is safe after a failure and when called twice', async () => {
      const writer = createSpoolWriter(spoolDir, jobId)
      await pipeline(failingAfter([Buffer.from('abc')], new Error('boom')), writer).catch(() => {})
      await writer.discard()
      await writer.discard()
      expect(await readdir(spoolDir)).to.deep.equal([])
    })

    it('removes only its own job\'s files', async () => {
      const other = createSpoolWriter(spoolDir, `job-${randomUUID()}`)
      await pipeline(fromChunks(['other job\n']), other)
      const writer = createSpoolWriter(spoolDir, jobId)
      await writeAndWait(writer, Buffer.from('mine\n'))
      await writer.discard()
      expect(await readdir(spoolDir)).to.deep.equal([other.path.slice(spoolDir.length + 1)])
    })
  })

  it('fails with an fs error when the spool dir does not exist', async () => {
    const writer = createSpoolWriter(join(spoolDir, 'missing'), jobId)
    const err = await pipeline(fromChunks(['x']), writer).catch((error: unknown) => error)
    expect(err).to.have.property('code', 'ENOENT')
  })

  describe('when the disk is full', () => {
    let fullDir: string | null = null

    before(async function () {
      const dir = await mkdtemp(join(tmpdir(), 'chronos-full-disk-'))
      try {
        await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { timeout: 5000 })
        fullDir = dir
      } catch (err) {
        await rm(dir, { recursive: true, force: true })
        console.log(`      (cannot mount a tmpfs to simulate ENOSPC: ${(err as Error).message.split('\n')[0]})`)
        this.skip()
      }
    })

    after(async () => {
      if (fullDir === null) return
      await execFileAsync('umount', [fullDir], { timeout: 5000 })
      await rm(fullDir, { recursive: true, force: true })
      fullDir = null
    })

    it('fails with insufficient_storage (507) and leaves no file behind', async () => {
      const dir = fullDir as string
      const writer = createSpoolWriter(dir, jobId)
      const err = await pipeline(fromChunks(splitEvery(randomBytes(256 * 1024), 16 * 1024)), writer).catch((error: unknown) => error)
      expect(err).to.be.instanceOf(InsufficientStorageError)
      expect(err).to.include({ code: 'insufficient_storage', status: 507 })
      expect((err as Error).cause).to.have.property('code', 'ENOSPC')
      await closed(writer)
      expect(await readdir(dir)).to.deep.equal([])
    })

    it('leaves room for the next upload once a failed one is cleaned up', async () => {
      const dir = fullDir as string
      const writer = createSpoolWriter(dir, jobId)
      await pipeline(fromChunks([randomBytes(16 * 1024)]), writer)
      expect(await readFile(writer.path)).to.have.length(16 * 1024)
      await writer.discard()
      expect(await readdir(dir)).to.deep.equal([])
    })
  })
})
