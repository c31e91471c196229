// Node core's common.mustCall / mustNotCall: wrap a callback, and the root afterEach hook
// (spec/setup.ts) fails the test if it ran a different number of times than promised.
// Checks of a test that already failed are dropped, so one failure is not reported twice.

interface Expectation {
  name: string
  expected: number
  actual: number
  /** Where mustCall() was called, for the failure message. */
  where: string
}

let pending: Expectation[] = []

export function mustCall (): (...args: unknown[]) => undefined
export function mustCall<A extends unknown[], R> (fn: (...args: A) => R, n?: number): (...args: A) => R
export function mustCall<A extends unknown[], R> (fn?: (...args: A) => R, n = 1): (...args: A) => R | undefined {
  const expectation: Expectation = { name: fn?.name || '<anonymous>', expected: n, actual: 0, where: callSite() }
  pending.push(expectation)
  return function (this: unknown, ...args: A) {
    expectation.actual++
    return fn?.apply(this, args)
  }
}

/** A function that throws when called, and also fails the test in afterEach if the throw was swallowed. */
export function mustNotCall (message = 'function should not have been called'): (...args: unknown[]) => never {
  const expectation: Expectation = { name: 'mustNotCall', expected: 0, actual: 0, where: callSite() }
  pending.push(expectation)
  return (...args: unknown[]) => {
    expectation.actual++
    throw new Error(`${message} (called with ${args.length} argument(s)) at ${expectation.where}`)
  }
}

/** Called by the root afterEach hook. Throws one error listing every unmet expectation. */
export function verifyMustCalls (hasTestFailed = false): void {
  const checks = pending
  pending = []
  if (hasTestFailed) return
  const unmet = checks.filter(c => c.actual !== c.expected)
  if (unmet.length === 0) return
  const lines = unmet.map(c => `  ${c.name}: expected ${c.expected} call(s), got ${c.actual}, at ${c.where}`)
  throw new Error(`mustCall expectations not met:\n${lines.join('\n')}`)
}

function callSite (): string {
  // [0] "Error", [1] callSite, [2] mustCall/mustNotCall, [3] the spec
  const line = new Error('call site').stack?.split('\n')[3] ?? ''
  return line.trim().replace(/^at /, '')
}
