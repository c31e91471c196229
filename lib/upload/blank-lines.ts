/**
 * Skips runs of blank lines (SP, TAB and CR, ended by LF) at memory speed (issue 18 item
 * 9: 1 MiB of gzip inflating to 1 GiB of "\n" took 43 s when every blank line went through
 * the per-line path). Lines are scanned byte by byte in one tight loop; when the bytes right
 * after the last line, or the last few lines, repeat them, whole blocks of copies are
 * verified with one native compare each, so a run of a repeated blank line or group of lines
 * ("\n", "\r\n", "  \n", "\n \n"…) costs memcmp time. What does not repeat costs the byte
 * loop, a few ns a byte; a failed look for repeats backs off (exponentially, by bytes
 * scanned) so it never costs much more.
 *
 * Only whole lines of at most maxLineBytes are skipped: a longer one, or a line still open
 * at `limit`, is left to the caller, which measures and reports it as it always did.
 */

const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const TAB = 0x09
/** Bytes of copies verified by the first compare once a line repeated; doubles up to the cap. */
const FIRST_BLOCK_BYTES = 4 * 1024
const MAX_BLOCK_BYTES = 256 * 1024
const FIRST_BACKOFF_BYTES = 64
const MAX_BACKOFF_BYTES = 64 * 1024

export interface BlankRun {
  /** Where the first line that was not skipped starts (`start` when none was). */
  readonly end: number
  /** Lines skipped: the LFs in [start, end). */
  readonly lines: number
}

/** True for the bytes a blank line is made of. */
export function isBlankByte (byte: number | undefined): boolean {
  return byte === LF || byte === SP || byte === TAB || byte === CR
}

/** Starts of the last few lines scanned: a repeated group of up to this many lines is found. */
const GROUP_LINES = 8
const lineStarts = new Float64Array(GROUP_LINES)
/** Lines in the copies repeatedGroup() last found (a module slot, not a returned object: a rarely
 * read property of a returned object made V8 deoptimize the scan loop over and over). */
let copiedLines = 0

/** Skips the whole blank lines of chunk[start, limit); `start` is the start of a line. */
export function skipBlankLines (chunk: Buffer, start: number, limit: number, maxLineBytes: number): BlankRun {
  let lineStart = start
  let lines = 0
  /** Lines scanned since the last jump, whose starts are in lineStarts. */
  let scanned = 0
  let nextTry = start
  let backoff = FIRST_BACKOFF_BYTES
  for (let i = start; i < limit; i++) {
    const byte = chunk[i]
    if (byte !== LF) {
      if (byte !== SP && byte !== TAB && byte !== CR) break
      continue
    }
    if (i - lineStart > maxLineBytes) break
    lineStarts[scanned % GROUP_LINES] = lineStart
    scanned++
    lines++
    lineStart = i + 1
    if (lineStart < nextTry) continue
    const jumpBytes = repeatedGroup(chunk, lineStart, limit, scanned)
    if (jumpBytes > 0) {
      lineStart += jumpBytes
      lines += copiedLines
      i = lineStart - 1
      scanned = 0
    }
    // Only a long jump pays for the next look right away: short repeats happen by chance.
    if (jumpBytes >= backoff) {
      nextTry = lineStart
      backoff = FIRST_BACKOFF_BYTES
    } else {
      nextTry = lineStart + backoff
      backoff = Math.min(backoff * 2, MAX_BACKOFF_BYTES)
    }
  }
  return { end: lineStart, lines }
}

/**
 * Bytes of the copies of the last 1…GROUP_LINES scanned lines (whichever group repeats
 * first) that follow from `from`, 0 when none does; their lines go to copiedLines.
 */
function repeatedGroup (chunk: Buffer, from: number, limit: number, scanned: number): number {
  for (let group = 1; group <= Math.min(scanned, GROUP_LINES); group++) {
    const groupStart = lineStarts[(scanned - group) % GROUP_LINES] as number
    const length = from - groupStart
    // A first-byte test in JS spares the native call for a group that cannot repeat.
    if (from + length > limit || chunk[from] !== chunk[groupStart]) continue
    const copies = countCopies(chunk, from, length, limit)
    if (copies > 0) {
      copiedLines = copies * group
      return copies * length
    }
  }
  return 0
}

/**
 * How many whole copies of the `length` bytes before `from` follow it, before `limit`.
 * Comparing a span with the same span shifted back by `length` proves it repeats them; on a
 * mismatch the block is halved until it fits.
 */
function countCopies (chunk: Buffer, from: number, length: number, limit: number): number {
  let copies = 0
  // One copy first: a group that does not repeat costs a single short compare.
  let block = 1
  while (block > 0) {
    block = Math.min(block, Math.floor((limit - from) / length))
    if (block === 0) break
    const bytes = block * length
    if (chunk.compare(chunk, from - length, from - length + bytes, from, from + bytes) === 0) {
      copies += block
      from += bytes
      block = Math.min(Math.max(block * 2, Math.floor(FIRST_BLOCK_BYTES / length)), Math.max(1, Math.floor(MAX_BLOCK_BYTES / length)))
    } else {
      if (copies === 0) break
      block >>= 1
    }
  }
  return copies
}
