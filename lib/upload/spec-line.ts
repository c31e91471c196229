/**
 * Line 1 of an NDJSON upload, the config (DESIGN §1): the JobSpec it resolves to, or the
 * 400 invalid_config that names it. The text is known valid UTF-8 and not blank.
 */
import type { InvalidConfigError } from '../errors.js'
import { parseJobSpec, type JobSpec, type JobSpecLimits } from '../domain/job-spec.js'
import { jsonValueProblem, mayHoldLoneSurrogate } from '../domain/json-value-problem.js'
import { RECORD_REASON_TEXT } from '../domain/record.js'
import { repeatedFieldsError } from '../domain/duplicate-keys.js'
import type { LineProblems } from './line-problems.js'

const LONE_SURROGATE = 'strings must be well-formed Unicode (no lone surrogate escape such as \\ud800)'

export function readSpecLine (text: string, lineNumber: number, limits: JobSpecLimits, problems: LineProblems): JobSpec | InvalidConfigError {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return problems.invalidSpec(lineNumber, [RECORD_REASON_TEXT.not_json])
  }
  if (mayHoldLoneSurrogate(text) && jsonValueProblem(value) !== null) return problems.invalidSpec(lineNumber, [LONE_SURROGATE])
  const repeated = repeatedFieldsError(text, lineNumber)
  if (repeated !== null) return repeated
  const result = parseJobSpec(value, limits)
  return result.ok ? result.spec : problems.invalidSpec(lineNumber, result.problems)
}
