/**
 * A bound on messages published but not yet acknowledged. MQTT 3.1.1 has no
 * receive maximum, so without it a fast publisher queues without limit in
 * mqtt.js's outgoing store while the broker (which acks only after the SQLite
 * commit) falls behind.
 */
export class InFlightWindow {
  readonly limit: number
  #size = 0
  #roomWaiters: Array<() => void> = []
  #emptyWaiters: Array<() => void> = []

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`in-flight limit must be a positive integer (got ${limit})`)
    this.limit = limit
  }

  get size(): number {
    return this.#size
  }

  get hasRoom(): boolean {
    return this.#size < this.limit
  }

  /** Takes a slot; callers check `hasRoom` first (flushing at stop may exceed the limit slightly). */
  take(): void {
    this.#size++
  }

  release(): void {
    if (this.#size === 0) throw new Error('InFlightWindow.release without a matching take')
    this.#size--
    if (this.#size < this.limit && this.#roomWaiters.length > 0) {
      const waiters = this.#roomWaiters
      this.#roomWaiters = []
      for (const wake of waiters) wake()
    }
    if (this.#size === 0 && this.#emptyWaiters.length > 0) {
      const waiters = this.#emptyWaiters
      this.#emptyWaiters = []
      for (const wake of waiters) wake()
    }
  }

  whenRoom(): Promise<void> {
    if (this.hasRoom) return Promise.resolve()
    return new Promise((resolve) => this.#roomWaiters.push(resolve))
  }

  whenEmpty(): Promise<void> {
    if (this.#size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#emptyWaiters.push(resolve))
  }
}
