import type { Socket } from 'node:net'
import type { LimitHits } from './limit-hits.js'

export interface ConnectionGateOptions {
  maxConnections: number
  connectRatePerSecond: number
  connectBurst: number
  hits: LimitHits
  now?: () => number
}

/** Source addresses whose buckets are remembered; an address flood cannot grow the table past this. */
const MAX_TRACKED_ADDRESSES = 10_000

/**
 * The first check on every TCP connection, on every listener, before a byte
 * of MQTT (or TLS) is read: at most `maxConnections` open at once, and a
 * token bucket per source address (`connectBurst` back to back, then
 * `connectRatePerSecond`). A refused socket is destroyed at once, so it costs
 * one accept and nothing more.
 */
export class ConnectionGate {
  readonly #options: ConnectionGateOptions
  readonly #now: () => number
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  #open = 0

  constructor(options: ConnectionGateOptions) {
    this.#options = options
    this.#now = options.now ?? (() => performance.now())
  }

  get openConnections(): number {
    return this.#open
  }

  /** True: the socket may proceed (and is counted until it closes); false: it was destroyed. */
  admit(socket: Socket): boolean {
    const { maxConnections, hits } = this.#options
    const address = socket.remoteAddress ?? 'unknown'
    if (this.#open >= maxConnections) {
      hits.record('connections', `${address}: ${this.#open} connections open (mqtt.limits.maxConnections ${maxConnections})`)
      socket.destroy()
      return false
    }
    if (!this.#takeToken(address)) {
      hits.record('connect_rate', `${address}: more than ${this.#options.connectRatePerSecond} connections/s (mqtt.limits.connectRatePerSecond)`)
      socket.destroy()
      return false
    }
    this.#open++
    socket.once('close', () => this.#open--)
    return true
  }

  #takeToken(address: string): boolean {
    const { connectRatePerSecond, connectBurst } = this.#options
    const now = this.#now()
    let bucket = this.#buckets.get(address)
    if (bucket === undefined) {
      this.#forgetIfFull(now)
      bucket = { tokens: connectBurst, at: now }
      this.#buckets.set(address, bucket)
    } else {
      bucket.tokens = Math.min(connectBurst, bucket.tokens + ((now - bucket.at) / 1000) * connectRatePerSecond)
      bucket.at = now
    }
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Keeps the table bounded: drops buckets that have refilled (they hold no state), then the oldest. */
  #forgetIfFull(now: number): void {
    if (this.#buckets.size < MAX_TRACKED_ADDRESSES) return
    const { connectRatePerSecond, connectBurst } = this.#options
    for (const [address, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * connectRatePerSecond >= connectBurst) this.#buckets.delete(address)
    }
    for (const address of this.#buckets.keys()) {
      if (this.#buckets.size < MAX_TRACKED_ADDRESSES) break
      this.#buckets.delete(address)
    }
  }
}
