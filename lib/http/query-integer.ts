/**
 * A numeric query parameter: plain decimal digits only (issue 18 item 12). Number() would
 * also read `0x10`, `1e1`, ` 5`, `+5` and '' (as 0), so a typo or a probe would be taken
 * as some other number instead of refused.
 */
import { InvalidRequestError } from '../errors.js'

const DIGITS = /^[0-9]+$/

/** `fallback` when absent; else an integer in [min, max] or 400 invalid_request naming `name`. */
export function queryInteger (value: string | string[] | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback
  const number = typeof value === 'string' && DIGITS.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new InvalidRequestError(`query parameter "${name}" must be an integer from ${min} to ${max}, in decimal digits`)
  }
  return number
}
