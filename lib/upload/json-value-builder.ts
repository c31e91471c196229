/**
 * Builds one JSON value from stream-json's token stream (parser with packValues: false, so
 * strings, keys and numbers arrive as chunks and a huge one is never packed by the parser).
 * Past `maxDepth` levels of objects and arrays it stops building and only counts brackets
 * until the value ends (`isTooDeep`), so a deeply nested value costs no memory or stack.
 * A builder made with `skip` builds nothing: it only finds where the value ends.
 *
 * Objects are plain, as JSON.parse makes them: a repeated member keeps its last value (the
 * repeats are listed when `trackRepeats`, for the config), `__proto__` is an own property.
 */

/** One token of stream-json's parser. */
export interface JsonToken {
  readonly name: string
  readonly value?: string | boolean | null
}

interface Frame {
  readonly container: Record<string, unknown> | unknown[]
  readonly path: string
  readonly names: Set<string> | null
  /** The member whose value comes next (objects). */
  member: string
}

export interface ValueBuilderOptions {
  readonly maxDepth: number
  readonly skip?: boolean
  readonly trackRepeats?: boolean
}

export class ValueBuilder {
  readonly #options: ValueBuilderOptions
  readonly #frames: Frame[] = []
  /** Open objects and arrays, built or not. */
  #depth = 0
  #isBuilding: boolean
  #isInKey = false
  #key = ''
  #text = ''
  #value: unknown = undefined
  #isTooDeep = false
  readonly #repeats: string[] = []

  constructor (options: ValueBuilderOptions) {
    this.#options = options
    this.#isBuilding = options.skip !== true
  }

  /** The value, once feed() returned true (undefined when skipped or too deep). */
  get value (): unknown {
    return this.#value
  }

  get isTooDeep (): boolean {
    return this.#isTooDeep
  }

  /** Paths of repeated members (`port`, `metadata[0].key`), with trackRepeats. */
  get repeats (): readonly string[] {
    return this.#repeats
  }

  /** Takes the value's next token; true once the value is complete. */
  feed (token: JsonToken): boolean {
    switch (token.name) {
      case 'startObject':
      case 'startArray':
        return this.#open(token.name === 'startArray')
      case 'endObject':
      case 'endArray':
        this.#depth--
        if (!this.#isBuilding) return this.#depth === 0
        return this.#attach((this.#frames.pop() as Frame).container)
      case 'startKey':
        this.#isInKey = true
        this.#key = ''
        return false
      case 'endKey':
        this.#isInKey = false
        if (this.#isBuilding) this.#nameMember(this.#key)
        return false
      case 'startString':
      case 'startNumber':
        this.#text = ''
        return false
      case 'stringChunk':
      case 'numberChunk':
        if (this.#isBuilding) {
          if (this.#isInKey) this.#key += token.value as string
          else this.#text += token.value as string
        }
        return false
      case 'endString':
        return this.#attach(this.#text)
      case 'endNumber':
        return this.#attach(Number(this.#text))
      case 'nullValue':
      case 'trueValue':
      case 'falseValue':
        return this.#attach(token.value)
      default:
        return false
    }
  }

  #open (isArray: boolean): boolean {
    this.#depth++
    if (!this.#isBuilding) return false
    if (this.#depth > this.#options.maxDepth) {
      this.#isTooDeep = true
      this.#isBuilding = false
      this.#frames.length = 0
      return false
    }
    const parent = this.#frames[this.#frames.length - 1]
    const path = parent === undefined
      ? ''
      : Array.isArray(parent.container)
        ? `${parent.path}[${parent.container.length}]`
        : parent.path === '' ? parent.member : `${parent.path}.${parent.member}`
    const names = this.#options.trackRepeats === true && !isArray ? new Set<string>() : null
    this.#frames.push({ container: isArray ? [] : {}, path, names, member: '' })
    return false
  }

  #nameMember (name: string): void {
    const frame = this.#frames[this.#frames.length - 1]
    if (frame === undefined) return
    if (frame.names !== null) {
      if (frame.names.has(name)) this.#repeats.push(frame.path === '' ? name : `${frame.path}.${name}`)
      frame.names.add(name)
    }
    frame.member = name
  }

  /** A complete value: the result at depth 0, else a member or element of the open container. */
  #attach (value: unknown): boolean {
    if (!this.#isBuilding) return this.#depth === 0
    const frame = this.#frames[this.#frames.length - 1]
    if (frame === undefined) {
      this.#value = value
      return true
    }
    if (Array.isArray(frame.container)) {
      frame.container.push(value)
    } else if (frame.member === '__proto__') {
      Object.defineProperty(frame.container, '__proto__', { value, enumerable: true, writable: true, configurable: true })
    } else {
      frame.container[frame.member] = value
    }
    return false
  }
}
