/**
 * The part of POST /run that a real upload and a dry run share, so both answer exactly
 * alike: the framing checks (media type, encoding, declared size), the intake the media type
 * picks (the line validator for NDJSON, json-intake.ts's stages for a JSON document; both
 * write the same spool format), and the one pipeline request → [gunzip] → intake → sink,
 * with a broken gzip body mapped to 400.
 */
import type { IncomingMessage } from 'node:http'
import { createGunzip } from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import type { Readable, Writable } from 'node:stream'
import { InvalidRequestError, PayloadTooLargeError, errorCode } from '../errors.js'
import { checkMediaType, type UploadFraming } from './media-type.js'
import { createLineValidator } from './line-validator.js'
import { createJsonIntake, type IntakeOptions, type UploadIntake } from './json-intake.js'

/**
 * Inflated bytes per gunzip chunk. zlib's default, 16 KiB, made stream bookkeeping per chunk
 * the larger part of inflating a highly compressed body (1 GiB of blank lines: 2.3 s of CPU
 * at 16 KiB, 1.0 s at 256 KiB; issue 18 item 9); the validator takes 256 KiB writes anyway.
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024

/** Throws 415 or 413 before a byte of the body is read. */
export function checkFraming (headers: IncomingMessage['headers'], maxUploadBytes: number): UploadFraming {
  const framing = checkMediaType(headers['content-type'], headers['content-encoding'])
  const declaredBytes = Number(headers['content-length'])
  if (!framing.isGzip && declaredBytes > maxUploadBytes) {
    throw new PayloadTooLargeError(`the upload is larger than ${maxUploadBytes} bytes`)
  }
  return framing
}

/** The intake for the upload's format. */
export function createIntake (framing: UploadFraming, options: IntakeOptions): UploadIntake {
  if (framing.format === 'json') return createJsonIntake(options)
  const validator = createLineValidator(options)
  return {
    stages: [validator],
    get bytes () { return validator.bytes },
    get spec () { return validator.spec },
    get records () { return validator.records },
    answerFor: (err) => err
  }
}

/** Streams the body through the intake into `sink`; a body that is not gzip is 400. */
export async function readUpload (body: Readable, framing: UploadFraming, intake: UploadIntake, sink: Writable): Promise<void> {
  try {
    const stages = framing.isGzip ? [createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), ...intake.stages] : intake.stages
    await pipeline([body, ...stages, sink])
  } catch (caught) {
    const err = intake.answerFor(caught)
    const code = errorCode(err)
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
      throw new InvalidRequestError('the body is not valid gzip', { cause: err })
    }
    throw err
  }
}
