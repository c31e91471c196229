// Stream helpers for pipeline specs: feed exact chunks, read everything back.
import { Readable } from 'node:stream'

/**
 * A byte stream that emits exactly these chunks, in order (strings as UTF-8), so a spec
 * controls where chunk boundaries fall: mid-line, mid-CRLF, mid-character.
 */
export function fromChunks (chunks: ReadonlyArray<Buffer | string>): Readable {
  // Empty chunks are dropped: pushing one is not a chunk to a byte stream.
  const buffers = chunks
    .map(chunk => typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)
    .filter(chunk => chunk.length > 0)
  let next = 0
  // highWaterMark 0: nothing is read ahead, so no two chunks are ever buffered together and
  // merged by a paused-mode read() (Readable.from() would merge them for an async iterator).
  return new Readable({
    highWaterMark: 0,
    read () {
      this.push(next < buffers.length ? buffers[next++] : null)
    },
  })
}

/** Reads a stream (or any async iterable) to its end and returns every chunk it gave. */
export async function collect<T = Buffer> (readable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of readable) items.push(item)
  return items
}

/** Cuts a buffer into pieces of n bytes (the last may be shorter): `splitEvery(buf, 1)` is byte by byte. */
export function splitEvery (buf: Buffer | string, n: number): Buffer[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`splitEvery: n must be a positive integer, got ${n}`)
  const bytes = typeof buf === 'string' ? Buffer.from(buf, 'utf8') : buf
  const pieces: Buffer[] = []
  for (let start = 0; start < bytes.length; start += n) pieces.push(bytes.subarray(start, start + n))
  return pieces
}
