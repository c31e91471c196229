/**
 * POST /run's query string (DESIGN §1, §8): the only parameter is `dry_run`, `true` or
 * `false`, given at most once. Anything else is refused with 400 invalid_request naming it,
 * never ignored: a user who guessed `?dryrun=1` must not get a real job sent in full.
 */
import { InvalidRequestError } from '../errors.js'

export interface RunQuery {
  readonly isDryRun: boolean
}

export function parseRunQuery (querystring: string): RunQuery {
  const values: string[] = []
  for (const [name, value] of new URLSearchParams(querystring)) {
    if (name !== 'dry_run') throw new InvalidRequestError(`unknown query parameter "${name}" (POST /run takes only "dry_run")`)
    values.push(value)
  }
  if (values.length === 0) return { isDryRun: false }
  const [value] = values
  if (values.length > 1 || (value !== 'true' && value !== 'false')) {
    throw new InvalidRequestError('query parameter "dry_run" must be given once, as true or false')
  }
  return { isDryRun: value === 'true' }
}
