/**
 * Transform: raw upload bytes in, spool bytes out. Splits on LF, checks every line as it
 * streams past, and writes the spool form: line 1 the resolved JobSpec, then one record per
 * line (CR, BOM and blank lines dropped), so the spool's line N+1 is record N. Line numbers
 * in errors are physical lines of the decompressed body, from 1 (line-problems.ts says when
 * the upload fails). Runs of blank lines are skipped at memory speed (blank-lines.ts); a
 * record line record-pattern.ts or record-scan.ts proves good is not parsed, any other gets
 * the exact check.
 * Not split2 (issue 15; split2 reads the spool): it yields decoded strings (bad UTF-8 replaced
 * before it can be refused), and a string per line plus JSON.parse costs what the hand scan
 * saves (docs/performance.md, Ingest and its Log).
 */
import { Transform, type TransformCallback } from 'node:stream'
import { isAscii, isUtf8 } from 'node:buffer'
import { PayloadTooLargeError } from '../errors.js'
import { LineProblems, MAX_DETAILS } from './line-problems.js'
import { SpecCheck, type SpecCheckFn } from './spec-check.js'
import { specToWire, type JobSpec, type JobSpecLimits } from '../domain/job-spec.js'
import { recordProblem, RECORD_REASON_TEXT } from '../domain/record.js'
import { isBlankByte, skipBlankLines } from './blank-lines.js'
import { scanRecord } from './record-scan.js'
import { provenRecordEnd } from './record-pattern.js'
import { readSpecLine } from './spec-line.js'

export { MAX_DETAILS }
const LF = 0x0a
const CR = 0x0d
const NEWLINE = Buffer.from('\n')
const BOM = Buffer.from([0xef, 0xbb, 0xbf])
/** After a run that is not valid UTF-8, bytes taken line by line before the run check runs again. */
const RUN_RETRY_BYTES = 16 * 1024

export interface LineValidatorOptions {
  readonly maxLineBytes: number
  readonly maxUploadBytes: number
  readonly specLimits: JobSpecLimits
  /** Runs once line 1 is valid (conflict and target checks); a rejection fails the upload. */
  readonly onSpec?: SpecCheckFn
}

export function createLineValidator (options: LineValidatorOptions): LineValidator {
  return new LineValidator(options)
}

export class LineValidator extends Transform {
  readonly #options: LineValidatorOptions
  /** Bytes of the current, unfinished line carried over from earlier chunks. */
  #carry: Buffer[] = []
  #carryBytes = 0
  #lineNumber = 0
  #totalBytes = 0
  #spec: JobSpec | null = null
  #records = 0
  readonly #problems: LineProblems
  readonly #specCheck = new SpecCheck()

  constructor (options: LineValidatorOptions) {
    super({ readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 })
    this.#options = options
    this.#problems = new LineProblems(options.maxLineBytes)
  }

  /** The JobSpec from line 1, once read. */
  get spec (): JobSpec | null { return this.#spec }

  /** Decompressed bytes received so far. */
  get bytes (): number { return this.#totalBytes }

  /** Records seen (blank lines not counted). */
  get records (): number { return this.#records }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let error: Error | null = null
    this.#totalBytes += chunk.length
    if (this.#totalBytes > this.#options.maxUploadBytes) {
      error = new PayloadTooLargeError(`the upload is larger than ${this.#options.maxUploadBytes} bytes`)
    } else {
      const out: Buffer[] = []
      error = this.#splitLines(chunk, out)
      this.#pushSpool(error, out)
    }
    this.#specCheck.then(error, callback)
  }

  override _flush (callback: TransformCallback): void {
    let error: Error | null = null
    if (this.#carryBytes > 0) {
      const out: Buffer[] = []
      const line = Buffer.concat(this.#carry, this.#carryBytes)
      this.#carry = []
      this.#carryBytes = 0
      error = this.#acceptLine(line, out)
      this.#pushSpool(error, out)
    }
    if (error === null) error = this.#problems.final(this.#spec !== null, this.#records)
    this.#specCheck.then(error, callback)
  }

  /** Nothing is pushed once a problem is known: the spool is about to be thrown away. */
  #pushSpool (error: Error | null, out: Buffer[]): void {
    if (error === null && out.length > 0 && !this.#problems.hasAny) this.push(out.length === 1 ? out[0] : Buffer.concat(out))
  }

  #splitLines (chunk: Buffer, out: Buffer[]): Error | null {
    let start = 0
    let runRetry = 0
    while (start < chunk.length) {
      if (this.#carryBytes === 0 && isBlankByte(chunk[start])) {
        start = this.#skipBlankLines(chunk, start, chunk.length)
        if (start === chunk.length) break
      }
      const newline = chunk.indexOf(LF, start)
      if (newline === -1) {
        this.#carry.push(chunk.subarray(start))
        this.#carryBytes += chunk.length - start
        // Spare bytes: the line's CR may be in this chunk and its LF in the next, and line 1
        // may start with a 3-byte BOM that does not count.
        const spare = this.#lineNumber === 0 ? 4 : 1
        if (this.#carryBytes > this.#options.maxLineBytes + spare) return this.#problems.lineTooLarge(this.#lineNumber + 1)
        return null
      }
      // Past line 1, a run of whole lines that is valid UTF-8 (the usual case, ASCII or not)
      // needs no isUtf8 per line.
      const lastNewline = this.#carryBytes === 0 && this.#spec !== null && start >= runRetry ? chunk.lastIndexOf(LF) : -1
      if (lastNewline > start) {
        const run = chunk.subarray(start, lastNewline)
        const isAsciiRun = isAscii(run)
        if (isAsciiRun || isUtf8(run)) {
          const error = this.#acceptWholeLines(chunk, start, lastNewline, isAsciiRun, out)
          if (error !== null) return error
          start = lastNewline + 1
          continue
        }
        // The run holds a line that is not UTF-8. Rescanning the rest of the chunk after every
        // line would be quadratic (~4 µs a 27-byte line at 256 KiB chunks): look again only further on.
        runRetry = start + RUN_RETRY_BYTES
      }
      let line = chunk.subarray(start, newline)
      if (this.#carryBytes > 0) {
        this.#carry.push(line)
        line = Buffer.concat(this.#carry, this.#carryBytes + line.length)
        this.#carry = []
        this.#carryBytes = 0
      }
      const error = this.#acceptLine(line, out)
      if (error !== null) return error
      start = newline + 1
    }
    return null
  }

  /**
   * Lines chunk[from, lastNewline], all valid UTF-8, each ending in LF; kept lines without CR
   * go out as contiguous byte runs of the chunk. A line provenRecordEnd() proves good is not
   * parsed; others get the exact check on their UTF-8 text: a slice of the run's text when
   * the run is ASCII (a third cheaper per line than decoding its bytes again; docs/performance.md,
   * Log), else the line's bytes decoded as UTF-8. The run is decoded as latin1, one
   * character per byte, so that offsets in the text are offsets in the chunk and line lengths
   * are bytes; the fast paths take a byte of 0x80 and up only inside a string, as part of a
   * valid UTF-8 character, and leave a line with one anywhere else to the exact check. It is
   * decoded whole even when every line is proven: without that garbage, scavenges are rare
   * and dead body chunks raise peak RSS (docs/performance.md, Log).
   */
  #acceptWholeLines (chunk: Buffer, from: number, lastNewline: number, isAsciiRun: boolean, out: Buffer[]): Error | null {
    const text = chunk.toString('latin1', from, lastNewline + 1)
    /** Start of the kept lines not pushed yet; they run up to the line at `pos`. */
    let runStart = -1
    let pos = 0
    while (pos < text.length) {
      if (text.charCodeAt(pos) <= 0x20) {
        if (runStart >= 0) out.push(chunk.subarray(from + runStart, from + pos))
        runStart = -1
        const next = this.#skipBlankLines(chunk, from + pos, lastNewline + 1) - from
        if (next > pos) {
          pos = next
          continue
        }
      }
      const lineNumber = ++this.#lineNumber
      const proven = provenRecordEnd(text, pos, chunk, from, lastNewline + 1)
      const newline = proven !== -1 ? proven : text.indexOf('\n', pos)
      const hasCr = newline > pos && text.charCodeAt(newline - 1) === CR
      const end = hasCr ? newline - 1 : newline
      if (end - pos > this.#options.maxLineBytes) return this.#problems.lineTooLarge(lineNumber)
      const verdict = proven !== -1
        ? 'record'
        : this.#checkRecordText(isAsciiRun ? text.slice(pos, end) : chunk.toString('utf8', from + pos, from + end), lineNumber)
      if (verdict instanceof Error) return verdict
      if (verdict === 'record') this.#records++
      if (verdict === 'record' && !hasCr) {
        if (runStart < 0) runStart = pos
      } else {
        if (runStart >= 0) out.push(chunk.subarray(from + runStart, from + pos))
        runStart = -1
        if (verdict === 'record') out.push(chunk.subarray(from + pos, from + end), NEWLINE)
      }
      pos = newline + 1
    }
    if (runStart >= 0) out.push(chunk.subarray(from + runStart, lastNewline + 1))
    return null
  }

  /** The exact check of a record line: 'record', 'blank', or an invalid line (null = keep going). */
  #checkRecordText (text: string, lineNumber: number): 'record' | 'blank' | Error | null {
    // `{` first is the usual case and can't be blank; only other lines pay for trim().
    if (text.charCodeAt(0) !== 0x7b && text.trim() === '') return 'blank'
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return this.#problems.invalid(lineNumber, RECORD_REASON_TEXT.not_json, this.#spec !== null)
    }
    const problem = recordProblem(value, text)
    if (problem !== null) return this.#problems.invalid(lineNumber, RECORD_REASON_TEXT[problem], this.#spec !== null)
    return 'record'
  }

  /** One physical line, without its LF. */
  #acceptLine (raw: Buffer, out: Buffer[]): Error | null {
    const lineNumber = ++this.#lineNumber
    let line = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, -1) : raw
    if (lineNumber === 1 && line.subarray(0, 3).equals(BOM)) line = line.subarray(3)
    if (line.length > this.#options.maxLineBytes) return this.#problems.lineTooLarge(lineNumber)
    if (!isUtf8(line)) return this.#problems.invalid(lineNumber, 'not valid UTF-8', this.#spec !== null)
    const text = line.toString('utf8')
    if (this.#spec !== null) {
      const verdict = scanRecord(line, 0, line.length) !== -1 ? 'record' : this.#checkRecordText(text, lineNumber)
      if (verdict === 'record') {
        this.#records++
        out.push(line, NEWLINE)
      }
      return verdict === 'record' || verdict === 'blank' ? null : verdict
    }
    if (text.trim() === '') return null
    const spec = readSpecLine(text, lineNumber, this.#options.specLimits, this.#problems)
    if (spec instanceof Error) return spec
    this.#spec = spec
    out.push(Buffer.from(JSON.stringify(specToWire(spec))), NEWLINE)
    if (this.#options.onSpec !== undefined) this.#specCheck.start(this.#options.onSpec, spec)
    return null
  }

  /** Skips whole blank lines from `start` (a line start), counting them; returns where it stopped. */
  #skipBlankLines (chunk: Buffer, start: number, limit: number): number {
    const run = skipBlankLines(chunk, start, limit, this.#options.maxLineBytes)
    this.#lineNumber += run.lines
    return run.end
  }
}
