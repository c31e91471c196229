/**
 * A sliding window over a Redis bitmap (done or failed records), read WINDOW_BYTES at a
 * time so a job of any size is scanned in constant memory. Callers check covers() and only
 * await load() when the index leaves the window: one Redis read per 65,536 records, and no
 * promise per record.
 */

/** Reads `byteCount` bytes of a bitmap from the byte holding bit `firstIndex`. */
export type BitsReader = (firstIndex: number, byteCount: number) => Promise<Buffer>

/** 8 KiB of bitmap covers 65,536 records per Redis read. */
export const WINDOW_BYTES = 8192

export class BitWindow {
  readonly #read: BitsReader
  #bits: Buffer = Buffer.alloc(0)
  #start = 0
  #end = 0

  constructor (read: BitsReader) {
    this.#read = read
  }

  covers (index: number): boolean {
    return index >= this.#start && index < this.#end
  }

  async load (index: number): Promise<void> {
    const start = index - (index % 8)
    this.#bits = await this.#read(start, WINDOW_BYTES)
    this.#start = start
    this.#end = start + WINDOW_BYTES * 8
  }

  /** Whether bit `index` is set; the window must cover it. */
  isSet (index: number): boolean {
    const offset = index - this.#start
    const byte = this.#bits[offset >> 3]
    // Redis bitmaps number bits from the most significant bit of each byte.
    return byte !== undefined && (byte & (0x80 >> (offset & 7))) !== 0
  }
}
