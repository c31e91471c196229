/**
 * Repeated members in the config line's JSON (issue 18 item 12). JSON.parse keeps the last
 * of `{"port":80,"port":443}` without a word, and a reviver never sees the first, so the
 * raw text is scanned: a small tokenizer over text JSON.parse has already accepted, which
 * tracks each object's member names (compared after unescaping, so `"p\u006frt"` repeats
 * `"port"`) and the path to it. Iterative (an explicit stack), so depth costs no recursion.
 * Used on line 1 only: records are the hot path and their other members are ignored.
 */
import { InvalidConfigError } from '../errors.js'

interface ObjectFrame {
  readonly kind: 'object'
  readonly path: string
  readonly names: Set<string>
  isKeyNext: boolean
  name: string
}

interface ArrayFrame {
  readonly kind: 'array'
  readonly path: string
  index: number
}

type Frame = ObjectFrame | ArrayFrame

const BACKSLASH = 0x5c

/** Each repeated member once, as a path: `port`, `metadata[0].key`. Expects valid JSON. */
export function findRepeatedKeys (json: string): string[] {
  const repeated = new Set<string>()
  const stack: Frame[] = []
  for (let i = 0; i < json.length; i++) {
    const char = json[i]
    const top = stack[stack.length - 1]
    if (char === '"') {
      const end = stringEnd(json, i)
      if (top?.kind === 'object' && top.isKeyNext) {
        const name = json.slice(i + 1, end).includes('\\') ? JSON.parse(json.slice(i, end + 1)) as string : json.slice(i + 1, end)
        if (top.names.has(name)) repeated.add(childPath(top.path, name))
        top.names.add(name)
        top.name = name
        top.isKeyNext = false
      }
      i = end
    } else if (char === '{' || char === '[') {
      const path = top === undefined ? '' : top.kind === 'object' ? childPath(top.path, top.name) : `${top.path}[${top.index}]`
      stack.push(char === '{' ? { kind: 'object', path, names: new Set(), isKeyNext: true, name: '' } : { kind: 'array', path, index: 0 })
    } else if (char === '}' || char === ']') {
      stack.pop()
    } else if (char === ',' && top !== undefined) {
      if (top.kind === 'object') top.isKeyNext = true
      else top.index++
    }
  }
  return [...repeated]
}

/** The config line's repeated members as an invalid_config error, or null when there are none. */
export function repeatedFieldsError (configLine: string, lineNumber: number): InvalidConfigError | null {
  const repeated = findRepeatedKeys(configLine)
  if (repeated.length === 0) return null
  const reasons = repeated.map((path) => `field "${path}" is repeated`)
  return new InvalidConfigError(`the config line (line ${lineNumber}) is invalid: ${reasons.join('; ')}`, {
    details: reasons.map((reason) => ({ line: lineNumber, reason }))
  })
}

/** Index of the quote closing the string that opens at `start`: the next quote after an even run of backslashes. */
function stringEnd (json: string, start: number): number {
  let from = start + 1
  for (;;) {
    const quote = json.indexOf('"', from)
    if (quote === -1) return json.length - 1
    let backslashes = 0
    while (json.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote
    from = quote + 1
  }
}

function childPath (parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`
}
