// LiveList: the in-flight attempts of a job, oldest first, as a list threaded through the
// items. Removal from any position keeps order and size right, and takeWhile hands out a
// copy the caller may change the list under (aborting an attempt removes it).
import { expect } from 'chai'
import { LiveList, type LiveItem } from '../../lib/delivery/live-list.js'

class Item implements LiveItem<Item> {
  prev: Item | null = null
  next: Item | null = null
  constructor (readonly id: number) {}
}

function ids (list: LiveList<Item>): number[] {
  return list.takeWhile().map((item) => item.id)
}

function listOf (count: number): { list: LiveList<Item>, items: Item[] } {
  const list = new LiveList<Item>()
  const items = Array.from({ length: count }, (_, id) => new Item(id))
  for (const item of items) list.add(item)
  return { list, items }
}

describe('LiveList', () => {
  it('keeps items in the order they were added', () => {
    const { list } = listOf(4)
    expect(ids(list)).to.deep.equal([0, 1, 2, 3])
    expect(list.size).to.equal(4)
  })

  for (const [where, position] of [['first', 0], ['middle', 2], ['last', 4]] as const) {
    it(`removes the ${where} item and keeps the rest in order, both ways`, () => {
      const { list, items } = listOf(5)
      list.delete(items[position] as Item)
      expect(ids(list)).to.deep.equal([0, 1, 2, 3, 4].filter((id) => id !== position))
      expect(list.size).to.equal(4)
      // The ends are still right: a new item goes last, and the list reads the same backwards.
      list.add(new Item(5))
      expect(ids(list)).to.deep.equal([0, 1, 2, 3, 4, 5].filter((id) => id !== position))
      const backwards: number[] = []
      for (let item: Item | null = list.takeWhile().at(-1) ?? null; item !== null; item = item.prev) backwards.push(item.id)
      expect(backwards).to.deep.equal([5, 4, 3, 2, 1, 0].filter((id) => id !== position))
      // A removed item holds on to no neighbour.
      expect(items[position]).to.include({ prev: null, next: null })
    })
  }

  it('is empty after every item is removed, and takes new items after that', () => {
    const { list, items } = listOf(3)
    for (const item of items) list.delete(item)
    expect(list.size).to.equal(0)
    expect(ids(list)).to.deep.equal([])
    const fresh = new Item(9)
    list.add(fresh)
    expect(ids(list)).to.deep.equal([9])
  })

  it('takes the oldest items while a condition holds, and stops at the first that fails it', () => {
    const { list } = listOf(6)
    expect(list.takeWhile((item) => item.id < 3).map((item) => item.id)).to.deep.equal([0, 1, 2])
    expect(list.takeWhile((item) => item.id !== 0)).to.deep.equal([])
  })

  it('hands out a copy: removing and adding while going through it changes the list, not the copy', () => {
    const { list } = listOf(4)
    const taken = list.takeWhile()
    for (const item of taken) {
      list.delete(item)
      list.add(new Item(item.id + 10))
    }
    expect(taken.map((item) => item.id)).to.deep.equal([0, 1, 2, 3])
    expect(ids(list)).to.deep.equal([10, 11, 12, 13])
  })
})
