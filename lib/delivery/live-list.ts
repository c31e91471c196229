/**
 * The attempts of a job in flight, oldest first: a doubly-linked list threaded through the
 * items themselves (each carries its own `prev`/`next`), so adding and removing allocate
 * nothing.
 *
 * Why not a Set: the live set sees ~15k adds and as many deletes a second while holding
 * only ~64 items, and with a Set in its place every young-generation GC found 3–4 × more
 * live bytes to copy (400 against 110 KB per scavenge), twice the scavenge pause time and
 * ~18 MiB more peak RSS on a 200,000-record job (`--trace-gc-nvp`; docs/performance.md, "Why the hot path looks the way it does").
 * Our best explanation (not proven inside V8): a Set rebuilds its hash table as deleted
 * entries pile up, and the outgrown tables, already in the old generation, still point at
 * handlers; the scavenger treats old-to-young pointers as roots until a full GC, so every
 * finished request reachable from a handler (its record, undici's request, the body) was
 * copied and promoted. The A/B measurement is the reason for this class.
 */
export interface LiveItem<T> {
  prev: T | null
  next: T | null
}

export class LiveList<T extends LiveItem<T>> {
  #head: T | null = null
  #tail: T | null = null
  #size = 0

  get size (): number {
    return this.#size
  }

  add (item: T): void {
    item.prev = this.#tail
    item.next = null
    if (this.#tail === null) this.#head = item
    else this.#tail.next = item
    this.#tail = item
    this.#size++
  }

  /** Removes an item that is in the list (callers remove each item once). */
  delete (item: T): void {
    if (item.prev === null) this.#head = item.next
    else item.prev.next = item.next
    if (item.next === null) this.#tail = item.prev
    else item.next.prev = item.prev
    item.prev = null
    item.next = null
    this.#size--
  }

  /**
   * The items, oldest first, while `keep` holds (all of them by default), copied out so
   * the caller may remove items (or add new ones) as it goes through them.
   */
  takeWhile (keep: (item: T) => boolean = () => true): T[] {
    const items: T[] = []
    for (let item = this.#head; item !== null && keep(item); item = item.next) items.push(item)
    return items
  }
}
