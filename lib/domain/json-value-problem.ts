/**
 * What makes a parsed JSON value unsafe to keep and send later (issue 18 item 1): a string
 * or key that is not well-formed Unicode (a lone surrogate escape such as "\ud800", which
 * encodeURIComponent and TextEncoder cannot take faithfully), or objects and arrays nested
 * so deep that the recursive JSON.stringify overflows the stack (~10,000 levels).
 *
 * Raw upload bytes are checked to be valid UTF-8, which cannot encode a surrogate, so a lone
 * surrogate can only come from a `\uD800`-`\uDFFF` escape: mayHoldLoneSurrogate() is the
 * cheap test on the line's text that lets ordinary lines skip the walk.
 */

/** Objects and arrays a record's payload may nest (the payload itself is level 1). */
export const MAX_PAYLOAD_DEPTH = 64

export type JsonValueProblem = 'lone_surrogate' | 'too_deep'

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/

/** False when `jsonText` cannot decode to a lone surrogate (it has no surrogate escape). */
export function mayHoldLoneSurrogate (jsonText: string): boolean {
  return jsonText.includes('\\u') && SURROGATE_ESCAPE.test(jsonText)
}

/**
 * False when `jsonText` has too few `{` and `[` to nest deeper than `depth` levels: valid
 * JSON that does needs depth + 1 of them and as many closing ones, so a shorter text is
 * out at once; a longer one is counted, at most depth + 1, with native searches.
 */
export function mayNestDeeperThan (jsonText: string, depth: number): boolean {
  if (jsonText.length < 2 * (depth + 1)) return false
  let count = 0
  for (let at = jsonText.indexOf('{'); at !== -1 && count <= depth; at = jsonText.indexOf('{', at + 1)) count++
  for (let at = jsonText.indexOf('['); at !== -1 && count <= depth; at = jsonText.indexOf('[', at + 1)) count++
  return count > depth
}

/**
 * The first problem found in a parsed JSON value, or null. Walks with an explicit stack (a
 * value parsed from 100,000 nested arrays must not overflow the walk either) and stops at
 * the first level past maxDepth.
 */
export function jsonValueProblem (value: unknown, maxDepth = Infinity): JsonValueProblem | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : 'lone_surrogate'
  if (typeof value !== 'object' || value === null) return null
  const containers: object[] = [value]
  const depths: number[] = [1]
  let depth = 1
  /** False for a string that is not well-formed; a container is queued one level down. */
  const visit = (child: unknown): boolean => {
    if (typeof child === 'string') return child.isWellFormed()
    if (typeof child === 'object' && child !== null) {
      containers.push(child)
      depths.push(depth + 1)
    }
    return true
  }
  while (containers.length > 0) {
    const container = containers.pop() as Record<string, unknown>
    depth = depths.pop() as number
    if (depth > maxDepth) return 'too_deep'
    if (Array.isArray(container)) {
      for (const child of container as unknown[]) if (!visit(child)) return 'lone_surrogate'
    } else {
      for (const key in container) if (!key.isWellFormed() || !visit(container[key])) return 'lone_surrogate'
    }
  }
  return null
}
