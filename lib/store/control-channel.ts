/**
 * The fleet's doorbell (docs/scale-out.md): one pub/sub channel on which an instance says
 * `wake` (a job was queued: whoever has a free slot may take it) or `control <jobId>` (cancel
 * or pause was asked of that job: its holder reads the job's `control` field now).
 *
 * Pub/sub is fire-and-forget, and that is enough here because nothing depends on a message
 * arriving: every instance also polls the queue, and a holder reads `control` at each lease
 * renewal. The bell only makes the common case take milliseconds instead of seconds.
 */
import { EventEmitter } from 'node:events'
import { quitRedis, type Redis } from './redis.js'
import type { Keys } from './keys.js'

export interface ControlChannelEvents {
  wake: []
  control: [jobId: string]
}

export class ControlChannel extends EventEmitter<ControlChannelEvents> {
  readonly #publisher: Redis
  readonly #subscriber: Redis
  readonly #channel: string

  /** `subscriber` is a connection of its own: a subscribed connection can do nothing else. */
  constructor (publisher: Redis, subscriber: Redis, keys: Keys) {
    super()
    this.#publisher = publisher
    this.#subscriber = subscriber
    this.#channel = keys.controlChannel()
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return
      if (message === 'wake') this.emit('wake')
      else if (message.startsWith('control ')) this.emit('control', message.slice('control '.length))
    })
  }

  /** Resolves once subscribed (ioredis subscribes again by itself after a reconnect). */
  async open (): Promise<void> {
    await this.#subscriber.subscribe(this.#channel)
  }

  async wake (): Promise<void> {
    await this.#publisher.publish(this.#channel, 'wake')
  }

  async control (jobId: string): Promise<void> {
    await this.#publisher.publish(this.#channel, `control ${jobId}`)
  }

  async close (): Promise<void> {
    this.removeAllListeners()
    // Bounded like the main connection's: with Redis away, QUIT would wait forever.
    await quitRedis(this.#subscriber)
  }
}
